/**
 * How a layout-3 shard is written, declared beside the reader that depends on it: the parquet schema
 * and codec (fixed, so a reader rebuilds a row group's metadata without the footer), row groups cut by
 * size so one holds about 32 KB of all 17 columns, and the look-up index placed between the last row
 * group and the footer. Parquet readers ignore those bytes (every offset they follow comes from the
 * footer), so a shard stays a plain parquet file for DuckDB and everything else.
 */
import {
  columnSpec,
  encodeLookupIndex,
  NUMERIC_COLUMNS,
  STORAGE_ORDER,
  type CoyoColumn,
  type CoyoLogicalType,
} from '@coyo/coyo-schema';
import { parquetMetadata, type CompressionCodec, type DecodedArray, type FileMetaData, type SchemaElement } from 'hyparquet';
import { parquetWriteBuffer, schemaFromColumnData, type ColumnSource } from 'hyparquet-writer';
import { lookupIndexFromMetadata } from './shard-index';

/** Compression of every column chunk of a layout-3 shard. */
export const SHARD_CODEC: CompressionCodec = 'SNAPPY';

/** hyparquet-writer's type for each logical type (strings as UTF-8 BYTE_ARRAY). */
const BASIC_TYPE = { int64: 'INT64', int32: 'INT32', float32: 'FLOAT', string: 'STRING' } as const satisfies Record<CoyoLogicalType, string>;

function sources(data: (column: CoyoColumn) => DecodedArray): ColumnSource[] {
  const numeric = new Set<string>(NUMERIC_COLUMNS);
  return STORAGE_ORDER.map((name) => ({
    name,
    data: data(name),
    type: BASIC_TYPE[columnSpec(name).type],
    // Every column OPTIONAL, as DuckDB writes them: one schema for every layout.
    nullable: true,
    // Numeric statistics prune filters; string min/max would only fatten the footer.
    statistics: numeric.has(name),
    offsetIndex: false,
  }));
}

/** The parquet schema of a layout-3 shard, in storage order. */
export const SHARD_SCHEMA: readonly SchemaElement[] = Object.freeze(schemaFromColumnData({ columnData: sources(() => []) }));

/** Rows per row group at most (layout 3): a bound for rows of very short strings. */
export const DEFAULT_GROUP_ROWS = 1024;
/**
 * Largest row group a layout-3 shard holds, in bytes of its 17 column chunks. A look-up reads one
 * whole row group, so this bounds its R2 bytes: about 220 rows of the sample (140 B a row in these
 * small groups).
 */
export const DEFAULT_GROUP_BYTES = 32_768;
/** Row groups are cut to this share of the limit, so the spread between groups stays under it. */
const GROUP_FILL = 0.9;
/** First guess of snappy's ratio on COYO rows (compressed / plain); each shard corrects the next. */
const FIRST_RATIO = 0.6;

/** Plain-encoded bytes of each numeric value (ids 8, the rest 4), plus 4-byte length prefixes per string. */
function fixedRowBytes(): number {
  let n = 0;
  for (const column of STORAGE_ORDER) {
    const type = columnSpec(column).type;
    n += type === 'int64' ? 8 : 4;
  }
  return n;
}

const utf8 = new TextEncoder();

function stringBytes(value: unknown): number {
  if (typeof value !== 'string') return 0;
  // ASCII (almost every URL) is one byte a character; only measure the others.
  return /^[\x00-\x7f]*$/.test(value) ? value.length : utf8.encode(value).byteLength;
}

/**
 * Row counts of consecutive row groups: each as many rows as fit `targetBytes` of plain-encoded data
 * (numbers plus string bytes; snappy only makes a chunk smaller) and at most `maxRows`, at least one.
 */
export function groupSizes(columns: Readonly<Record<CoyoColumn, DecodedArray>>, rows: number, maxRows: number, targetBytes: number): number[] {
  const fixed = fixedRowBytes();
  const strings = STORAGE_ORDER.filter((c) => columnSpec(c).type === 'string').map((c) => columns[c]);
  const sizes: number[] = [];
  let count = 0;
  let bytes = 0;
  for (let i = 0; i < rows; i++) {
    let row = fixed;
    for (const column of strings) row += stringBytes(column[i]);
    if (count > 0 && (count === maxRows || bytes + row > targetBytes)) {
      sizes.push(count);
      count = 0;
      bytes = 0;
    }
    count += 1;
    bytes += row;
  }
  if (count > 0) sizes.push(count);
  return sizes;
}

export interface ShardBytes {
  /** The whole shard file: row groups, look-up index, footer. */
  readonly bytes: Uint8Array;
  /** Length of the look-up index (the manifest's `index_bytes`). */
  readonly indexBytes: number;
  /** Length of the footer with its 8 trailing bytes (the manifest's `footer_bytes`). */
  readonly footerBytes: number;
  readonly rowGroups: number;
  /** Bytes of the largest row group's chunks (at most `groupBytes`). */
  readonly largestGroupBytes: number;
  /** Plain-encoded bytes per row group that fit `groupBytes` here: pass it to the next shard's `plainBytes`. */
  readonly plainBytes: number;
}

export interface EncodeShardOptions {
  /** Shard rows, one array per column, sorted by id. */
  readonly columns: Readonly<Record<CoyoColumn, DecodedArray>>;
  readonly rows: number;
  readonly maxGroupRows?: number;
  /** Largest row group allowed, in compressed bytes of its chunks (default {@link DEFAULT_GROUP_BYTES}). */
  readonly groupBytes?: number;
  /** Plain-encoded bytes to cut row groups at first (default: a guess of snappy's ratio); corrected until `groupBytes` holds. */
  readonly plainBytes?: number;
  /** Names the shard in errors. */
  readonly key: string;
}

function largestGroup(metadata: FileMetaData): number {
  let largest = 0;
  for (const group of metadata.row_groups) {
    let bytes = 0;
    for (const chunk of group.columns) bytes += Number(chunk.meta_data?.total_compressed_size ?? 0);
    largest = Math.max(largest, bytes);
  }
  return largest;
}

/**
 * Writes one layout-3 shard: small row groups, then the look-up index, then the parquet footer. Row
 * groups are cut by plain-encoded size, and cut again smaller while the largest compresses to more
 * than `groupBytes` (a single row larger than that stays a group of its own).
 */
export function encodeShard({
  columns,
  rows,
  maxGroupRows = DEFAULT_GROUP_ROWS,
  groupBytes = DEFAULT_GROUP_BYTES,
  plainBytes = Math.round((groupBytes * GROUP_FILL) / FIRST_RATIO),
  key,
}: EncodeShardOptions): ShardBytes {
  for (const column of STORAGE_ORDER) {
    if (columns[column].length !== rows) throw new Error(`bug: column ${column} has ${columns[column].length} values for ${rows} rows`);
  }
  let plain = plainBytes;
  for (let attempt = 0; ; attempt++) {
    const sizes = groupSizes(columns, rows, maxGroupRows, plain);
    const parquet = parquetWriteBuffer({ columnData: sources((c) => columns[c]), codec: SHARD_CODEC, rowGroupSize: sizes });
    const metadata = parquetMetadata(parquet);
    const largest = largestGroup(metadata);
    const singleRows = sizes.every((n) => n === 1);
    if (largest > groupBytes && !singleRows && attempt < 8) {
      plain = Math.max(1, Math.floor((plain * groupBytes * GROUP_FILL) / largest));
      continue;
    }
    const file = new Uint8Array(parquet);
    const footerBytes = new DataView(parquet).getUint32(file.byteLength - 8, true) + 8;
    const dataEnd = file.byteLength - footerBytes;
    const index = encodeLookupIndex(lookupIndexFromMetadata(key, metadata));
    const bytes = new Uint8Array(file.byteLength + index.byteLength);
    bytes.set(file.subarray(0, dataEnd), 0);
    bytes.set(index, dataEnd);
    bytes.set(file.subarray(dataEnd), dataEnd + index.byteLength);
    return {
      bytes,
      indexBytes: index.byteLength,
      footerBytes,
      rowGroups: metadata.row_groups.length,
      largestGroupBytes: largest,
      plainBytes: largest === 0 ? plain : Math.max(1, Math.floor((plain * groupBytes * GROUP_FILL) / largest)),
    };
  }
}
