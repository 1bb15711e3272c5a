import { COYO_COLUMNS, NULLABLE_COLUMNS, NUMERIC_COLUMNS, POINTER_KEY, STORAGE_ORDER, type CoyoColumn, type Shard } from '@coyo/coyo-schema';
import { beforeAll, describe, expect, it } from 'vitest';
import { CountingBucket, type RangeReadBucket } from './bucket';
import { CoyoDataset, CoyoMemory, DatasetUnavailableError, MAX_READ_BYTES, MAX_READ_GAP, planReads, ShardDataError, servedValue, type CoyoIo } from './dataset';
import type { ShardIndex } from './shard-index';
import { cacheApiEdgeCache } from './edge-cache';
import { CursorError, encodeCursor, type Predicate } from './filter';
import type { CoyoRecord } from './schema';
import {
  at,
  type CompleteRecord,
  defined,
  FIXTURE_VERSION,
  fixtureManifest,
  fixtureObjects,
  fixtureRows,
  memoryBucket,
  memoryCache,
  nullIdFixtureObjects,
  NULLS_FIXTURE_VERSION,
  nullsFixtureManifest,
  nullsFixtureObjects,
  nullsFixtureRows,
} from '../testing';

const objects = fixtureObjects();
const bucket = memoryBucket(objects);
let oracle: CompleteRecord[];

beforeAll(async () => {
  oracle = await fixtureRows();
});

function io(overrides: Partial<CoyoIo> & { inner?: RangeReadBucket } = {}): CoyoIo & { bucket: CountingBucket } {
  const { inner, ...rest } = overrides;
  return { bucket: new CountingBucket(inner ?? bucket), memory: new CoyoMemory(), ...rest };
}

/** A seeded generator for reproducible random predicates. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('CoyoDataset.lookup', () => {
  it('finds every row by id with values identical to the shard contents', async () => {
    const dataset = await CoyoDataset.open(io());
    expect(dataset.version).toBe(FIXTURE_VERSION);
    for (let i = 0; i < oracle.length; i += 100) {
      const page = oracle.slice(i, i + 100);
      expect(await dataset.lookup(page.map((r) => r.id))).toEqual(page);
    }
  });

  it('includes the dataset card row with its float32 scores exactly', async () => {
    const [row] = await (await CoyoDataset.open(io())).lookup([2680060225205]);
    expect(row?.url).toContain('TVN_Huile-olive');
    expect(row).toMatchObject({
      clip_similarity_vitb32: 0.19921875,
      clip_similarity_vitl14: 0.147216796875,
      nsfw_score_gantman: 0.018961310386657715,
      aesthetic_score_laion_v2: 4.871710777282715,
    });
  });

  it('answers null for ids before, between and after the stored ones, in request order', async () => {
    const manifest = fixtureManifest();
    const first = at(manifest.shards, 0);
    const second = at(manifest.shards, 1);
    const ids = [0, first.max_id + 1, second.min_id - 1, at(oracle, 5).id + 1, Number.MAX_SAFE_INTEGER, at(oracle, 5).id];
    const rows = await (await CoyoDataset.open(io())).lookup(ids);
    expect(rows.slice(0, 5)).toEqual([null, null, null, null, null]);
    expect(rows[5]).toEqual(oracle[5]);
  });

  it('returns only the requested columns, in the dataset order', async () => {
    const [row] = await (await CoyoDataset.open(io())).lookup([at(oracle, 10).id], ['text', 'id', 'watermark_score']);
    expect(Object.keys(defined(row))).toEqual(['id', 'text', 'watermark_score']);
    expect(row).toEqual({ id: at(oracle, 10).id, text: at(oracle, 10).text, watermark_score: at(oracle, 10).watermark_score });
  });

  it('makes at most two range reads cold and one warm', async () => {
    const memory = new CoyoMemory();
    const cold = io({ memory });
    const dataset = await CoyoDataset.open(cold);
    expect(cold.bucket.stats).toMatchObject({ reads: 2, rangeReads: 0 }); // pointer + manifest
    await dataset.lookup([at(oracle, 3).id]);
    expect(cold.bucket.stats.rangeReads).toBe(2); // footer + row group

    const warm = io({ memory });
    const again = await CoyoDataset.open(warm);
    await again.lookup([at(oracle, 200).id]);
    expect(warm.bucket.stats).toMatchObject({ reads: 1, rangeReads: 1 });
  });

  it('reads the shard look-up index cold, not the footer, and one row group warm', async () => {
    const memory = new CoyoMemory();
    const cold = io({ memory });
    const dataset = await CoyoDataset.open(cold);
    const before = cold.bucket.stats.bytes;
    await dataset.lookup([at(oracle, 3).id]);
    const shard = at(dataset.manifest.shards, 0);
    expect(shard.index_bytes).toBeGreaterThan(0);
    const warm = io({ memory });
    await (await CoyoDataset.open(warm)).lookup([at(oracle, 3).id]);
    // Cold: the index plus the same row group the warm look-up reads.
    expect(cold.bucket.stats.bytes - before).toBe((shard.index_bytes ?? 0) + warm.bucket.stats.bytes);
    expect(warm.bucket.stats.bytes).toBeLessThan(shard.bytes / shard.row_groups + 1024);
  });

  it('refuses a shard whose look-up index is corrupt, naming the shard', async () => {
    const broken = fixtureObjects();
    const shard = at(fixtureManifest().shards, 0);
    const bytes = new Uint8Array(defined(broken.get(shard.key)));
    bytes[shard.bytes - shard.footer_bytes - (shard.index_bytes ?? 0)] = 0x58; // the magic
    broken.set(shard.key, bytes);
    const dataset = await CoyoDataset.open(io({ inner: memoryBucket(broken) }));
    await expect(dataset.lookup([shard.min_id])).rejects.toThrow(`${shard.key}: not a COYO look-up index`);
  });

  it('reads footers from the Cache API when the isolate is cold', async () => {
    const edgeCache = cacheApiEdgeCache(memoryCache());
    const pending: Promise<unknown>[] = [];
    const first = io({ edgeCache, waitUntil: (p) => pending.push(p) });
    await (await CoyoDataset.open(first)).lookup([at(oracle, 0).id]);
    await Promise.all(pending);
    const second = io({ edgeCache }); // a new isolate: empty memory, same data centre cache
    await (await CoyoDataset.open(second)).lookup([at(oracle, 1).id]);
    expect(second.bucket.stats).toMatchObject({ reads: 2, rangeReads: 1 }); // pointer + row group
  });

  it('weighs a cached manifest by its shard count once it has loaded', async () => {
    const memory = new CoyoMemory();
    const dataset = await CoyoDataset.open(io({ memory }));
    await Promise.resolve(); // the re-weighing runs in the load's own continuation
    expect(memory.manifests.calculatedSize).toBe(dataset.manifest.shards.length * 2048 + 4096);
  });

  it('keeps no footer in isolate memory beyond its byte budget', async () => {
    // A look-up index weighs twice its bytes: room for one shard's, not two.
    const memory = new CoyoMemory({ footerBytes: Math.max(...fixtureManifest().shards.map((s) => s.index_bytes ?? 0)) * 2 });
    const dataset = await CoyoDataset.open(io({ memory }));
    await dataset.lookup(fixtureManifest().shards.map((s) => s.min_id));
    expect(memory.footers.size).toBe(1);
    expect(memory.footers.calculatedSize).toBeLessThanOrEqual(memory.footers.maxSize);
  });

  it('reads row groups of one shard that lie close together with one range read', async () => {
    const dataset = await CoyoDataset.open(io());
    const picked = [at(oracle, 0), at(oracle, 60), at(oracle, 160), at(oracle, 61)]; // row groups 0, 1 and 3 of the first shard
    await dataset.lookup([picked[0]?.id ?? 0]); // the shard's look-up index, cached
    const before = { ...(dataset as unknown as { io: CoyoIo }).io.bucket.stats };
    expect(await dataset.lookup(picked.map((r) => r.id))).toEqual(picked);
    const after = (dataset as unknown as { io: CoyoIo }).io.bucket.stats;
    expect(after.rangeReads - before.rangeReads).toBe(1);
  });

  it('reads each row group once for ids that share it', async () => {
    const dataset = await CoyoDataset.open(io());
    const before = { ...(dataset as unknown as { io: CoyoIo }).io.bucket.stats };
    await dataset.lookup(oracle.slice(0, 40).map((r) => r.id)); // 40 ids in the first 50-row group
    const after = (dataset as unknown as { io: CoyoIo }).io.bucket.stats;
    expect(after.rangeReads - before.rangeReads).toBe(2);
  });
});

describe('planReads', () => {
  /** A shard index of `groups` row groups of `bytes` bytes each, back to back (only what planReads reads). */
  function evenIndex(groups: number, bytes: number): ShardIndex {
    const columns = STORAGE_ORDER.length;
    const chunkStart = new Float64Array(groups * columns);
    const chunkEnd = new Float64Array(groups * columns);
    for (let g = 0; g < groups; g++) {
      for (let c = 0; c < columns; c++) {
        chunkStart[g * columns + c] = g * bytes + (c * bytes) / columns;
        chunkEnd[g * columns + c] = g * bytes + ((c + 1) * bytes) / columns;
      }
    }
    return { chunkStart, chunkEnd } as unknown as ShardIndex;
  }
  const shard = fixtureManifest().shards[0] as Shard;
  const runsOf = (index: ShardIndex, groups: number[], columns: readonly CoyoColumn[] = COYO_COLUMNS) =>
    planReads(shard, index, groups, columns).map((run) => run.groups);

  it('joins row groups whose gap is at most one layout-3 row group, and no more bytes than the read limit', () => {
    const index = evenIndex(40, 20_000);
    // 0–2 adjacent, 4 after a 20 KB gap, 7 after a 40 KB gap (> MAX_READ_GAP); 8…20 until MAX_READ_BYTES.
    const groups = [0, 1, 2, 4, 7, ...Array.from({ length: 13 }, (_, i) => 8 + i)];
    expect(MAX_READ_GAP).toBe(32_768);
    expect(runsOf(index, groups)).toEqual([[0, 1, 2, 4], [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19], [20]]);
    expect(planReads(shard, index, [7, 8], COYO_COLUMNS)[0]).toMatchObject({ start: 140_000, end: 180_000 });
    expect((13 * 20_000) <= MAX_READ_BYTES && 14 * 20_000 > MAX_READ_BYTES).toBe(true);
  });

  it('reads a single row group larger than the read limit on its own, and projected columns with their gaps counted', () => {
    expect(runsOf(evenIndex(3, MAX_READ_BYTES + 1), [0, 1, 2])).toEqual([[0], [1], [2]]);
    // One column of each 40 KB group: 40 KB − 40/17 KB between two chunks, over the gap limit.
    expect(runsOf(evenIndex(3, 40_000), [0, 1], ['id'])).toEqual([[0], [1]]);
    expect(runsOf(evenIndex(3, 30_000), [0, 1], ['id'])).toEqual([[0, 1]]);
  });
});

describe('CoyoDataset.open', () => {
  it('fails with DatasetUnavailableError when no pointer exists', async () => {
    const empty: RangeReadBucket = { get: () => Promise.resolve(null) };
    await expect(CoyoDataset.open(io({ inner: empty }))).rejects.toBeInstanceOf(DatasetUnavailableError);
  });

  it('keeps serving the version it read until the pointer lifetime passes', async () => {
    let now = 1_000;
    const memory = new CoyoMemory();
    const pointerTtlMs = 30_000;
    const first = await CoyoDataset.open(io({ memory, now: () => now, pointerTtlMs }));
    expect(first.version).toBe(FIXTURE_VERSION);
    const original = defined(objects.get(POINTER_KEY));
    objects.set(POINTER_KEY, new TextEncoder().encode(new TextDecoder().decode(original).replace(FIXTURE_VERSION, 'fixture-2')));
    try {
      now += 10_000;
      const cached = io({ memory, now: () => now, pointerTtlMs });
      expect((await CoyoDataset.open(cached)).version).toBe(FIXTURE_VERSION);
      expect(cached.bucket.stats.reads).toBe(0);
      now += 30_000;
      // The new pointer names a manifest of another version: the reader refuses the mismatch.
      await expect(CoyoDataset.open(io({ memory, now: () => now, pointerTtlMs }))).rejects.toThrow(/pointer says fixture-2/);
    } finally {
      objects.set(POINTER_KEY, original);
    }
  });
});

describe('CoyoDataset.rows', () => {
  it('pages through rows in global id order across row groups and shards', async () => {
    const dataset = await CoyoDataset.open(io());
    const boundary = at(fixtureManifest().shards, 0).rows;
    const page = await dataset.rows(boundary - 30, 100);
    expect(page.map((r) => r.row_idx)).toEqual(Array.from({ length: 100 }, (_, i) => boundary - 30 + i));
    expect(page.map((r) => r.row)).toEqual(oracle.slice(boundary - 30, boundary + 70));
  });

  it('reads the row groups a page spans in one shard with one range read, and each shard apart', async () => {
    const dataset = await CoyoDataset.open(io());
    const boundary = at(fixtureManifest().shards, 0).rows;
    await dataset.rows(boundary - 1, 2, ['id']); // both shards' look-up indexes, cached
    const stats = (dataset as unknown as { io: CoyoIo }).io.bucket.stats;
    const before = stats.rangeReads;
    const page = await dataset.rows(boundary - 130, 200); // three row groups of the first shard, two of the second
    expect(page.map((r) => r.row)).toEqual(oracle.slice(boundary - 130, boundary + 70));
    expect(stats.rangeReads - before).toBe(2);
  });

  it('stops at the end of the data', async () => {
    const dataset = await CoyoDataset.open(io());
    const tail = await dataset.rows(oracle.length - 3, 100, ['id']);
    expect(tail.map((r) => r.row)).toEqual(oracle.slice(-3).map((r) => ({ id: r.id })));
    expect(await dataset.rows(oracle.length + 5, 10)).toEqual([]);
  });
});

describe('CoyoDataset.filter', () => {
  function bruteForce(predicates: readonly Predicate[]): CompleteRecord[] {
    return oracle.filter((row) =>
      predicates.every((p) => (p.min === undefined || row[p.column] >= p.min) && (p.max === undefined || row[p.column] <= p.max)),
    );
  }

  function randomPredicates(next: () => number): Predicate[] {
    const count = 1 + Math.floor(next() * 3);
    const out: Predicate[] = [];
    for (let k = 0; k < count; k++) {
      const column = at(NUMERIC_COLUMNS, Math.floor(next() * NUMERIC_COLUMNS.length));
      if (out.some((p) => p.column === column)) continue;
      const values = oracle.map((r) => r[column]).sort((a, b) => a - b);
      const a = at(values, Math.floor(next() * values.length));
      const b = at(values, Math.floor(next() * values.length));
      const kind = next();
      out.push(kind < 0.33 ? { column, min: Math.min(a, b) } : kind < 0.66 ? { column, max: Math.max(a, b) } : { column, min: Math.min(a, b), max: Math.max(a, b) });
    }
    return out;
  }

  async function allPages(predicates: Predicate[], limit: number, maxRowsScanned: number, maxReads: number) {
    const dataset = await CoyoDataset.open(io());
    const rows: CoyoRecord[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await dataset.filter({ predicates, columns: COYO_COLUMNS, limit, maxRowsScanned, maxReads, ...(cursor ? { cursor } : {}) });
      expect(page.rows.length).toBeLessThanOrEqual(limit);
      rows.push(...(page.rows as CoyoRecord[]));
      cursor = page.next_cursor ?? undefined;
      pages += 1;
      expect(pages).toBeLessThan(500);
    } while (cursor !== undefined);
    return { rows, pages };
  }

  it('returns the same rows as a brute-force filter, for random predicates', async () => {
    const next = rng(7);
    for (let trial = 0; trial < 12; trial++) {
      const predicates = randomPredicates(next);
      const { rows } = await allPages(predicates, 100, 1_000_000, 1000);
      expect(rows, JSON.stringify(predicates)).toEqual(bruteForce(predicates));
    }
  });

  it('reads the row groups the matches so far say a page still needs with one read, budgeting each group as a read', async () => {
    const dataset = await CoyoDataset.open(io());
    const first = at(fixtureManifest().shards, 0);
    // Matches in about half the rows; the first shard's groups all may match. Footers cached first.
    const median = [...oracle.map((r) => r.aesthetic_score_laion_v2)].sort((a, b) => a - b)[oracle.length >> 1] ?? 0;
    const predicates: Predicate[] = [{ column: 'aesthetic_score_laion_v2', min: median }];
    await dataset.filter({ predicates, columns: ['id'], limit: 1, maxRowsScanned: 1000, maxReads: 10 });
    const stats = (dataset as unknown as { io: CoyoIo }).io.bucket.stats;
    const before = stats.rangeReads;
    const page = await dataset.filter({ predicates, columns: COYO_COLUMNS, limit: 100, maxRowsScanned: 100_000, maxReads: 100 });
    expect(page.rows).toEqual(bruteForce(predicates).slice(0, 100));
    expect(page.row_groups_read).toBeGreaterThanOrEqual(3); // 50-row groups, ~25 matches each
    expect(stats.rangeReads - before).toBe(2); // the first group alone, then the rest the rate asks for
    // A budget of three reads scans three groups, however few R2 calls they took.
    const budgeted = await dataset.filter({ predicates, columns: ['id'], limit: 1000, maxRowsScanned: 100_000, maxReads: 3 });
    expect(budgeted.row_groups_read).toBe(3);
    expect(budgeted.rows.map((r) => r.id)).toEqual(bruteForce(predicates).filter((r) => r.id <= first.max_id).slice(0, budgeted.rows.length).map((r) => r.id));
    expect(budgeted.next_cursor).not.toBeNull();
  });

  it('returns every match exactly once when paging with small limits and budgets', async () => {
    const next = rng(11);
    for (let trial = 0; trial < 6; trial++) {
      const predicates = randomPredicates(next);
      const limit = 1 + Math.floor(next() * 15);
      const { rows, pages } = await allPages(predicates, limit, 60, 3);
      const ids = rows.map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(rows, JSON.stringify({ predicates, limit })).toEqual(bruteForce(predicates));
      expect(pages).toBeGreaterThan(1);
    }
  });

  it('skips row groups whose statistics rule the predicates out', async () => {
    const dataset = await CoyoDataset.open(io());
    const target = at(oracle, 520);
    const page = await dataset.filter({
      predicates: [{ column: 'id', min: target.id, max: target.id }],
      columns: ['id'],
      limit: 10,
      maxRowsScanned: 1_000_000,
      maxReads: 1000,
    });
    expect(page.rows).toEqual([{ id: target.id }]);
    expect(page.row_groups_read).toBe(1);
    expect(page.scanned_rows).toBeLessThanOrEqual(50);
    expect(page.next_cursor).toBeNull();
  });

  it('stops at the row budget and hands back a cursor', async () => {
    const dataset = await CoyoDataset.open(io());
    const page = await dataset.filter({ predicates: [{ column: 'width', min: 0 }], columns: ['id'], limit: 100, maxRowsScanned: 60, maxReads: 1000 });
    expect(page.row_groups_read).toBe(1);
    expect(page.rows).toHaveLength(50);
    expect(page.next_cursor).not.toBeNull();
  });

  it('refuses a malformed cursor and a cursor of another filter', async () => {
    const dataset = await CoyoDataset.open(io());
    const base = { columns: COYO_COLUMNS, limit: 5, maxRowsScanned: 100, maxReads: 10 };
    await expect(dataset.filter({ ...base, predicates: [], cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(CursorError);
    const other = encodeCursor({ v: 1, after: 5, f: '00000000' });
    await expect(dataset.filter({ ...base, predicates: [{ column: 'width', min: 300 }], cursor: other })).rejects.toThrow(/different filter/);
  });
});

describe('CoyoDataset.stats', () => {
  it('reports the version, row count and column ranges of the manifest', async () => {
    const stats = (await CoyoDataset.open(io())).stats();
    expect(stats).toMatchObject({ version: FIXTURE_VERSION, rows: oracle.length, shards: 3 });
    expect(stats.columns['aesthetic_score_laion_v2']).toEqual({
      type: 'FLOAT',
      min: Math.min(...oracle.map((r) => r.aesthetic_score_laion_v2)),
      max: Math.max(...oracle.map((r) => r.aesthetic_score_laion_v2)),
    });
    expect(stats.columns['url']).toEqual({ type: 'VARCHAR' });
  });
});

describe('a manifest with columns that have no values', () => {
  const NO_WATERMARK_SHARD = 1;

  /** The fixture, its manifest saying that shard 1 has no watermark_score and the version no num_faces. */
  function objectsWithNullRanges(): Map<string, Uint8Array> {
    const objects = fixtureObjects();
    const text = (key: string) => new TextDecoder().decode(objects.get(key));
    const pointer = JSON.parse(text(POINTER_KEY)) as { manifest_key: string };
    const manifest = fixtureManifest();
    const edited = {
      ...manifest,
      columns: { ...manifest.columns, num_faces: null },
      shards: manifest.shards.map((s, i) => ({
        ...s,
        columns: { ...s.columns, num_faces: null, ...(i === NO_WATERMARK_SHARD ? { watermark_score: null } : {}) },
      })),
    };
    objects.set(pointer.manifest_key, new TextEncoder().encode(JSON.stringify(edited)));
    objects.set(POINTER_KEY, new TextEncoder().encode(JSON.stringify(pointer)));
    return objects;
  }

  const everything = { columns: ['id'] as const, limit: 10_000, maxRowsScanned: 1_000_000, maxReads: 1000 };

  it('skips, without reading it, a shard whose range for a predicate column is null', async () => {
    const inner = memoryBucket(objectsWithNullRanges());
    const dataset = await CoyoDataset.open(io({ inner }));
    const skipped = at(fixtureManifest().shards, NO_WATERMARK_SHARD);
    const page = await dataset.filter({ ...everything, predicates: [{ column: 'watermark_score', min: 0 }] });
    const expected = oracle.filter((r) => (r.id < skipped.min_id || r.id > skipped.max_id) && r.watermark_score >= 0);
    expect(page.rows).toEqual(expected.map((r) => ({ id: r.id })));
    expect(page.next_cursor).toBeNull();
    expect(inner.log.filter((entry) => entry.startsWith(skipped.key))).toEqual([]);
  });

  it('still scans that shard for predicates on other columns', async () => {
    const dataset = await CoyoDataset.open(io({ inner: memoryBucket(objectsWithNullRanges()) }));
    const page = await dataset.filter({ ...everything, predicates: [{ column: 'width', min: 0 }] });
    expect(page.rows).toEqual(oracle.map((r) => ({ id: r.id })));
  });

  it('reports no min or max for a column without values in the version', async () => {
    const stats = (await CoyoDataset.open(io({ inner: memoryBucket(objectsWithNullRanges()) }))).stats();
    expect(stats.columns['num_faces']).toEqual({ type: 'INTEGER' });
    expect(stats.columns['width']).toMatchObject({ min: Math.min(...oracle.map((r) => r.width)) });
  });
});

describe('a version with NULL values', () => {
  let withNulls: CoyoRecord[];

  beforeAll(async () => {
    withNulls = await nullsFixtureRows();
  });

  const nullsIo = (inner = memoryBucket(nullsFixtureObjects())) => io({ inner });

  /** SQL's semantics: NULL satisfies no comparison, so a row with NULL in a bounded column never matches. */
  function sqlFilter(predicates: readonly Predicate[]): CoyoRecord[] {
    return withNulls.filter((row) =>
      predicates.every((p) => {
        const value = row[p.column];
        return value !== null && (p.min === undefined || value >= p.min) && (p.max === undefined || value <= p.max);
      }),
    );
  }

  const everything = { limit: 10_000, maxRowsScanned: 1_000_000, maxReads: 1000 };

  it('is a fixture with a NULL in every nullable column and in no id', () => {
    expect(NULLABLE_COLUMNS.filter((c) => !withNulls.some((r) => r[c] === null))).toEqual([]);
    expect(withNulls.map((r) => r.id)).not.toContain(null);
  });

  it('looks every row up, serving each NULL as null', async () => {
    const dataset = await CoyoDataset.open(nullsIo());
    expect(dataset.version).toBe(NULLS_FIXTURE_VERSION);
    for (let i = 0; i < withNulls.length; i += 100) {
      const page = withNulls.slice(i, i + 100);
      expect(await dataset.lookup(page.map((r) => r.id))).toEqual(page);
    }
  });

  it('serves null for a projection of a column that is NULL in the whole version', async () => {
    const target = at(withNulls, 123);
    const [row] = await (await CoyoDataset.open(nullsIo())).lookup([target.id], ['nsfw_score_gantman', 'id']);
    expect(row).toEqual({ id: target.id, nsfw_score_gantman: null });
  });

  it('pages through rows with NULLs in id order', async () => {
    const page = await (await CoyoDataset.open(nullsIo())).rows(80, 150);
    expect(page.map((r) => r.row)).toEqual(withNulls.slice(80, 230));
  });

  it('never matches NULL against a min or max bound, for random predicates', async () => {
    const next = rng(23);
    const bounded = NUMERIC_COLUMNS.filter((c) => c !== 'nsfw_score_gantman');
    for (let trial = 0; trial < 12; trial++) {
      const column = at(bounded, Math.floor(next() * bounded.length));
      const values = withNulls.map((r) => r[column]).filter((v): v is number => v !== null);
      const value = at(values, Math.floor(next() * values.length));
      const predicates: Predicate[] = [next() < 0.5 ? { column, min: value } : { column, max: value }];
      const page = await (await CoyoDataset.open(nullsIo())).filter({ ...everything, predicates, columns: COYO_COLUMNS });
      expect(page.rows, JSON.stringify(predicates)).toEqual(sqlFilter(predicates));
    }
  });

  it('returns rows whose value is NULL in a column the filter does not bound, with that value null', async () => {
    const predicates: Predicate[] = [{ column: 'height', min: 0 }];
    const page = await (await CoyoDataset.open(nullsIo())).filter({ ...everything, predicates, columns: ['id', 'watermark_score'] });
    const expected = sqlFilter(predicates).map((r) => ({ id: r.id, watermark_score: r.watermark_score }));
    expect(page.rows).toEqual(expected);
    expect(page.rows.filter((r) => r.watermark_score === null).length).toBeGreaterThan(100);
  });

  it('skips unread the shard whose watermark_score is NULL throughout, for min_watermark_score=0', async () => {
    const inner = memoryBucket(nullsFixtureObjects());
    const empty = defined(nullsFixtureManifest().shards.find((s) => s.columns['watermark_score'] === null));
    const page = await (await CoyoDataset.open(nullsIo(inner))).filter({
      ...everything,
      predicates: [{ column: 'watermark_score', min: 0 }],
      columns: ['id'],
    });
    expect(page.rows).toEqual(sqlFilter([{ column: 'watermark_score', min: 0 }]).map((r) => ({ id: r.id })));
    expect(inner.log.filter((entry) => entry.startsWith(empty.key))).toEqual([]);
  });

  it('finds nothing for any bound on a column that is NULL in the whole version, reading no shard', async () => {
    const inner = memoryBucket(nullsFixtureObjects());
    const page = await (await CoyoDataset.open(nullsIo(inner))).filter({
      ...everything,
      predicates: [{ column: 'nsfw_score_gantman', max: 1 }],
      columns: ['id'],
    });
    expect(page).toMatchObject({ rows: [], next_cursor: null, row_groups_read: 0 });
    expect(inner.log.filter((entry) => entry.includes('.parquet'))).toEqual([]);
  });

  it('reports ranges over the non-NULL values, and none for a column NULL in the whole version', async () => {
    const stats = (await CoyoDataset.open(nullsIo())).stats();
    const present = withNulls.map((r) => r.watermark_score).filter((v): v is number => v !== null);
    expect(stats.columns['watermark_score']).toEqual({ type: 'FLOAT', min: Math.min(...present), max: Math.max(...present) });
    expect(stats.columns['nsfw_score_gantman']).toEqual({ type: 'FLOAT' });
  });
});

describe('servedValue', () => {
  it('serves NULL as null in a nullable column', () => {
    expect(servedValue('watermark_score', null)).toBeNull();
    expect(servedValue('url', null)).toBeNull();
  });

  it('refuses a NULL id as corrupt data', () => {
    expect(() => servedValue('id', null)).toThrow(ShardDataError);
    expect(() => servedValue('id', null)).toThrow(/id is NULL/);
  });

  it('converts int64 to an exact number and refuses one beyond 2^53 − 1', () => {
    expect(servedValue('id', 2680060225205n)).toBe(2680060225205);
    expect(() => servedValue('id', 2n ** 53n)).toThrow(/does not fit a JSON number/);
  });

  it('decodes a string cell kept as its UTF-8 bytes when it is served', () => {
    expect(servedValue('text', new TextEncoder().encode('café ☕ 東京'))).toBe('café ☕ 東京');
    expect(servedValue('url', new Uint8Array(0))).toBe('');
  });

  it('calls a cell that was never decoded a bug, not NULL', () => {
    expect(() => servedValue('watermark_score', undefined)).toThrow(/^bug: no value was decoded for watermark_score/);
  });
});

describe('a shard with a NULL id', () => {
  it('fails a look-up with a ShardDataError that names the shard, row group and row', async () => {
    const dataset = await CoyoDataset.open(io({ inner: memoryBucket(nullIdFixtureObjects()) }));
    const [key] = [...nullIdFixtureObjects().keys()].filter((k) => k.endsWith('.parquet'));
    const failure = dataset.lookup([at(dataset.manifest.shards, 0).min_id]);
    await expect(failure).rejects.toBeInstanceOf(ShardDataError);
    await expect(failure).rejects.toThrow(`${key} row group 0, row 9: id is NULL`);
  });
});
