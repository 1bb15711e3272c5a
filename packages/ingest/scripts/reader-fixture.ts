/**
 * The reader's test fixtures (`fixtures/` of `@coyo/coyo-reader`, loaded by `@coyo/coyo-reader/testing`):
 * small published versions (pointer, manifest, three shards) that the reader's and the worker's tests
 * load into an R2 binding or an in-memory bucket. The ingest writes them because they are its output:
 * shards in its column order and types, manifests built by its own code.
 *
 * - `coyo-bucket.json`: 1000 rows without a NULL, in 50-row groups (layout 3, look-up indexes).
 * - `coyo-nulls-bucket.json`: 300 rows in 25-row groups with NULLs in every column the
 *   ingest lets hold one (all but `id`), in the patterns listed at {@link withNulls} (layout 3).
 * - `coyo-null-id-bucket.json`: one 20-row shard whose tenth id is NULL, which the
 *   ingest refuses: what a corrupt shard looks like to the worker. It stays in layout 2 (REQUIRED-free,
 *   no look-up index), so the reader's footer path for older versions stays under test.
 *
 * Layout-3 shards are written by the ingest's own writer (`encodeShard`), cut by row count instead of
 * bytes so a fixture of a few hundred rows still has many row groups to prune; the layout-2 shard is
 * written with hyparquet-writer in the ingest's column order and types; the manifest is built by the ingest's own code, so NULL-only ranges come out as the ingest
 * writes them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encodeShard } from '@coyo/coyo-reader';
import { POINTER_KEY, STORAGE_ORDER, columnSpec, type CoyoColumn, type CoyoLogicalType, type Indexes, type Pointer, type Shard } from '@coyo/coyo-schema';
import type { DecodedArray } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { assembleManifest, describeShard } from '../src/build.js';
import { Duck } from '../src/duck.js';
import { buildIndexes } from '../src/indexes/build.js';
import { manifestKey, shardKey } from '../src/manifest.js';
import { generateRows, type CoyoRow } from '../src/sample.js';

/** The reader package's fixture folder, found through the package (not a path across packages). */
const FIXTURES_DIR = join(dirname(createRequire(import.meta.url).resolve('@coyo/coyo-reader/package.json')), 'fixtures');

export const FIXTURE_PATH = join(FIXTURES_DIR, 'coyo-bucket.json');
export const NULLS_FIXTURE_PATH = join(FIXTURES_DIR, 'coyo-nulls-bucket.json');
export const NULL_ID_FIXTURE_PATH = join(FIXTURES_DIR, 'coyo-null-id-bucket.json');

const TIMESTAMP = '2024-06-01T00:00:00.000Z';

/** hyparquet-writer's type for each logical type: the physical types DuckDB writes for the same columns. */
const BASIC_TYPE = { int64: 'INT64', int32: 'INT32', float32: 'FLOAT', string: 'STRING' } as const satisfies Record<CoyoLogicalType, string>;

/** A row as a fixture stores it: any column may be NULL (the ingest would refuse a NULL id). */
/** Records per block of the fixtures' provenance tables. */
const FIXTURE_INDEX_BLOCK_ENTRIES = 64;

export type FixtureRow = { readonly [K in keyof CoyoRow]: CoyoRow[K] | null };

interface FixtureSpec {
  readonly version: string;
  readonly rows: number;
  readonly shards: number;
  readonly rowGroupSize: number;
  readonly seed: number;
  /** Layout 3 (the ingest's writer, look-up index) or 2 (a plain parquet file, OPTIONAL columns). */
  readonly layout: 2 | 3;
  /** Turns the row at position `i` of the id order into the stored row. */
  readonly shape: (row: CoyoRow, i: number) => FixtureRow;
  /** Whether the version carries provenance tables. */
  readonly indexes?: boolean;
}

const PLAIN: FixtureSpec = {
  version: 'fixture-1',
  rows: 1000,
  shards: 3,
  rowGroupSize: 50,
  seed: 20240601,
  layout: 3,
  shape: (row) => row,
  indexes: true,
};

const NULLS_ROWS = 300;
const NULLS_SHARDS = 3;
const NULLS_ROW_GROUP_SIZE = 25;
const NULLS_SHARD_ROWS = NULLS_ROWS / NULLS_SHARDS;

/** Columns that are NULL in scattered rows of the nulls fixture: column k in the rows i ≡ k (mod 19). */
const SCATTERED = [
  'url',
  'text',
  'width',
  'height',
  'image_phash',
  'text_length',
  'word_count',
  'num_tokens_bert',
  'num_tokens_gpt',
  'clip_similarity_vitb32',
  'clip_similarity_vitl14',
  'nsfw_score_opennsfw2',
] as const satisfies readonly (keyof CoyoRow)[];

/**
 * The NULLs of the nulls fixture, by position `i` in id order (shards of 100 rows, row groups of 25):
 * - `watermark_score`: NULL throughout the last shard (its manifest range is `null`) and in every
 *   fifth row before it;
 * - `num_faces`: NULL throughout the first row group (its footer counts 25 NULLs, no min/max);
 * - `nsfw_score_gantman`: NULL everywhere (the version's range is `null`);
 * - `aesthetic_score_laion_v2`: NULL in every third row;
 * - the {@link SCATTERED} columns, strings included: NULL in one row in 19 each, in different rows.
 */
export function withNulls(row: CoyoRow, i: number): FixtureRow {
  const out: Record<string, unknown> = {
    ...row,
    watermark_score: i >= (NULLS_SHARDS - 1) * NULLS_SHARD_ROWS || i % 5 === 0 ? null : row.watermark_score,
    num_faces: i < NULLS_ROW_GROUP_SIZE ? null : row.num_faces,
    nsfw_score_gantman: null,
    aesthetic_score_laion_v2: i % 3 === 1 ? null : row.aesthetic_score_laion_v2,
  };
  SCATTERED.forEach((column, k) => {
    if (i % 19 === k) out[column] = null;
  });
  return out as FixtureRow;
}

const NULLS: FixtureSpec = {
  version: 'fixture-nulls-1',
  rows: NULLS_ROWS,
  shards: NULLS_SHARDS,
  rowGroupSize: NULLS_ROW_GROUP_SIZE,
  seed: 20240602,
  layout: 3,
  shape: withNulls,
};

const NULL_ID: FixtureSpec = {
  version: 'fixture-null-id-1',
  rows: 20,
  shards: 1,
  rowGroupSize: 20,
  seed: 20240603,
  layout: 2,
  // Position 9 is where a binary search over the 20 ids looks first: every look-up meets the NULL.
  shape: (row, i) => (i === 9 ? { ...row, id: null } : row),
};

function shardBytes(rows: readonly FixtureRow[], spec: FixtureSpec, key: string): { bytes: Uint8Array; indexBytes?: number } {
  if (spec.layout === 3) {
    const columns = Object.fromEntries(STORAGE_ORDER.map((name) => [name, rows.map((r) => r[name])])) as unknown as Record<CoyoColumn, DecodedArray>;
    // Cut by rows only (a byte limit no group reaches), so a small fixture still has many row groups.
    const shard = encodeShard({ columns, rows: rows.length, maxGroupRows: spec.rowGroupSize, groupBytes: 1 << 30, key });
    return { bytes: shard.bytes, indexBytes: shard.indexBytes };
  }
  const buffer = parquetWriteBuffer({
    columnData: STORAGE_ORDER.map((name) => ({
      name,
      type: BASIC_TYPE[columnSpec(name).type],
      nullable: true,
      data: rows.map((r) => r[name]) as never,
    })),
    rowGroupSize: spec.rowGroupSize,
    statisticsTruncateLength: 16,
    createdBy: 'coyo-edge fixture',
  });
  return { bytes: new Uint8Array(buffer) };
}

async function buildFixture(spec: FixtureSpec): Promise<{ text: string; rowGroups: number[] }> {
  const rows = generateRows(spec.rows, spec.seed)
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((row, i) => spec.shape(row, i));
  const per = Math.ceil(rows.length / spec.shards);
  const tmp = await mkdtemp(join(tmpdir(), 'coyo-fixture-'));
  const duck = await Duck.open();
  try {
    const objects: Record<string, string> = {};
    const shards: Shard[] = [];
    for (let s = 0; s < spec.shards; s++) {
      const key = shardKey(spec.version, s);
      const { bytes, indexBytes } = shardBytes(rows.slice(s * per, (s + 1) * per), spec, key);
      const file = join(tmp, `shard-${s}.parquet`);
      await writeFile(file, bytes);
      shards.push(await describeShard(duck, file, key, indexBytes));
      objects[key] = Buffer.from(bytes).toString('base64');
    }
    // Provenance tables in 64-record blocks, so look-ups cross blocks; only the plain fixture has them, so
    // the others also stand for versions published before the tables existed.
    let indexes: Indexes | undefined;
    if (spec.indexes === true) {
      const built = buildIndexes(
        rows.map((r) => ({ id: Number(r.id), url: r.url, image_phash: r.image_phash })),
        spec.version,
        FIXTURE_INDEX_BLOCK_ENTRIES,
      );
      for (const [key, bytes] of built.objects) objects[key] = Buffer.from(bytes).toString('base64');
      indexes = built.indexes;
    }
    const manifest = {
      ...assembleManifest(spec.version, shards, spec.rowGroupSize),
      created_at: TIMESTAMP,
      ...(indexes !== undefined ? { indexes } : {}),
    };
    const pointer: Pointer = {
      format_version: manifest.format_version,
      version: spec.version,
      manifest_key: manifestKey(spec.version),
      published_at: TIMESTAMP,
    };
    objects[manifestKey(spec.version)] = Buffer.from(`${JSON.stringify(manifest)}\n`).toString('base64');
    objects[POINTER_KEY] = Buffer.from(`${JSON.stringify(pointer)}\n`).toString('base64');
    const text = `${JSON.stringify({ generated_by: 'pnpm --filter @coyo/ingest gen:fixture', version: spec.version, rows: spec.rows, objects }, null, 1)}\n`;
    return { text, rowGroups: manifest.shards.map((x) => x.row_groups) };
  } finally {
    duck.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Builds the NULL-free fixture file's text; deterministic, so a test can check the committed copy. */
export function readerFixture(): Promise<{ text: string; rowGroups: number[] }> {
  return buildFixture(PLAIN);
}

/** Builds the fixture with NULLs ({@link withNulls}); deterministic like {@link readerFixture}. */
export function readerNullsFixture(): Promise<{ text: string; rowGroups: number[] }> {
  return buildFixture(NULLS);
}

/** Builds the fixture whose shard holds a NULL id; deterministic like {@link readerFixture}. */
export function readerNullIdFixture(): Promise<{ text: string; rowGroups: number[] }> {
  return buildFixture(NULL_ID);
}

/** Every committed fixture file with its builder: what `gen:fixture` writes and its test checks. */
export const READER_FIXTURES = [
  { path: FIXTURE_PATH, build: readerFixture },
  { path: NULLS_FIXTURE_PATH, build: readerNullsFixture },
  { path: NULL_ID_FIXTURE_PATH, build: readerNullIdFixture },
] as const;
