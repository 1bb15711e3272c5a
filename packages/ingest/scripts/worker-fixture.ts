/**
 * The worker's test fixture (packages/worker/test/fixtures/coyo-bucket.json): a small published
 * version (pointer, manifest, three shards) that the worker's tests load into their R2 binding.
 *
 * DuckDB cuts row groups on whole 2048-row vectors, so shards of a few hundred rows would hold one
 * row group each. To exercise row-group pruning in a fixture under 300 KB, these shards are written
 * with hyparquet-writer in 50-row groups, in the same column order and types as the ingest's shards.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { assembleManifest, describeShard } from '../src/build.js';
import { Duck } from '../src/duck.js';
import { POINTER_KEY, manifestKey, shardKey, type Pointer, type Shard } from '../src/manifest.js';
import { generateRows, type CoyoRow } from '../src/sample.js';
import { STORAGE_ORDER, columnType } from '../src/schema.js';

export const FIXTURE_PATH = resolve(import.meta.dirname, '../../worker/test/fixtures/coyo-bucket.json');

const ROWS = 1000;
const SHARDS = 3;
const ROW_GROUP_SIZE = 50;
const SEED = 20240601;
const VERSION = 'fixture-1';
const TIMESTAMP = '2024-06-01T00:00:00.000Z';

const BASIC_TYPE = { BIGINT: 'INT64', INTEGER: 'INT32', FLOAT: 'FLOAT', VARCHAR: 'STRING' } as const;

function shardBytes(rows: readonly CoyoRow[]): Uint8Array {
  const buffer = parquetWriteBuffer({
    columnData: STORAGE_ORDER.map((name) => ({
      name,
      type: BASIC_TYPE[columnType(name)],
      nullable: false,
      data: rows.map((r) => r[name]) as never,
    })),
    rowGroupSize: ROW_GROUP_SIZE,
    statisticsTruncateLength: 16,
    createdBy: 'coyo-edge fixture',
  });
  return new Uint8Array(buffer);
}

/** Builds the fixture file's text; deterministic, so a test can check the committed copy. */
export async function workerFixture(): Promise<{ text: string; rowGroups: number[] }> {
  const rows = generateRows(ROWS, SEED).sort((a, b) => (a.id < b.id ? -1 : 1));
  const per = Math.ceil(rows.length / SHARDS);
  const tmp = await mkdtemp(join(tmpdir(), 'coyo-fixture-'));
  const duck = await Duck.open();
  try {
    const objects: Record<string, string> = {};
    const shards: Shard[] = [];
    for (let s = 0; s < SHARDS; s++) {
      const bytes = shardBytes(rows.slice(s * per, (s + 1) * per));
      const file = join(tmp, `shard-${s}.parquet`);
      await writeFile(file, bytes);
      const key = shardKey(VERSION, s);
      shards.push(await describeShard(duck, file, key));
      objects[key] = Buffer.from(bytes).toString('base64');
    }
    const manifest = { ...assembleManifest(VERSION, shards, ROW_GROUP_SIZE), created_at: TIMESTAMP };
    const pointer: Pointer = {
      format_version: manifest.format_version,
      version: VERSION,
      manifest_key: manifestKey(VERSION),
      published_at: TIMESTAMP,
    };
    objects[manifestKey(VERSION)] = Buffer.from(`${JSON.stringify(manifest)}\n`).toString('base64');
    objects[POINTER_KEY] = Buffer.from(`${JSON.stringify(pointer)}\n`).toString('base64');
    const text = `${JSON.stringify({ generated_by: 'pnpm --filter @coyo/ingest gen:fixture', version: VERSION, rows: ROWS, objects }, null, 1)}\n`;
    return { text, rowGroups: manifest.shards.map((x) => x.row_groups) };
  } finally {
    duck.close();
    await rm(tmp, { recursive: true, force: true });
  }
}
