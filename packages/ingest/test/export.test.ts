/**
 * The edge export read back by DuckDB and compared with DuckDB's own answer to the same query on the
 * same parquet file: JSON Lines, CSV and Parquet, over several budgeted responses joined by their
 * cursors, with NULLs, empty strings and text that CSV must quote.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingBucket, CoyoDataset, CoyoMemory, exportBody, type ExportFormat, type Predicate } from '@coyo/coyo-reader';
import type { CoyoColumn } from '@coyo/coyo-schema';
import { fileBucket } from '../bench/file-bucket.js';
import { buildShards } from '../src/build.js';
import { Duck, toSafeNumber } from '../src/duck.js';
import { publish } from '../src/publish.js';
import { writeSample } from '../src/sample.js';
import { dirStore } from '../src/targets/dir.js';

let root: string;
let input: string;
let bucketDir: string;
let duck: Duck;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'coyo-export-'));
  const generated = join(root, 'generated');
  input = join(root, 'input.parquet');
  bucketDir = join(root, 'bucket');
  await writeSample({ rows: 12_000, outDir: generated, seed: 8, files: 2 });
  duck = await Duck.open();
  await duck.run(
    `COPY (
       WITH src AS (SELECT *, row_number() OVER (ORDER BY id) AS rn FROM read_parquet('${generated}/*.parquet'))
       SELECT * EXCLUDE (rn) REPLACE (
         CASE WHEN rn % 11 = 0 THEN 'say "hi", then' || chr(10) || 'a new line' WHEN rn % 13 = 0 THEN ''
              WHEN rn % 17 = 0 THEN NULL ELSE text END AS text,
         CASE WHEN rn % 7 = 0 THEN NULL ELSE watermark_score END AS watermark_score,
         CAST(round(clip_similarity_vitb32, 2) AS FLOAT) AS clip_similarity_vitb32)
       FROM src) TO '${input}' (FORMAT parquet)`,
  );
  const built = await buildShards({ inputs: [input], workDir: join(root, 'work'), rowGroupSize: 2048, shardRows: 4096 });
  await publish({ manifest: built.manifest, shardFiles: built.shardFiles, store: dirStore(bucketDir) });
});

afterAll(async () => {
  duck.close();
  await rm(root, { recursive: true, force: true });
});

const COLUMNS: CoyoColumn[] = ['id', 'url', 'text', 'width', 'clip_similarity_vitb32', 'watermark_score'];
const TYPES = "{id: 'BIGINT', url: 'VARCHAR', text: 'VARCHAR', width: 'INTEGER', clip_similarity_vitb32: 'FLOAT', watermark_score: 'FLOAT'}";
const PREDICATES: Predicate[] = [
  { column: 'clip_similarity_vitb32', min: 0.3 },
  { column: 'watermark_score', max: 0.5 },
];
const WHERE = 'clip_similarity_vitb32 >= CAST(0.3 AS FLOAT) AND watermark_score <= CAST(0.5 AS FLOAT)';

/** Exports in budgeted responses, one file per response; returns the files. */
async function exportFiles(format: ExportFormat, maxReads: number): Promise<string[]> {
  const dataset = await CoyoDataset.open({ bucket: new CountingBucket(fileBucket(bucketDir)), memory: new CoyoMemory() });
  const files: string[] = [];
  let cursor: string | null = null;
  do {
    const plan = await dataset.planExport({ predicates: PREDICATES, columns: COLUMNS, maxReads, maxRowsScanned: 1e9, ...(cursor === null ? {} : { cursor }) });
    const file = join(root, `export-${format}-${String(files.length)}.${format}`);
    await writeFile(file, new Uint8Array(await new Response(exportBody(dataset, plan, format)).arrayBuffer()));
    files.push(file);
    cursor = plan.next_cursor;
  } while (cursor !== null);
  return files;
}

function reader(format: ExportFormat, files: readonly string[]): string {
  const list = `[${files.map((f) => `'${f}'`).join(', ')}]`;
  if (format === 'parquet') return `read_parquet(${list})`;
  if (format === 'csv') return `read_csv(${list}, header = true, quote = '"', escape = '"', allow_quoted_nulls = false, columns = ${TYPES})`;
  return `read_json(${list}, format = 'newline_delimited', columns = ${TYPES})`;
}

describe('the export, read back by DuckDB', () => {
  it.each(['jsonl', 'csv', 'parquet'] as const)('holds exactly the rows and values of the same query in DuckDB (%s)', async (format) => {
    const files = await exportFiles(format, 2);
    expect(files.length).toBeGreaterThan(2);
    const source = `SELECT ${COLUMNS.join(', ')} FROM read_parquet('${input}') WHERE ${WHERE}`;
    const exported = `SELECT ${COLUMNS.join(', ')} FROM ${reader(format, files)}`;
    const [counts] = await duck.all(
      `SELECT (SELECT count(*) FROM (${source})) AS expected, (SELECT count(*) FROM (${exported})) AS got,
              (SELECT count(*) FROM (${source} EXCEPT ALL ${exported})) AS missing,
              (SELECT count(*) FROM (${exported} EXCEPT ALL ${source})) AS extra,
              (SELECT count(*) FROM (${exported}) WHERE text = '') AS empty_texts,
              (SELECT count(*) FROM (${exported}) WHERE text IS NULL) AS null_texts,
              (SELECT count(*) FROM (${exported}) WHERE text LIKE '%"hi",%') AS quoted_texts`,
    );
    const n = (key: string) => toSafeNumber(counts?.[key], key);
    expect(n('expected')).toBeGreaterThan(500);
    expect({ got: n('got'), missing: n('missing'), extra: n('extra') }).toEqual({ got: n('expected'), missing: 0, extra: 0 });
    expect([n('empty_texts'), n('null_texts'), n('quoted_texts')].every((k) => k > 0)).toBe(true);
    // In id order, with no row twice across the responses.
    const ids = (await duck.all(`SELECT id FROM (${exported})`)).map((r) => toSafeNumber(r['id'], 'id'));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
