/**
 * What look-ups and filters need to know about a shard, in one shape whatever the layout: where each
 * row group starts, the min/max of every numeric column per row group, and the byte range of every
 * column chunk. Layout 3 shards carry it as a compact binary look-up index ahead of their footer
 * (`@coyo/coyo-schema`); older shards are indexed from their parquet footer. A row group is decoded
 * from one range read with parquet metadata rebuilt from this index for that group alone, so the
 * footer itself is never needed at read time.
 */
import {
  decodeLookupIndex,
  NUMERIC_COLUMNS,
  STORAGE_ORDER,
  type CoyoColumn,
  type LookupIndex,
  type NumericColumn,
} from '@coyo/coyo-schema';
import { parquetMetadata, type CompressionCodec, type FileMetaData, type SchemaElement, type Statistics } from 'hyparquet';
import { SHARD_CODEC, SHARD_SCHEMA } from './layout';
import { parquetType } from './schema';

export interface ShardIndex {
  /** The shard's parquet schema: from its footer, or the one layout 3 always writes. */
  readonly schema: readonly SchemaElement[];
  /** Compression of the column chunks, by `STORAGE_ORDER` position. */
  readonly codecs: readonly CompressionCodec[];
  /** Row offset of each row group inside the shard, plus the total as the last element. */
  readonly groupStarts: Float64Array;
  /**
   * Per numeric column: min and max of each row group; NaN where the footer has no statistics, and
   * +Infinity..−Infinity (an empty range, which no bound matches) where every value is NULL.
   */
  readonly groupMin: Readonly<Record<NumericColumn, Float64Array>>;
  readonly groupMax: Readonly<Record<NumericColumn, Float64Array>>;
  /** Byte range [start, end) of column c (`STORAGE_ORDER` position) in group g, at `g * 17 + c`. */
  readonly chunkStart: Float64Array;
  readonly chunkEnd: Float64Array;
}

/** A shard whose footer or index does not hold the COYO columns with their types. */
export class ShardSchemaError extends Error {
  override readonly name = 'ShardSchemaError';
}

const COLUMNS = STORAGE_ORDER.length;
const STORAGE_POSITION = new Map<string, number>(STORAGE_ORDER.map((c, i) => [c, i]));

function storagePosition(column: CoyoColumn): number {
  const at = STORAGE_POSITION.get(column);
  if (at === undefined) throw new Error(`bug: ${column} has no storage position`);
  return at;
}

function statNumber(value: unknown): number {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return value;
  return Number.NaN;
}

/**
 * A column chunk's [min, max] from its statistics. A chunk whose values are all NULL has no min/max
 * but a null count equal to its rows: it gets the empty range [+∞, −∞], so a filter skips it unread.
 */
export function statisticsRange(stats: Statistics | undefined, rows: number): [number, number] {
  if (rows > 0 && stats?.null_count !== undefined && Number(stats.null_count) === rows) {
    return [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  }
  return [statNumber(stats?.min_value ?? stats?.min), statNumber(stats?.max_value ?? stats?.max)];
}

/**
 * The look-up index of a parsed parquet footer: what the ingest writes into a layout-3 shard, and how
 * older shards are indexed. Throws ShardSchemaError when a COYO column is missing or mistyped.
 */
export function lookupIndexFromMetadata(key: string, metadata: FileMetaData): LookupIndex {
  const types = new Map(metadata.schema.slice(1).map((e) => [e.name, e.type]));
  for (const column of STORAGE_ORDER) {
    const type = types.get(column);
    const expected = parquetType(column);
    if (type !== expected) throw new ShardSchemaError(`${key}: column ${column} is ${type ?? 'missing'}, expected ${expected}`);
  }
  const groups = metadata.row_groups.length;
  const numeric = NUMERIC_COLUMNS.length;
  const numericPosition = new Map<string, number>(NUMERIC_COLUMNS.map((c, i) => [c, i]));
  const rowStarts = new Float64Array(groups + 1);
  const min = new Float64Array(numeric * groups).fill(Number.NaN);
  const max = new Float64Array(numeric * groups).fill(Number.NaN);
  const chunkStart = new Float64Array(groups * COLUMNS).fill(Number.NaN);
  const chunkEnd = new Float64Array(groups * COLUMNS).fill(Number.NaN);
  for (const [g, group] of metadata.row_groups.entries()) {
    const rows = Number(group.num_rows);
    rowStarts[g + 1] = (rowStarts[g] as number) + rows;
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      const name = meta?.path_in_schema[0];
      const c = name === undefined ? undefined : STORAGE_POSITION.get(name);
      if (meta === undefined || c === undefined) continue;
      const first = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
      const start = Math.min(first, Number(meta.data_page_offset));
      chunkStart[g * COLUMNS + c] = start;
      chunkEnd[g * COLUMNS + c] = start + Number(meta.total_compressed_size);
      const n = numericPosition.get(name as string);
      if (n !== undefined) {
        const [lo, hi] = statisticsRange(meta.statistics, rows);
        min[n * groups + g] = lo;
        max[n * groups + g] = hi;
      }
    }
    for (let c = 0; c < COLUMNS; c++) {
      if (Number.isNaN(chunkStart[g * COLUMNS + c])) throw new ShardSchemaError(`${key}: row group ${g} has no chunk for ${STORAGE_ORDER[c]}`);
    }
  }
  return { groups, columns: COLUMNS, numeric, rowStarts, min, max, chunkStart, chunkEnd };
}

function fromLookupIndex(index: LookupIndex, schema: readonly SchemaElement[], codecs: readonly CompressionCodec[]): ShardIndex {
  const groupMin = {} as Record<NumericColumn, Float64Array>;
  const groupMax = {} as Record<NumericColumn, Float64Array>;
  for (const [n, c] of NUMERIC_COLUMNS.entries()) {
    groupMin[c] = index.min.subarray(n * index.groups, (n + 1) * index.groups);
    groupMax[c] = index.max.subarray(n * index.groups, (n + 1) * index.groups);
  }
  return { schema, codecs, groupStarts: index.rowStarts, groupMin, groupMax, chunkStart: index.chunkStart, chunkEnd: index.chunkEnd };
}

/** Indexes a shard from its parquet footer (the last `footer_bytes`): layouts 1 and 2. */
export function indexShard(key: string, footer: ArrayBuffer): ShardIndex {
  const metadata = parquetMetadata(footer);
  const codecs = STORAGE_ORDER.map((column) => {
    const chunk = metadata.row_groups[0]?.columns.find((c) => c.meta_data?.path_in_schema[0] === column);
    return chunk?.meta_data?.codec ?? SHARD_CODEC;
  });
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const name = chunk.meta_data?.path_in_schema[0];
      const c = name === undefined ? undefined : STORAGE_POSITION.get(name);
      if (c !== undefined && chunk.meta_data?.codec !== codecs[c]) throw new ShardSchemaError(`${key}: column ${name} changes compression between row groups`);
    }
  }
  return fromLookupIndex(lookupIndexFromMetadata(key, metadata), metadata.schema, codecs);
}

/**
 * Indexes a layout-3 shard from its look-up index (the `index_bytes` before the footer, which starts
 * at `dataEnd`). Its schema and codec are the ones layout 3 always writes.
 */
export function indexFromLookupIndex(key: string, bytes: ArrayBuffer, dataEnd: number): ShardIndex {
  try {
    const index = decodeLookupIndex(bytes, { columns: COLUMNS, numeric: NUMERIC_COLUMNS.length, dataEnd });
    return fromLookupIndex(index, SHARD_SCHEMA, STORAGE_ORDER.map(() => SHARD_CODEC));
  } catch (err) {
    if (err instanceof Error && err.name === 'LookupIndexError') throw new ShardSchemaError(`${key}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Number of row groups in the shard. */
export function groupCount(index: ShardIndex): number {
  return index.groupStarts.length - 1;
}

/** The byte range of column `column`'s chunk in row group `g`. */
export function chunkRange(index: ShardIndex, g: number, column: CoyoColumn): [number, number] {
  const at = g * COLUMNS + storagePosition(column);
  const start = index.chunkStart[at];
  const end = index.chunkEnd[at];
  if (start === undefined || end === undefined) throw new Error(`bug: row group ${g} out of range`);
  return [start, end];
}

/** The compression of `column`'s chunks in this shard. */
export function chunkCodec(index: ShardIndex, column: CoyoColumn): CompressionCodec {
  return index.codecs[storagePosition(column)] ?? SHARD_CODEC;
}

/** The byte range covering the chunks of `columns` in row group `g`: read in one request. */
export function groupSpan(index: ShardIndex, g: number, columns: readonly CoyoColumn[]): [number, number] {
  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  for (const column of columns) {
    const [s, e] = chunkRange(index, g, column);
    start = Math.min(start, s);
    end = Math.max(end, e);
  }
  return [start, end];
}

/**
 * Parquet metadata for row group `g` alone, holding the chunks of `columns`: enough for hyparquet to
 * decode them from a range read, without the shard's footer.
 */
export function groupMetadata(index: ShardIndex, g: number, columns: readonly CoyoColumn[]): FileMetaData {
  const rows = BigInt((index.groupStarts[g + 1] as number) - (index.groupStarts[g] as number));
  return {
    version: 2,
    schema: [...index.schema],
    num_rows: rows,
    metadata_length: 0,
    row_groups: [
      {
        num_rows: rows,
        total_byte_size: 0n,
        columns: columns.map((column) => {
          const [start, end] = chunkRange(index, g, column);
          return {
            file_offset: BigInt(start),
            meta_data: {
              type: parquetType(column),
              encodings: [],
              path_in_schema: [column],
              codec: index.codecs[storagePosition(column)] ?? SHARD_CODEC,
              num_values: rows,
              total_uncompressed_size: 0n,
              total_compressed_size: BigInt(end - start),
              data_page_offset: BigInt(start),
            },
          };
        }),
      },
    ],
  };
}

/** Index of the row group whose id range holds `id`, or -1 (row groups are sorted by id). */
export function findGroup(index: ShardIndex, id: number): number {
  const min = index.groupMin.id;
  const max = index.groupMax.id;
  let lo = 0;
  let hi = min.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (id < (min[mid] as number)) hi = mid - 1;
    else if (id > (max[mid] as number)) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Index of the row group holding shard row `row`. */
export function groupOfRow(index: ShardIndex, row: number): number {
  const starts = index.groupStarts;
  let lo = 0;
  let hi = starts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
