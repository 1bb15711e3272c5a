/**
 * COYO storage faults, end to end, through the ingest CLI and the public API only: an ingest killed
 * (SIGKILL, its whole process group) at several points while the worker keeps serving the previous
 * version from the same local state, then the re-run finishing the new version exactly; and a shard
 * missing or corrupt in R2, which fails the ids it holds (5xx problem+json) and no others.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { getPlatformProxy } from 'wrangler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WRANGLER_CONFIG, dumpRows, ingestWithProgress, runCliOk, type IngestEvent } from '../coyo/cli';
import { seedApiKey, startWorker, type WorkerHandle } from '../harness/stack';
import { byMode, delay } from './mode';

type Row = Record<string, number | string> & { id: number };

/** The part of the R2 binding the test damages through wrangler's platform proxy. */
interface BucketView {
  put(key: string, value: Uint8Array): Promise<unknown>;
  delete(key: string): Promise<void>;
}

const ROW_GROUP = '2048';
const SHARD_ROWS = '2048';
/** Rows of the second version: 5 shards by default, 10 in the full run. */
const ROWS_V2 = byMode(10_000, 20_000);
let temp: string;
let persist: string;
let state: string;
let apiKey: string;
let worker: WorkerHandle | undefined;
let rowsV1: Row[];
let versionV1: string;

function ingestArgs(input: string, work: string): string[] {
  return [input, '--target', 'local', '--config', WRANGLER_CONFIG, '--persist', state, '--work-dir', work, '--row-group-size', ROW_GROUP, '--shard-rows', SHARD_ROWS];
}

function api(path: string, init: RequestInit = {}): Promise<Response> {
  if (worker === undefined) throw new Error('the worker is not running');
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${apiKey}`);
  return fetch(`${worker.url}${path}`, { ...init, headers });
}

async function servedVersion(): Promise<string> {
  const res = await api('/v1/coyo/stats');
  if (res.status !== 200) throw new Error(`stats answered ${res.status}`);
  return ((await res.json()) as { version: string }).version;
}

async function batch(ids: number[]): Promise<{ status: number; rows: (Row | null)[] }> {
  const res = await api('/v1/coyo/batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids }) });
  if (res.status !== 200) return { status: res.status, rows: [] };
  return { status: 200, rows: ((await res.json()) as { rows: (Row | null)[] }).rows };
}

/** Checks the worker serves `version` and `rows` again and again until `stop()`; returns what went wrong. */
function watchServing(version: string, rows: Row[]): { stop: () => Promise<string[]> } {
  const problems: string[] = [];
  const watching = { running: true };
  const probe = rows.filter((_, i) => i % 97 === 3).slice(0, 40);
  const loop = (async () => {
    let checks = 0;
    while (watching.running) {
      try {
        const served = await servedVersion();
        if (served !== version) problems.push(`served version ${served}`);
        const { status, rows: got } = await batch(probe.map((r) => r.id));
        if (status !== 200) problems.push(`batch answered ${status}`);
        else if (!isDeepStrictEqual(got, probe)) problems.push('batch rows differ from the previous version');
      } catch (error) {
        problems.push(String(error));
      }
      checks += 1;
      await delay(100);
    }
    if (checks === 0) problems.push('no check ran');
  })();
  return {
    stop: async () => {
      watching.running = false;
      await loop;
      return problems;
    },
  };
}

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'coyo-faults-'));
  persist = join(temp, 'state');
  state = join(persist, 'v3');
  await runCliOk(['sample', '--rows', '4000', '--seed', '303', '--files', '2', '--out', join(temp, 'v1')]);
  const first = await ingestWithProgress(ingestArgs(join(temp, 'v1'), join(temp, 'work-v1')));
  expect(first.status, first.stderr).toBe(0);
  versionV1 = (JSON.parse(first.stdout) as { version: string }).version;
  rowsV1 = await dumpRows<Row>(join(temp, 'v1'));
  ({ key: apiKey } = await seedApiKey(state, { scopes: ['coyo'] }));
  worker = await startWorker({ backendUrl: 'http://127.0.0.1:9', backendToken: 'unused-by-coyo-routes', persistDir: persist });
});

afterAll(async () => {
  await worker?.stop();
  if (temp) await rm(temp, { recursive: true, force: true });
});

describe('COYO storage faults', () => {
  let inputV2: string;
  let versionV2: string;
  let shardKeys: string[];

  it('keeps the previous version serving while ingests are killed at several points, and the re-run finishes exact', async () => {
    inputV2 = join(temp, 'v2');
    const work = join(temp, 'work-v2');
    await runCliOk(['sample', '--rows', String(ROWS_V2), '--seed', '404', '--files', '2', '--out', inputV2]);
    const args = ingestArgs(inputV2, work);
    const uploads = (e: IngestEvent) => e['event'] === 'shard-uploaded';
    // Each point is where a real crash would hurt most: mid-build, just after the first upload,
    // in the middle of the uploads, and with every shard uploaded but before the pointer swap.
    const killPoints: [string, (shards: number) => (e: IngestEvent) => boolean][] = [
      ...byMode<[string, (shards: number) => (e: IngestEvent) => boolean][]>([], [['during the build', () => (e) => e['event'] === 'phase']]),
      ['after the first shard upload', () => uploads],
      ...byMode<[string, (shards: number) => (e: IngestEvent) => boolean][]>([], [['mid-upload', (n) => (e) => uploads(e) && Number(e['index']) === Math.floor(n / 2)]]),
      ['before the pointer swap', (n) => (e) => uploads(e) && Number(e['index']) === n - 1],
    ];
    let shards = Math.ceil(ROWS_V2 / Number(SHARD_ROWS));
    const watch = watchServing(versionV1, rowsV1);
    try {
      for (const [point, at] of killPoints) {
        const run = await ingestWithProgress(args, at(shards));
        expect(run.killed, `${point}: the ingest ended before the kill point:\n${run.stderr}`).toBe(true);
        const built = run.events.find((e) => e['event'] === 'built' || e['event'] === 'build-reused');
        if (built?.['shards'] !== undefined) shards = Number(built['shards']);
      }
    } finally {
      const problems = await watch.stop();
      expect(problems).toEqual([]);
    }
    expect(shards).toBe(Math.ceil(ROWS_V2 / Number(SHARD_ROWS)));

    const rerun = await ingestWithProgress(args);
    expect(rerun.status, rerun.stderr).toBe(0);
    const summary = JSON.parse(rerun.stdout) as { version: string; uploaded: number; skipped: number; previous_version: string };
    versionV2 = summary.version;
    expect(summary.previous_version).toBe(versionV1);
    expect(summary.uploaded + summary.skipped).toBe(shards);
    // Everything was uploaded before the last kill; at most the shard being written then is redone.
    expect(summary.uploaded).toBeLessThanOrEqual(1);
    shardKeys = rerun.events
      .filter((e) => e['event'] === 'shard-uploaded' || e['event'] === 'shard-skipped')
      .sort((a, b) => Number(a['index']) - Number(b['index']))
      .map((e) => String(e['key']));
    expect(shardKeys).toHaveLength(shards);

    // The worker re-reads the pointer on its own schedule; a fresh one reads it at once.
    await worker?.stop();
    worker = await startWorker({ backendUrl: 'http://127.0.0.1:9', backendToken: 'unused-by-coyo-routes', persistDir: persist });
    expect(await servedVersion()).toBe(versionV2);
    const rowsV2 = await dumpRows<Row>(inputV2);
    const sample = rowsV2.filter((_, i) => i % byMode(125, 250) === 11);
    expect((await batch(sample.map((r) => r.id))).rows).toEqual(sample);
  }, byMode(150_000, 300_000)); // several CLI runs, each starting DuckDB and workerd

  it('fails only the ids of a missing shard and of a corrupt shard, and serves every other id', async () => {
    expect(shardKeys).toBeDefined();
    const first = shardKeys[0];
    const last = shardKeys[shardKeys.length - 1];
    if (first === undefined || last === undefined) throw new Error('no shard keys');
    await worker?.stop();
    worker = undefined;
    const proxy = await getPlatformProxy<{ COYO_BUCKET: BucketView }>({ configPath: WRANGLER_CONFIG, persist: { path: state } });
    try {
      await proxy.env.COYO_BUCKET.delete(first);
      await proxy.env.COYO_BUCKET.put(last, new Uint8Array(randomBytes(4096)));
    } finally {
      await proxy.dispose();
    }
    worker = await startWorker({ backendUrl: 'http://127.0.0.1:9', backendToken: 'unused-by-coyo-routes', persistDir: persist });

    // Shards hold disjoint, ordered id ranges: the failures must be a run at each end, nothing between.
    const rows = await dumpRows<Row>(inputV2);
    const sample = rows.filter((_, i) => i % byMode(125, 250) === 0 || i === rows.length - 1);
    const outcome: ('ok' | 'failed')[] = [];
    const failures = new Set<string>();
    for (const row of sample) {
      const res = await api(`/v1/coyo/${row.id}`);
      if (res.status === 200) {
        expect(((await res.json()) as { row: Row }).row).toEqual(row);
        outcome.push('ok');
      } else {
        expect(res.status, `id ${row.id}`).toBeGreaterThanOrEqual(500);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        const problem = (await res.json()) as { type?: string; status?: number };
        expect(problem.status).toBe(res.status);
        failures.add(`${res.status} ${problem.type ?? ''}`);
        outcome.push('failed');
      }
    }
    const pattern = outcome.map((o) => (o === 'ok' ? '.' : 'x')).join('');
    expect(pattern, [...failures].join(', ')).toMatch(/^x+\.+x+$/);
    const healthy = sample.filter((_, i) => outcome[i] === 'ok');
    expect((await batch(healthy.map((r) => r.id))).rows).toEqual(healthy);
  }, 120_000);
});
