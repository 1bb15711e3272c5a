/**
 * The ingest's output read back by the edge reader (`@coyo/coyo-reader`) in Node: a version whose
 * scores are NULL in places must filter exactly as SQL does, NULL satisfying no bound.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from '@coyo/coyo-schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingBucket, CoyoDataset, CoyoMemory, type Predicate } from '@coyo/coyo-reader';
import { fileBucket } from '../bench/file-bucket.js';
import { buildShards } from '../src/build.js';
import { Duck } from '../src/duck.js';
import { publish } from '../src/publish.js';
import { writeSample } from '../src/sample.js';
import { dirStore } from '../src/targets/dir.js';
import { at } from '@coyo/coyo-reader/testing';

// Built once for the file (tempDir() folders go after each test), in a folder removed at the end.
let root: string;
let input: string;
let bucketDir: string;
let manifest: Manifest;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'coyo-edge-reader-'));
  const generated = join(root, 'generated');
  input = join(root, 'input.parquet');
  bucketDir = join(root, 'bucket');
  await writeSample({ rows: 6000, outDir: generated, seed: 21, files: 1 });
  const duck = await Duck.open();
  try {
    // Sorted by id, rows 0..4095 form shard 0 (row groups 0..2047 and 2048..4095), rows 4096.. shard 1.
    // watermark_score: NULL in all of shard 1 and in every seventh row before it.
    // num_faces: NULL in shard 0's first row group only.
    await duck.run(
      `COPY (
         WITH src AS (SELECT *, row_number() OVER (ORDER BY id) - 1 AS rn FROM read_parquet('${generated}/*.parquet'))
         SELECT * EXCLUDE (rn) REPLACE (
           CASE WHEN rn >= 4096 OR rn % 7 = 0 THEN NULL ELSE watermark_score END AS watermark_score,
           CASE WHEN rn < 2048 THEN NULL ELSE num_faces END AS num_faces)
         FROM src) TO '${input}' (FORMAT parquet)`,
    );
  } finally {
    duck.close();
  }
  const built = await buildShards({
    inputs: [input],
    workDir: join(root, 'work'),
    // Row groups cut by rows alone (no byte limit is reached), so the NULL patterns above line up with them.
    rowGroupSize: 2048,
    rowGroupBytes: 1 << 30,
    shardRows: 4096,
  });
  manifest = built.manifest;
  await publish({ manifest, shardFiles: built.shardFiles, store: dirStore(bucketDir) });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function sqlIds(where: string): Promise<number[]> {
  const duck = await Duck.open();
  try {
    return (await duck.all(`SELECT id FROM read_parquet('${input}') WHERE ${where} ORDER BY id`)).map((r) => Number(r['id']));
  } finally {
    duck.close();
  }
}

async function edgeFilter(predicates: Predicate[]) {
  const dataset = await CoyoDataset.open({ bucket: new CountingBucket(fileBucket(bucketDir)), memory: new CoyoMemory() });
  return dataset.filter({ predicates, columns: ['id'], limit: 10_000, maxRowsScanned: 1_000_000, maxReads: 1000 });
}

describe('the edge reader over a version with NULL scores', () => {
  it('is built as two shards, the second without watermark scores', () => {
    expect(manifest.shards.map((s) => [s.rows, s.row_groups])).toEqual([
      [4096, 2],
      [1904, 1],
    ]);
    expect(at(manifest.shards, 1).columns['watermark_score']).toBeNull();
  });

  it('matches SQL for min=0 on a column that is NULL throughout a shard, skipping that shard unread', async () => {
    const page = await edgeFilter([{ column: 'watermark_score', min: 0 }]);
    expect(page.rows.map((r) => r.id)).toEqual(await sqlIds('watermark_score >= 0'));
    expect(page.row_groups_read).toBe(2);
    expect(page.next_cursor).toBeNull();
  });

  it('matches SQL for max=0 on a column that is NULL throughout one row group, skipping that group unread', async () => {
    const page = await edgeFilter([{ column: 'num_faces', max: 0 }]);
    expect(page.rows.map((r) => r.id)).toEqual(await sqlIds('num_faces <= 0'));
    expect(page.row_groups_skipped).toBe(1);
    expect(page.row_groups_read).toBe(2);
  });
});
