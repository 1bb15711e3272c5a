/**
 * COYO end to end: the real CLI generates sample parquet, ingests it into the local R2 state that
 * `wrangler dev` uses, and the real worker serves it; a crash in the middle of a second ingest leaves
 * the first version serving, and the re-run finishes the upload without repeating shards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPlatformProxy } from 'wrangler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedApiKey, startWorker, type WorkerHandle } from '../harness/stack';
import { WRANGLER_CONFIG, dumpRows, ingestAndKillAfterFirstUpload, runCli, runCliOk } from './cli';

type Row = Record<string, number | string> & { id: number };

/** The part of the R2 binding the test inspects through wrangler's platform proxy. */
interface BucketView {
  get(key: string): Promise<{ text(): Promise<string> } | null>;
  list(options: { prefix: string }): Promise<{ objects: unknown[] }>;
}

const ROW_GROUP = '2048';
let temp: string;
/** The folder given to the worker (`wrangler dev --persist-to`); it keeps its state under `v3/`. */
let persist: string;
/** Where that state lives: what wrangler's platform proxy (the CLI's local target) is pointed at. */
let state: string;
let apiKey: string;
let worker: WorkerHandle | undefined;

/** The worker beforeAll started. */
function started(): WorkerHandle {
  if (worker === undefined) throw new Error('the worker is not running');
  return worker;
}
let rowsV1: Row[];
let versionV1: string;

async function ingest(input: string, work: string, shardRows: string): Promise<{ version: string; uploaded: number; skipped: number; shards: number }> {
  const { stdout } = await runCliOk([
    'ingest', input, '--target', 'local', '--config', WRANGLER_CONFIG, '--persist', state, '--work-dir', work,
    '--row-group-size', ROW_GROUP, '--shard-rows', shardRows, '--progress', 'none',
  ]);
  return JSON.parse(stdout) as { version: string; uploaded: number; skipped: number; shards: number };
}

async function start(): Promise<void> {
  worker = await startWorker({ backendUrl: 'http://127.0.0.1:9', backendToken: 'unused-by-coyo-routes', persistDir: persist });
}

async function stop(): Promise<void> {
  await worker?.stop();
  worker = undefined;
}

function api(path: string, init: RequestInit = {}): Promise<Response> {
  if (worker === undefined) throw new Error('the worker is not running');
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${apiKey}`);
  return fetch(`${worker.url}${path}`, { ...init, headers });
}

async function batch(ids: number[]): Promise<(Row | null)[]> {
  const response = await api('/v1/coyo/batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids }) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { rows: (Row | null)[] }).rows;
}

async function stats(): Promise<{ version: string; rows: number; shards: number }> {
  const response = await api('/v1/coyo/stats');
  expect(response.status).toBe(200);
  return (await response.json()) as { version: string; rows: number; shards: number };
}

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'coyo-e2e-'));
  persist = join(temp, 'state');
  state = join(persist, 'v3');
  await runCliOk(['sample', '--rows', '6000', '--seed', '101', '--files', '3', '--out', join(temp, 'v1')]);
  versionV1 = (await ingest(join(temp, 'v1'), join(temp, 'work-v1'), '4096')).version;
  rowsV1 = await dumpRows<Row>(join(temp, 'v1'));
  ({ key: apiKey } = await seedApiKey(state, { scopes: ['coyo'] }));
  await start();
});

afterAll(async () => {
  await stop();
  if (temp) await rm(temp, { recursive: true, force: true });
});

describe('COYO metadata from ingest to the edge', () => {
  it('serves every ingested row by id with identical values', async () => {
    expect(await stats()).toMatchObject({ version: versionV1, rows: 6000 });
    for (let i = 0; i < rowsV1.length; i += 100) {
      const page = rowsV1.slice(i, i + 100);
      expect(await batch(page.map((r) => r.id))).toEqual(page);
    }
  });

  it('serves the dataset card row by id, with the version as ETag', async () => {
    const response = await api('/v1/coyo/2680060225205');
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe(`"${versionV1}"`);
    const { row } = (await response.json()) as { row: Row };
    expect(row).toEqual(rowsV1.find((r) => r.id === 2680060225205));
    expect(row['text']).toBe('Olive oil infused with Tuscany herbs');
    const again = await api('/v1/coyo/2680060225205', { headers: { 'if-none-match': `"${versionV1}"` } });
    expect(again.status).toBe(304);
  });

  it('answers problems for bad input and a missing key', async () => {
    for (const [path, status] of [
      ['/v1/coyo/not-a-number', 400],
      ['/v1/coyo/1', 404],
      ['/v1/coyo/filter?cursor=garbage', 400],
      ['/v1/coyo/filter?columns=nope', 400],
      ['/v1/coyo/rows?length=1001', 400],
    ] as const) {
      const response = await api(path);
      expect(response.status, path).toBe(status);
      expect(response.headers.get('content-type'), path).toBe('application/problem+json');
    }
    const anonymous = await fetch(`${started().url}/v1/coyo/stats`);
    expect(anonymous.status).toBe(401);
  });

  it('filters like a brute-force scan and pages with the cursor', async () => {
    const expected = rowsV1.filter((r) => Number(r['aesthetic_score_laion_v2']) >= 5.8 && Number(r['watermark_score']) <= 0.2).map((r) => r.id);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query = `min_aesthetic_score_laion_v2=5.8&max_watermark_score=0.2&columns=id&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const response = await api(`/v1/coyo/filter?${query}`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { rows: { id: number }[]; next_cursor: string | null };
      seen.push(...body.rows.map((r) => r.id));
      cursor = body.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(expected);
  });

  /** Every response of an export, following `Link: rel="next"` to the end. */
  async function exportAll(query: string): Promise<string[]> {
    const bodies: string[] = [];
    let path: string | null = `/v1/coyo/export?${query}`;
    while (path !== null) {
      const response = await api(path);
      expect(response.status).toBe(200);
      bodies.push(await response.text());
      const next = /^<([^>]+)>; rel="next"$/.exec(response.headers.get('link') ?? '')?.[1];
      path = next === undefined ? null : new URL(next).pathname + new URL(next).search;
    }
    return bodies;
  }

  it('exports the same matches as JSON Lines and CSV through the served worker over budgeted responses, and only with a key', async () => {
    const expected = rowsV1.filter((r) => Number(r['aesthetic_score_laion_v2']) >= 5.8).map((r) => ({ id: r.id, url: r['url'] }));
    const jsonl = await exportAll('min_aesthetic_score_laion_v2=5.8&columns=id,url');
    // The sample spans dozens of row groups: more than one response's budget.
    expect(jsonl.length).toBeGreaterThan(1);
    const lines = jsonl.join('').split('\n').filter((l) => l !== '');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(expected);
    const csv = await exportAll('min_aesthetic_score_laion_v2=5.8&columns=id&format=csv');
    // Each response is a whole CSV file with its header line.
    expect(csv.map((body) => body.replace(/^id\r\n/, '')).join('')).toBe(expected.map((r) => `${r.id}\r\n`).join(''));
    expect(csv.every((body) => body.startsWith('id\r\n'))).toBe(true);
    expect((await fetch(`${started().url}/v1/coyo/export`)).status).toBe(401);
  });

  it('finds rows by URL, host and pHash as a scan of the ingested rows does', async () => {
    const target = rowsV1[123] as Row;
    const url = String(target['url']);
    const byUrl = await api(`/v1/coyo/by-url?url=${encodeURIComponent(url.replace(/^https:\/\/([^/]+)/, (_m, host: string) => `HTTPS://${host.toUpperCase()}`))}`);
    expect(byUrl.status).toBe(200);
    expect(Number(byUrl.headers.get('x-coyo-r2-reads'))).toBeGreaterThan(0);
    expect(((await byUrl.json()) as { rows: Row[] }).rows.map((r) => r.id)).toEqual(rowsV1.filter((r) => r['url'] === url).map((r) => r.id));

    const host = new URL(url).hostname;
    const ofHost = rowsV1.filter((r) => new URL(String(r['url'])).hostname === host).map((r) => r.id).sort((a, b) => a - b);
    const page = (await (await api(`/v1/coyo/by-domain?domain=${host}&limit=100`)).json()) as { count: number; rows: Row[] };
    expect(page.count).toBe(ofHost.length);
    expect(page.rows.map((r) => r.id)).toEqual(ofHost.slice(0, 100));

    const phash = String(target['image_phash']);
    const near = (await (await api(`/v1/coyo/by-phash?phash=${phash}&max_distance=2`)).json()) as { total: number; matches: { distance: number; row: Row }[] };
    const popcount = (x: bigint): number => x.toString(2).replaceAll('0', '').length;
    const expected = rowsV1.filter((r) => popcount(BigInt(`0x${String(r['image_phash'])}`) ^ BigInt(`0x${phash}`)) <= 2).map((r) => r.id);
    expect(near.total).toBe(expected.length);
    expect(near.matches.map((m) => m.row.id).sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
    expect(near.matches[0]?.distance).toBe(0);
  });

  it('keeps the previous version serving when an ingest dies midway, and the re-run completes it', async () => {
    await stop(); // one process at a time on the local state
    const input = join(temp, 'v2');
    const work = join(temp, 'work-v2');
    await runCliOk(['sample', '--rows', '20000', '--seed', '202', '--files', '2', '--out', input]);
    const args = [input, '--target', 'local', '--config', WRANGLER_CONFIG, '--persist', state, '--work-dir', work, '--row-group-size', ROW_GROUP, '--shard-rows', '2048'];
    const { events } = await ingestAndKillAfterFirstUpload(args);
    const built = events.find((e) => e['event'] === 'built');
    expect(built).toBeDefined();
    const versionV2 = String(built?.['version']);
    const shardCount = Number(built?.['shards']);
    expect(shardCount).toBe(10);

    // The crash left some shards of the new version, and the pointer on the old one.
    const proxy = await getPlatformProxy<{ COYO_BUCKET: BucketView }>({ configPath: WRANGLER_CONFIG, persist: { path: state } });
    let present: number;
    try {
      const current = await proxy.env.COYO_BUCKET.get('current.json');
      if (current === null) throw new Error('no current.json in the bucket');
      const pointer = JSON.parse(await current.text()) as { version: string };
      expect(pointer.version).toBe(versionV1);
      present = (await proxy.env.COYO_BUCKET.list({ prefix: `v/${versionV2}/` })).objects.length;
    } finally {
      await proxy.dispose();
    }
    expect(present).toBeGreaterThan(0);
    expect(present).toBeLessThan(shardCount);

    await start();
    expect((await stats()).version).toBe(versionV1);
    expect(await batch(rowsV1.slice(0, 50).map((r) => r.id))).toEqual(rowsV1.slice(0, 50));
    await stop();

    const rerun = await runCli(['ingest', ...args, '--progress', 'none']);
    expect(rerun.status, rerun.stderr).toBe(0);
    const summary = JSON.parse(rerun.stdout) as { version: string; uploaded: number; skipped: number; shards: number; previous_version: string };
    expect(summary.version).toBe(versionV2);
    expect(summary.previous_version).toBe(versionV1);
    expect(summary.skipped).toBeGreaterThanOrEqual(present - 1); // the last shard may have been cut off mid-write
    expect(summary.uploaded + summary.skipped).toBe(shardCount);

    await start();
    expect(await stats()).toMatchObject({ version: versionV2, rows: 20000, shards: shardCount });
    const rowsV2 = await dumpRows<Row>(input);
    const sample = rowsV2.filter((_, i) => i % 200 === 7);
    expect(await batch(sample.map((r) => r.id))).toEqual(sample);
    const gone = rowsV1.find((r) => r.id !== 2680060225205 && !rowsV2.some((x) => x.id === r.id));
    if (gone === undefined) throw new Error('the fixture has no row that v2 drops');
    expect(await batch([gone.id])).toEqual([null]);
    // Two ingests, two worker starts and a crash: minutes on two loaded cores.
  }, 240_000);
});
