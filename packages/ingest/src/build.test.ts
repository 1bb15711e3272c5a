import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { indexFromLookupIndex, indexShard, groupSpan } from '@coyo/coyo-reader';
import { COYO_COLUMNS, ManifestSchema, STORAGE_ORDER } from '@coyo/coyo-schema';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { buildShards, DEFAULT_ROW_GROUP_BYTES, sha256File } from './build.js';
import { Duck } from './duck.js';
import { DuplicateIdsError, IngestError } from './errors.js';
import { writeSample } from './sample.js';
import { at } from '@coyo/coyo-reader/testing';

async function sample(rows: number, seed = 11): Promise<string> {
  const dir = await tempDir();
  await writeSample({ rows, outDir: dir, seed, files: 3 });
  return dir;
}

describe('buildShards', () => {
  it('cuts rows sorted by id into shards with disjoint, ordered id ranges', async () => {
    const input = await sample(7000);
    const work = await tempDir();
    const { manifest, shardFiles } = await buildShards({ inputs: [input], workDir: work, rowGroupSize: 2048, shardRows: 2048 });
    expect(manifest.total_rows).toBe(7000);
    expect(manifest.format_version).toBe(3);
    expect(manifest.shards.map((s) => s.rows)).toEqual([2048, 2048, 2048, 856]);
    for (const [i, shard] of manifest.shards.entries()) {
      const next = manifest.shards[i + 1];
      if (next) expect(next.min_id).toBeGreaterThan(shard.max_id);
      expect(shard.key).toBe(`v/${manifest.dataset_version}/shard-${String(i).padStart(5, '0')}.parquet`);
    }
    const duck = await Duck.open();
    try {
      for (const [i, file] of shardFiles.entries()) {
        const shard = at(manifest.shards, i);
        const ids = (await duck.all(`SELECT id FROM read_parquet('${file}')`)).map((r) => Number(r['id']));
        expect(ids).toEqual([...ids].sort((a, b) => a - b));
        expect(ids[0]).toBe(shard.min_id);
        expect(ids.at(-1)).toBe(shard.max_id);
        expect(await sha256File(file)).toBe(shard.sha256);
        const bytes = await readFile(file);
        expect(bytes.byteLength).toBe(shard.bytes);
        expect(bytes.readUInt32LE(bytes.byteLength - 8) + 8).toBe(shard.footer_bytes);
        const columns = await duck.all(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
        expect(columns.map((c) => c['column_name'])).toEqual(STORAGE_ORDER);
        const stats = await duck.all(
          // Numeric columns carry statistics (filters prune by them); strings do not need them.
          `SELECT count(*) AS n FROM parquet_metadata('${file}') WHERE path_in_schema NOT IN ('url', 'text', 'image_phash') AND (stats_min_value IS NULL OR stats_max_value IS NULL)`,
        );
        expect(Number(stats[0]?.['n'])).toBe(0);
        const [range] = await duck.all(
          `SELECT min(aesthetic_score_laion_v2) AS lo, max(aesthetic_score_laion_v2) AS hi FROM read_parquet('${file}')`,
        );
        expect(shard.columns['aesthetic_score_laion_v2']).toEqual({ min: range?.['lo'], max: range?.['hi'] });
      }
    } finally {
      duck.close();
    }
    expect(ManifestSchema.parse(JSON.parse(await readFile(join(work, 'manifest.json'), 'utf8')))).toEqual(manifest);
  });

  it('writes row groups of at most 32 KB and a look-up index that matches the footer', async () => {
    const input = await sample(6000);
    const work = await tempDir();
    const { manifest, shardFiles } = await buildShards({ inputs: [input], workDir: work, shardRows: 4096 });
    for (const [i, file] of shardFiles.entries()) {
      const shard = at(manifest.shards, i);
      const bytes = await readFile(file);
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      const footer = buffer.slice(shard.bytes - shard.footer_bytes);
      const indexBytes = shard.index_bytes ?? 0;
      const dataEnd = shard.bytes - shard.footer_bytes - indexBytes;
      const fromIndex = indexFromLookupIndex(shard.key, buffer.slice(dataEnd, dataEnd + indexBytes), dataEnd);
      const fromFooter = indexShard(shard.key, footer);
      expect(fromIndex.groupStarts).toEqual(fromFooter.groupStarts);
      expect(fromIndex.chunkStart).toEqual(fromFooter.chunkStart);
      expect(fromIndex.chunkEnd).toEqual(fromFooter.chunkEnd);
      expect(fromIndex.groupMin).toEqual(fromFooter.groupMin);
      expect(fromIndex.groupMax).toEqual(fromFooter.groupMax);
      const groups = fromIndex.groupStarts.length - 1;
      expect(groups).toBe(shard.row_groups);
      expect(groups).toBeGreaterThan(5);
      for (let g = 0; g < groups; g++) {
        const [start, end] = groupSpan(fromIndex, g, COYO_COLUMNS);
        expect(end - start).toBeLessThanOrEqual(DEFAULT_ROW_GROUP_BYTES);
      }
    }
  });

  it('names the same data the same version, whatever the work folder', async () => {
    const input = await sample(2500);
    const a = await buildShards({ inputs: [input], workDir: await tempDir(), rowGroupSize: 2048, shardRows: 2048 });
    const b = await buildShards({ inputs: [join(input, '*.parquet')], workDir: await tempDir(), rowGroupSize: 2048, shardRows: 2048 });
    expect(b.manifest.dataset_version).toBe(a.manifest.dataset_version);
    expect(b.manifest.shards.map((s) => s.sha256)).toEqual(a.manifest.shards.map((s) => s.sha256));
  });

  it('reuses the previous build of the same inputs and options', async () => {
    const input = await sample(2100);
    const work = await tempDir();
    const first = await buildShards({ inputs: [input], workDir: work, rowGroupSize: 2048, shardRows: 2048 });
    const again = await buildShards({ inputs: [input], workDir: work, rowGroupSize: 2048, shardRows: 2048 });
    expect(first.reused).toBe(false);
    expect(again.reused).toBe(true);
    expect(again.manifest).toEqual(first.manifest);
    const other = await buildShards({ inputs: [input], workDir: work, rowGroupSize: 2048, shardRows: 4096 });
    expect(other.reused).toBe(false);
    expect(other.manifest.shards).toHaveLength(1);
  });

  it('refuses duplicate ids and reports how many and which', async () => {
    const input = await sample(600);
    const copy = await tempDir();
    const duck = await Duck.open();
    try {
      // The same rows twice, plus one extra copy of three of them.
      await duck.run(`COPY (SELECT * FROM read_parquet('${input}/*.parquet')) TO '${copy}/a.parquet' (FORMAT parquet)`);
      await duck.run(
        `COPY (SELECT * FROM read_parquet('${input}/*.parquet') ORDER BY id LIMIT 3) TO '${copy}/b.parquet' (FORMAT parquet)`,
      );
    } finally {
      duck.close();
    }
    const error = await buildShards({ inputs: [input, copy], workDir: await tempDir() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplicateIdsError);
    const dup = error as DuplicateIdsError;
    expect(dup.duplicateIds).toBe(600);
    expect(dup.examples).toHaveLength(10);
    expect(dup.examples.slice(0, 3).map((e) => e.count)).toEqual([3, 3, 3]);
    expect(dup.examples[3]?.count).toBe(2);
  });

  it('names the file and the column when a schema does not match', async () => {
    const input = await sample(300);
    const bad = await tempDir();
    const duck = await Duck.open();
    try {
      await duck.run(
        `COPY (SELECT * EXCLUDE (num_faces) REPLACE (CAST(width AS VARCHAR) AS width) FROM read_parquet('${input}/*.parquet'))
         TO '${bad}/bad.parquet' (FORMAT parquet)`,
      );
    } finally {
      duck.close();
    }
    const error = await buildShards({ inputs: [input, `${bad}/bad.parquet`], workDir: await tempDir() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestError);
    const message = (error as Error).message;
    expect(message).toContain(`${bad}/bad.parquet: column "width" has type VARCHAR, expected INTEGER`);
    expect(message).toContain(`${bad}/bad.parquet: column "num_faces" is missing`);
    expect(message).not.toContain(`${input}/part-00000.parquet`);
  });

  it('refuses NaN and ±Infinity before sorting, naming file, column, row count and an example id', async () => {
    const input = await sample(900);
    const bad = await tempDir();
    const badFile = join(bad, 'bad.parquet');
    const duck = await Duck.open();
    let nanIds: bigint[];
    let infId: bigint;
    try {
      const source = `read_parquet('${input}/part-00001.parquet')`;
      const ids = (await duck.all(`SELECT id FROM ${source} ORDER BY id`)).map((r) => r['id'] as bigint);
      nanIds = [at(ids, 7), at(ids, 3), at(ids, 40)];
      infId = at(ids, 12);
      const minusInfId = at(ids, 20);
      await duck.run(
        `COPY (SELECT * REPLACE (
           CASE WHEN id IN (${nanIds.join(', ')}) THEN 'NaN'::FLOAT ELSE watermark_score END AS watermark_score,
           CASE WHEN id = ${infId} THEN 'Infinity'::FLOAT WHEN id = ${minusInfId} THEN '-Infinity'::FLOAT
                ELSE aesthetic_score_laion_v2 END AS aesthetic_score_laion_v2)
         FROM ${source}) TO '${badFile}' (FORMAT parquet)`,
      );
    } finally {
      duck.close();
    }
    const work = await tempDir();
    const inputs = [join(input, 'part-00000.parquet'), join(input, 'part-00002.parquet'), badFile];
    const error = await buildShards({ inputs, workDir: work }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestError);
    expect((error as IngestError).exitCode).toBe(2);
    const lines = (error as Error).message.split('\n').slice(1).map((l) => l.trim());
    const smallestNan = nanIds.reduce((a, b) => (b < a ? b : a));
    expect(lines).toEqual([
      `${badFile}: column "watermark_score" has 3 row(s) with NaN or ±Infinity (e.g. id ${smallestNan})`,
      `${badFile}: column "aesthetic_score_laion_v2" has 2 row(s) with NaN or ±Infinity (e.g. id ${infId})`,
    ]);
    // Refused during validation: nothing was sorted or written.
    expect((await readdir(work)).filter((f) => f !== 'tmp')).toEqual([]);
  });

  it('records a numeric column that is NULL throughout a shard as having no range', async () => {
    const input = await sample(5000);
    const nulls = await tempDir();
    const duck = await Duck.open();
    try {
      // watermark_score: NULL in the first 2048 ids (shard 0) and in every tenth row after them;
      // num_faces: NULL everywhere.
      await duck.run(
        `COPY (
           WITH src AS (SELECT *, row_number() OVER (ORDER BY id) - 1 AS rn FROM read_parquet('${input}/*.parquet'))
           SELECT * EXCLUDE (rn) REPLACE (
             CASE WHEN rn < 2048 OR rn % 10 = 0 THEN NULL ELSE watermark_score END AS watermark_score,
             NULL::INTEGER AS num_faces)
           FROM src) TO '${nulls}/nulls.parquet' (FORMAT parquet)`,
      );
    } finally {
      duck.close();
    }
    const work = await tempDir();
    const { manifest, shardFiles } = await buildShards({ inputs: [nulls], workDir: work, rowGroupSize: 2048, shardRows: 2048 });
    expect(manifest.shards).toHaveLength(3);
    expect(at(manifest.shards, 0).columns['watermark_score']).toBeNull();
    expect(manifest.shards.map((s) => s.columns['num_faces'])).toEqual([null, null, null]);
    expect(manifest.columns['num_faces']).toBeNull();
    const check = await Duck.open();
    try {
      const ranges = [];
      for (const file of shardFiles.slice(1)) {
        const [r] = await check.all(`SELECT min(watermark_score) AS lo, max(watermark_score) AS hi FROM read_parquet('${file}')`);
        ranges.push({ min: r?.['lo'], max: r?.['hi'] });
      }
      expect(manifest.shards.slice(1).map((s) => s.columns['watermark_score'])).toEqual(ranges);
      expect(manifest.columns['watermark_score']).toEqual({
        min: Math.min(...ranges.map((r) => r.min as number)),
        max: Math.max(...ranges.map((r) => r.max as number)),
      });
    } finally {
      check.close();
    }
    // Layout 3 allows null ranges, as layout 2 does.
    expect(manifest.format_version).toBe(3);
    expect(ManifestSchema.parse(JSON.parse(await readFile(join(work, 'manifest.json'), 'utf8')))).toEqual(manifest);
  });

  it('refuses an input that matches no file', async () => {
    const dir = await tempDir();
    await expect(buildShards({ inputs: [join(dir, '*.parquet')], workDir: await tempDir() })).rejects.toThrow(/no parquet files match/);
  });
});
