/**
 * Float bounds on the edge compared with DuckDB on the same parquet file: the edge reader (row matching
 * and the statistics that skip shards and row groups) must give exactly the ids that
 * `col >= CAST(min AS FLOAT) AND col <= CAST(max AS FLOAT)` gives, for random bounds and for bounds
 * equal to stored values, written either as the stored float32 or as the short decimal it came from.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLOAT_COLUMNS, type FloatColumn } from '@coyo/coyo-schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingBucket, CoyoDataset, CoyoMemory, type Predicate } from '@coyo/coyo-reader';
import { fileBucket } from '../bench/file-bucket.js';
import { buildShards } from '../src/build.js';
import { Duck } from '../src/duck.js';
import { publish } from '../src/publish.js';
import { Random } from '../src/random.js';
import { writeSample } from '../src/sample.js';
import { dirStore } from '../src/targets/dir.js';

let root: string;
let input: string;
let bucketDir: string;
let duck: Duck;
/** Distinct non-NULL values per float column, as stored (float32 widened to double). */
const stored = new Map<FloatColumn, number[]>();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'coyo-float-bounds-'));
  const generated = join(root, 'generated');
  input = join(root, 'input.parquet');
  bucketDir = join(root, 'bucket');
  await writeSample({ rows: 20_000, outDir: generated, seed: 5, files: 1 });
  duck = await Duck.open();
  // clip_similarity_vitb32 rounded to two decimals (many rows then hold float32(0.3) and the like, the
  // case a bound written as `0.3` must match); aesthetic_score_laion_v2 rising with the id in steps of
  // 0.001 (so row groups and shards hold narrow ranges that statistics prune, bounds at their edges
  // included); watermark_score NULL in every fifth row.
  await duck.run(
    `COPY (
       WITH src AS (SELECT *, row_number() OVER (ORDER BY id) AS rn FROM read_parquet('${generated}/*.parquet'))
       SELECT * EXCLUDE (rn) REPLACE (
         CAST(round(clip_similarity_vitb32, 2) AS FLOAT) AS clip_similarity_vitb32,
         CAST(round(1 + rn * 0.00045, 3) AS FLOAT) AS aesthetic_score_laion_v2,
         CASE WHEN rn % 5 = 0 THEN NULL ELSE watermark_score END AS watermark_score)
       FROM src) TO '${input}' (FORMAT parquet)`,
  );
  for (const column of FLOAT_COLUMNS) {
    const values = await duck.all(`SELECT DISTINCT ${column} AS v FROM read_parquet('${input}') WHERE ${column} IS NOT NULL ORDER BY v`);
    stored.set(
      column,
      values.map((r) => Number(r['v'])),
    );
  }
  // Three shards of up to four row groups, so that statistics prune at both levels.
  const built = await buildShards({ inputs: [input], workDir: join(root, 'work'), rowGroupSize: 2048, shardRows: 8192 });
  await publish({ manifest: built.manifest, shardFiles: built.shardFiles, store: dirStore(bucketDir) });
});

afterAll(async () => {
  duck.close();
  await rm(root, { recursive: true, force: true });
});

/** A double as a SQL expression DuckDB reads back exactly, then casts to FLOAT as it does a bound. */
function floatBound(x: number): string {
  return `CAST(CAST('${String(x)}' AS DOUBLE) AS FLOAT)`;
}

async function sqlIds(p: Predicate): Promise<number[]> {
  const where: string[] = [];
  if (p.min !== undefined) where.push(`${p.column} >= ${floatBound(p.min)}`);
  if (p.max !== undefined) where.push(`${p.column} <= ${floatBound(p.max)}`);
  const rows = await duck.all(`SELECT id FROM read_parquet('${input}') WHERE ${where.join(' AND ')} ORDER BY id`);
  return rows.map((r) => Number(r['id']));
}

async function edgeIds(p: Predicate) {
  const dataset = await CoyoDataset.open({ bucket: new CountingBucket(fileBucket(bucketDir)), memory: new CoyoMemory() });
  const page = await dataset.filter({ predicates: [p], columns: ['id'], limit: 100_000, maxRowsScanned: 1_000_000, maxReads: 1000 });
  expect(page.next_cursor).toBeNull();
  return { ids: page.rows.map((r) => r.id as number), skipped: page.row_groups_skipped };
}

/** A bound drawn from one of the cases that tell float32 and double comparisons apart. */
function randomBound(rng: Random, values: readonly number[]): number {
  const value = rng.pick(values);
  const lo = values[0] as number;
  const hi = values.at(-1) as number;
  switch (rng.int(0, 4)) {
    case 0:
      return value; // the stored float32 itself
    case 1:
      return Number(value.toPrecision(rng.int(1, 4))); // a short decimal near (or equal to) a stored value
    case 2:
      return value + (rng.chance(0.5) ? 1 : -1) * value * 2 ** -30; // between float32 neighbours, as double
    case 3:
      return lo + rng.next() * (hi - lo); // anywhere in the range
    default:
      return lo - 0.1 + rng.next() * (hi - lo + 0.2); // possibly outside the range
  }
}

describe('float bounds on the edge and in DuckDB', () => {
  it('writes the values the cases rely on', () => {
    expect(stored.get('clip_similarity_vitb32')).toContain(Math.fround(0.3));
  });

  it('min=max=0.3 and max=0.2 on a column rounded to two decimals give what SQL gives, and not nothing', async () => {
    for (const p of [
      { column: 'clip_similarity_vitb32', min: 0.3, max: 0.3 },
      { column: 'clip_similarity_vitb32', max: 0.2 },
      { column: 'clip_similarity_vitb32', min: 0.35 },
    ] satisfies Predicate[]) {
      const expected = await sqlIds(p);
      expect(expected.length).toBeGreaterThan(0);
      expect((await edgeIds(p)).ids).toEqual(expected);
    }
  });

  it('agree on 120 random bounds, including bounds equal to stored values, with pruning at work', async () => {
    const rng = new Random(12);
    let skipped = 0;
    for (let trial = 0; trial < 120; trial++) {
      const column = rng.pick(FLOAT_COLUMNS);
      const values = stored.get(column) ?? [];
      const shape = rng.int(0, 3);
      let p: Predicate;
      if (shape === 0) p = { column, min: randomBound(rng, values) };
      else if (shape === 1) p = { column, max: randomBound(rng, values) };
      else if (shape === 2) {
        const bound = randomBound(rng, values);
        p = { column, min: bound, max: bound };
      } else {
        const [a, b] = [randomBound(rng, values), randomBound(rng, values)].sort((x, y) => x - y);
        p = { column, min: a as number, max: b as number };
      }
      const edge = await edgeIds(p);
      skipped += edge.skipped;
      expect(edge.ids, JSON.stringify(p)).toEqual(await sqlIds(p));
    }
    expect(skipped).toBeGreaterThan(10);
  });
});
