/**
 * A shard's parquet footer, parsed once and turned into what look-ups and filters need: where each
 * row group starts, its id range, the min/max of every numeric column, and the byte range of each
 * column chunk.
 */
import { parquetMetadata, type FileMetaData, type Statistics } from 'hyparquet';
import { COYO_COLUMNS, NUMERIC_COLUMNS, type CoyoColumn, type NumericColumn } from '@coyo/coyo-schema';
import { parquetType } from './schema';

export interface ShardIndex {
  readonly metadata: FileMetaData;
  /** Row offset of each row group inside the shard, plus the total as the last element. */
  readonly groupStarts: readonly number[];
  /**
   * Per numeric column: min and max of each row group; NaN where the footer has no statistics, and
   * +Infinity..−Infinity (an empty range, which no bound matches) where every value is NULL.
   */
  readonly groupMin: Readonly<Record<NumericColumn, Float64Array>>;
  readonly groupMax: Readonly<Record<NumericColumn, Float64Array>>;
  /** Byte range [start, end) of each column chunk, per row group. */
  readonly chunkRanges: readonly Readonly<Record<CoyoColumn, readonly [number, number]>>[];
}

/** A shard whose footer does not hold the COYO columns with their types. */
export class ShardSchemaError extends Error {
  override readonly name = 'ShardSchemaError';
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

/** Parses a footer (the last `footer_bytes` of a shard) and indexes it; checks the schema on the way. */
export function indexShard(key: string, footer: ArrayBuffer): ShardIndex {
  const metadata = parquetMetadata(footer);
  const types = new Map(metadata.schema.slice(1).map((e) => [e.name, e.type]));
  for (const column of COYO_COLUMNS) {
    const type = types.get(column);
    const expected = parquetType(column);
    if (type !== expected) {
      throw new ShardSchemaError(`${key}: column ${column} is ${type ?? 'missing'}, expected ${expected}`);
    }
  }
  const groups = metadata.row_groups.length;
  const groupStarts: number[] = [0];
  const groupMin = {} as Record<NumericColumn, Float64Array>;
  const groupMax = {} as Record<NumericColumn, Float64Array>;
  for (const c of NUMERIC_COLUMNS) {
    groupMin[c] = new Float64Array(groups).fill(Number.NaN);
    groupMax[c] = new Float64Array(groups).fill(Number.NaN);
  }
  const numeric = new Set<string>(NUMERIC_COLUMNS);
  const chunkRanges: Record<CoyoColumn, readonly [number, number]>[] = [];
  for (const [g, group] of metadata.row_groups.entries()) {
    groupStarts.push((groupStarts[g] ?? 0) + Number(group.num_rows));
    // Filled chunk by chunk; checked complete below.
    const ranges: Partial<Record<CoyoColumn, readonly [number, number]>> = {};
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      const name = meta?.path_in_schema[0];
      if (meta === undefined || name === undefined) continue;
      const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
      const dataStart = Number(meta.data_page_offset);
      const first = Math.min(start, dataStart);
      ranges[name as CoyoColumn] = [first, first + Number(meta.total_compressed_size)];
      if (numeric.has(name)) {
        const [min, max] = statisticsRange(meta.statistics, Number(group.num_rows));
        groupMin[name as NumericColumn][g] = min;
        groupMax[name as NumericColumn][g] = max;
      }
    }
    chunkRanges.push(completeRanges(ranges, key, g));
  }
  return { metadata, groupStarts, groupMin, groupMax, chunkRanges };
}

/** The byte range of every column's chunk in row group `g`; a column without one is a shard this reader cannot serve. */
function completeRanges(
  ranges: Partial<Record<CoyoColumn, readonly [number, number]>>,
  key: string,
  g: number,
): Record<CoyoColumn, readonly [number, number]> {
  const out = {} as Record<CoyoColumn, readonly [number, number]>;
  for (const column of COYO_COLUMNS) {
    const range = ranges[column];
    if (range === undefined) throw new ShardSchemaError(`${key}: row group ${g} has no chunk for ${column}`);
    out[column] = range;
  }
  return out;
}

/** The byte range covering the chunks of `columns` in row group `g`: read in one request. */
export function groupSpan(index: ShardIndex, g: number, columns: readonly CoyoColumn[]): [number, number] {
  const ranges = index.chunkRanges[g];
  if (ranges === undefined) throw new Error(`bug: row group ${g} out of range`);
  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  for (const column of columns) {
    const [s, e] = ranges[column];
    start = Math.min(start, s);
    end = Math.max(end, e);
  }
  return [start, end];
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
