/**
 * The provenance tables built by the ingest and searched by the edge reader, compared with a brute-force
 * scan of the same rows: URL spellings that must (and must not) find each other, hosts paged through
 * small blocks, and pHashes at every distance 0–10 from the queries, with NULL and malformed hashes.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingBucket, CoyoDataset, CoyoMemory, CoyoProvenance, type CoyoIo } from '@coyo/coyo-reader';
import { normalizeDomain } from '@coyo/coyo-schema';
import { fileBucket } from '../bench/file-bucket.js';
import { buildShards } from '../src/build.js';
import { Duck, toSafeNumber } from '../src/duck.js';
import { publish } from '../src/publish.js';
import { writeSample } from '../src/sample.js';
import { dirStore } from '../src/targets/dir.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

const ROWS = 3000;

/** Spellings of one address each: every member must find every row of its class, and only those. */
const URL_CLASSES: readonly (readonly string[])[] = [
  ['HTTP://Example.COM:80/a%7eb/c?x=1#frag', 'http://example.com/a~b/c?x=1', 'http://example.com./a%7Eb/c?x=1'],
  ['https://shop.example.com:443', 'https://SHOP.example.com/', 'https://shop.example.com/#top', 'https://shop.example.com/?'],
  ['http://example.com/%e2%82%ac', 'http://example.com/€', 'http://example.com/%E2%82%AC'],
  ['http://bücher.de/x', 'http://xn--bcher-kva.de/x', 'http://BÜCHER.de/x'],
  ['http://example.com/A~B/c?x=1'],
  ['http://example.com:8080/a~b/c?x=1'],
  ['http://example.com/a~b/c?x=2'],
  ['https://example.com/a~b/c?x=1'],
  ['not a url'],
  ['http://example.com/a%2Fb'],
  ['http://example.com/a/b'],
  ['http://example.com/?b=2&a=1'],
  ['http://example.com/?a=1&b=2'],
];

/** A small deterministic generator of 64-bit values (xorshift64*). */
function random64(seed: bigint): () => bigint {
  let x = seed;
  return () => {
    x ^= x >> 12n;
    x ^= (x << 25n) & 0xffffffffffffffffn;
    x ^= x >> 27n;
    return (x * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  };
}

/** A 64-bit mask with exactly `bits` set bits. */
function maskOf(next: () => bigint, bits: number): bigint {
  const chosen = new Set<number>();
  while (chosen.size < bits) chosen.add(Number(next() % 64n));
  let mask = 0n;
  for (const b of chosen) mask |= 1n << BigInt(b);
  return mask;
}

/** Set bits, counted independently of the code under test. */
function popcount(x: bigint): number {
  return x.toString(2).replaceAll('0', '').length;
}

/** The host of a URL as Node's URL parser gives it, without a trailing dot; null when there is none. */
function hostOf(url: string | null): string | null {
  if (url === null) return null;
  try {
    return new URL(url.trim()).hostname.replace(/\.$/, '') || null;
  } catch {
    return null;
  }
}

const hex = (v: bigint): string => v.toString(16).padStart(16, '0');

interface TruthRow {
  id: number;
  url: string | null;
  phash: string | null;
}

let root: string;
let bucketDir: string;
let truth: TruthRow[];
let memory: CoyoMemory;
const queries: bigint[] = [];
/** Row number (1-based, id order of the sample) → the URL class and member it holds. */
const urlClassOf = new Map<number, number>();

async function provenance(): Promise<{ p: CoyoProvenance; bucket: CountingBucket }> {
  const bucket = new CountingBucket(fileBucket(bucketDir));
  const io: CoyoIo = { bucket, memory };
  return { p: new CoyoProvenance(io, await CoyoDataset.open(io)), bucket };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'coyo-provenance-'));
  const generated = join(root, 'generated');
  const input = join(root, 'input.parquet');
  bucketDir = join(root, 'bucket');
  await writeSample({ rows: ROWS, outDir: generated, seed: 21, files: 1 });

  const next = random64(0x9e3779b97f4a7c15n);
  const overrides: { rn: number; url?: string | null; phash?: string | null }[] = [];
  let rn = 1;
  for (let q = 0; q < 3; q++) {
    const query = next();
    queries.push(query);
    for (let d = 0; d <= 10; d++) for (let copy = 0; copy < 2; copy++) overrides.push({ rn: rn++, phash: hex(query ^ maskOf(next, d)) });
  }
  for (let i = 0; i < 6; i++) overrides.push({ rn: rn++, phash: null });
  const first = queries[0] as bigint;
  for (let i = 0; i < 3; i++) overrides.push({ rn: rn++, phash: hex(first ^ maskOf(next, 1)).toUpperCase() });
  overrides.push({ rn: rn++, phash: `zz${hex(first).slice(2)}` }, { rn: rn++, phash: hex(first).slice(1) });

  rn = 100;
  for (const [c, members] of URL_CLASSES.entries()) {
    for (const url of members) {
      urlClassOf.set(rn, c);
      overrides.push({ rn: rn++, url });
    }
  }
  for (let i = 0; i < 6; i++) overrides.push({ rn: rn++, url: null });
  for (let r = 200; r <= 2200; r += 3) overrides.push({ rn: r, url: `http://big.example.net/img/${r}.jpg` });

  const duck = await Duck.open();
  try {
    await duck.run('CREATE TABLE ov (rn BIGINT, set_url BOOLEAN, url VARCHAR, set_ph BOOLEAN, ph VARCHAR)');
    const lit = (v: string | null | undefined): string => (v === null || v === undefined ? 'NULL' : `'${v.replaceAll("'", "''")}'`);
    const values = overrides.map((o) => `(${o.rn}, ${'url' in o}, ${lit(o.url)}, ${'phash' in o}, ${lit(o.phash)})`);
    await duck.run(`INSERT INTO ov VALUES ${values.join(', ')}`);
    await duck.run(
      `COPY (
         WITH src AS (SELECT *, row_number() OVER (ORDER BY id) AS rn FROM read_parquet('${generated}/*.parquet'))
         SELECT src.* EXCLUDE (rn) REPLACE (
           CASE WHEN ov.set_url THEN ov.url ELSE src.url END AS url,
           CASE WHEN ov.set_ph THEN ov.ph ELSE src.image_phash END AS image_phash)
         FROM src LEFT JOIN ov ON ov.rn = src.rn ORDER BY src.id) TO '${input}' (FORMAT parquet)`,
    );
    truth = (await duck.all(`SELECT id, url, image_phash FROM read_parquet('${input}') ORDER BY id`)).map((r) => ({
      id: toSafeNumber(r['id'], 'id'),
      url: typeof r['url'] === 'string' ? r['url'] : null,
      phash: typeof r['image_phash'] === 'string' ? r['image_phash'] : null,
    }));
  } finally {
    duck.close();
  }
  // Small blocks and shards, so that look-ups cross block and shard boundaries.
  const built = await buildShards({ inputs: [input], workDir: join(root, 'work'), rowGroupSize: 128, shardRows: 1024, indexBlockEntries: 16 });
  await publish({ manifest: built.manifest, shardFiles: built.shardFiles, store: dirStore(bucketDir) });
  memory = new CoyoMemory();
}, 60_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('by URL', () => {
  it('finds every spelling of an address, and nothing else, as the classes say', async () => {
    const { p } = await provenance();
    for (const [c, members] of URL_CLASSES.entries()) {
      const expected = truth.filter((_, i) => urlClassOf.get(i + 1) === c).map((r) => r.id);
      expect(expected.length).toBe(members.length);
      for (const query of members) {
        const result = await p.byUrl(query);
        expect(result.rows.map((r) => r['id']), query).toEqual(expected);
      }
    }
  });

  it('answers sample URLs as a scan of the rows does, and an absent URL with no rows', async () => {
    const { p } = await provenance();
    for (const i of [0, 517, 2999, 1234]) {
      const url = truth[i]?.url as string;
      const expected = truth.filter((r) => r.url === url).map((r) => r.id);
      expect((await p.byUrl(url)).rows.map((r) => r['id'])).toEqual(expected);
    }
    expect((await p.byUrl('http://example.com/never-stored')).rows).toEqual([]);
  });

  it('costs two R2 reads when warm: one index block and one row group', async () => {
    const url = URL_CLASSES[0]?.[1] as string;
    await (await provenance()).p.byUrl(url);
    const { p, bucket } = await provenance();
    const before = bucket.stats.reads;
    const result = await p.byUrl(url);
    expect(result.rows.length).toBe(3);
    // The pointer is cached for 30 s, so the dataset opened without a read.
    expect(bucket.stats.reads - before).toBeLessThanOrEqual(2);
  });
});

describe('by domain', () => {
  it.each(['BIG.example.net.', 'example.com', 'bücher.de', 'i.pinimg.com', 'shop.example.com', 'nothing.example'])(
    'pages through %s in id order with its count, as a scan does',
    async (domain) => {
      const host = normalizeDomain(domain) as string;

      const expected = truth.filter((r) => hostOf(r.url) === host).map((r) => r.id);
      const { p } = await provenance();
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await p.byDomain(host, 50, cursor);
        expect(page.count).toBe(expected.length);
        expect(page.rows.length).toBeLessThanOrEqual(50);
        seen.push(...page.rows.map((r) => r['id'] as number));
        cursor = page.next_cursor ?? undefined;
        pages++;
      } while (cursor !== undefined && pages < 100);
      expect(seen).toEqual(expected);
      expect(pages).toBe(Math.max(1, Math.ceil(expected.length / 50)));
    },
  );

  it('refuses a cursor issued for another host', async () => {
    const { p } = await provenance();
    const page = await p.byDomain('big.example.net', 10);
    await expect(p.byDomain('example.com', 10, page.next_cursor as string)).rejects.toThrow(/different filter/);
  });
});

describe('by pHash', () => {
  it('finds exactly the rows a brute-force scan finds, at every distance 0–8', async () => {
    const { p } = await provenance();
    const probes = [...queries, BigInt(`0x${truth[2500]?.phash as string}`)];
    for (const query of probes) {
      for (let k = 0; k <= 8; k++) {
        const expected = truth
          .filter((r) => r.phash !== null && /^[0-9a-f]{16}$/i.test(r.phash) && popcount(BigInt(`0x${r.phash}`) ^ query) <= k)
          .map((r) => ({ id: r.id, distance: popcount(BigInt(`0x${r.phash as string}`) ^ query) }))
          .sort((a, b) => a.distance - b.distance || a.id - b.id);
        const result = await p.byPhash(hex(query), k, 100);
        expect(result.total, `${hex(query)} k=${k}`).toBe(expected.length);
        expect(result.matches.map((m) => ({ id: m.row['id'], distance: m.distance })), `${hex(query)} k=${k}`).toEqual(expected);
      }
    }
  });

  it('refuses a probe wider than its byte budget before reading it', async () => {
    const { p, bucket } = await provenance();
    await p.byPhash(hex(queries[0] as bigint), 0, 1);
    const before = bucket.stats.reads;
    await expect(p.byPhash(hex(queries[0] as bigint), 8, 1, 64)).rejects.toThrow(/more than the 64/);
    expect(bucket.stats.reads).toBe(before);
  });

  it('holds at most `limit` matches, nearest first, while counting them all', async () => {
    const { p } = await provenance();
    const result = await p.byPhash(hex(queries[1] as bigint), 8, 5);
    expect(result.total).toBe(18);
    expect(result.matches.map((m) => m.distance)).toEqual([0, 0, 1, 1, 2]);
  });

  it('reads one block range per probe (1 at distance 0, 9 at 1–4, k + 1 at 5–8), plus the rows', async () => {
    const query = hex(queries[2] as bigint);
    await (await provenance()).p.byPhash(query, 8, 100);
    for (const [k, probes] of [[0, 1], [1, 9], [3, 9], [5, 6], [8, 9]] as const) {
      const { p, bucket } = await provenance();
      const result = await p.byPhash(query, k, 1);
      expect(result.matches.length).toBe(1);
      expect(bucket.stats.reads).toBe(probes + 1);
    }
  });
});
