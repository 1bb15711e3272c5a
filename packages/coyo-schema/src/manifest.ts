/**
 * The objects that describe a published dataset version in the bucket, declared once for their
 * writer (the ingest) and their reader (the edge worker): `current.json`, the pointer that readers
 * follow, and the `manifest.json` it names, which lists the version's shards. Each side composes its
 * own rules on these schemas: the ingest chooses which format version to write, the worker checks
 * that a manifest adds up and accepts only the format versions it can serve. `format_version` changes
 * whenever an older reader could not parse what is written.
 */
import { z } from 'zod';
import { IndexesSchema } from './indexes.js';

/** Key of the pointer to the live version. Every other object of a version lives under its prefix. */
export const POINTER_KEY = 'current.json';

/**
 * Layout 1: every numeric column has a `{min, max}` range. Manifests whose ranges are all known are
 * still written in it, so readers that predate layout 2 keep reading them.
 */
export const BASE_FORMAT_VERSION = 1;
/**
 * Layout 2: a range may be `null`, for a column with no non-NULL value in the shard (or the version).
 * Readers of layout 1 cannot parse it, so only manifests with such a column carry this number.
 */
export const NULL_RANGES_FORMAT_VERSION = 2;
/**
 * Layout 3: small row groups (a look-up reads one of about 32 KB) and, in every shard, a look-up index
 * between the last row group and the parquet footer (`index_bytes` long): row starts, column-chunk byte
 * ranges and numeric min/max per row group, in a fixed binary form that a reader maps without parsing
 * the footer. Ranges may be `null` as in layout 2. Readers of layouts 1 and 2 could read the shards but
 * would fetch footers of megabytes, so they are stopped at the pointer instead.
 */
export const LOOKUP_INDEX_FORMAT_VERSION = 3;
/** Every layout declared here, oldest first. A reader states which of them it serves. */
export const FORMAT_VERSIONS = [BASE_FORMAT_VERSION, NULL_RANGES_FORMAT_VERSION, LOOKUP_INDEX_FORMAT_VERSION] as const;

export const FormatVersionSchema = z.literal(FORMAT_VERSIONS);
export type FormatVersion = z.infer<typeof FormatVersionSchema>;

/** A dataset version names a key prefix: keep it to URL- and path-safe characters. */
export const DatasetVersionSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" or "-", at most 64, not starting with a symbol');

export const ColumnRangeSchema = z.object({ min: z.number(), max: z.number() });
export type ColumnRange = z.infer<typeof ColumnRangeSchema>;

/**
 * Per numeric column: its min/max, or null when the column holds no non-NULL value there (a NULL-only
 * column has no range; layout 2 only). A column left out is unknown, not empty.
 */
export const ColumnRangesSchema = z.record(z.string(), ColumnRangeSchema.nullable());
export type ColumnRanges = z.infer<typeof ColumnRangesSchema>;

export const ShardSchema = z.object({
  key: z.string().min(1),
  rows: z.number().int().positive(),
  bytes: z.number().int().positive(),
  /** Lower-case hex sha256 of the shard's bytes: the ingest skips uploading a shard the bucket already holds. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /**
   * Length of the parquet footer (metadata + 8 trailing bytes), so a reader fetches it in one range
   * read. No parquet metadata is shorter than 4 bytes, hence at least 12.
   */
  footer_bytes: z.number().int().min(12),
  /**
   * Length of the look-up index that ends where the footer starts (layout 3; absent before). Its
   * header alone is {@link LOOKUP_INDEX_HEADER_BYTES} long.
   */
  index_bytes: z.number().int().min(24).optional(),
  row_groups: z.number().int().positive(),
  min_id: z.number().int().nonnegative(),
  max_id: z.number().int().nonnegative(),
  columns: ColumnRangesSchema,
});
export type Shard = z.infer<typeof ShardSchema>;

/** The parts of a manifest that hold ranges: all that {@link hasNullRange} needs. */
export interface RangesOfManifest {
  readonly columns: ColumnRanges;
  readonly shards: readonly { readonly columns: ColumnRanges }[];
}

/** True when a column has no range somewhere in the manifest, which then needs layout 2. */
export function hasNullRange(manifest: RangesOfManifest): boolean {
  const nullIn = (ranges: ColumnRanges): boolean => Object.values(ranges).some((r) => r === null);
  return nullIn(manifest.columns) || manifest.shards.some((s) => nullIn(s.columns));
}

/**
 * A version's `manifest.json`. Refuses a null range under layout 1, which layout-1 readers cannot
 * parse. Readers add their own consistency checks with `.superRefine`.
 */
export const ManifestSchema = z
  .object({
    format_version: FormatVersionSchema,
    dataset: z.string(),
    dataset_version: DatasetVersionSchema,
    created_at: z.string(),
    /** The columns with the ingest's storage types, in the shards' column order. */
    schema: z.array(z.object({ name: z.string(), type: z.string() })),
    total_rows: z.number().int().nonnegative(),
    row_group_size: z.number().int().positive(),
    columns: ColumnRangesSchema,
    shards: z.array(ShardSchema),
    /** The provenance indexes (by URL, domain, pHash) under the version's prefix; absent in versions built without them. */
    indexes: IndexesSchema.optional(),
  })
  .superRefine((m, ctx) => {
    if (m.format_version === BASE_FORMAT_VERSION && hasNullRange(m)) {
      ctx.addIssue({
        code: 'custom',
        path: ['format_version'],
        message: `null ranges need format_version ${NULL_RANGES_FORMAT_VERSION}`,
      });
    }
    const indexed = m.shards.filter((s) => s.index_bytes !== undefined).length;
    const wantIndexed = m.format_version >= LOOKUP_INDEX_FORMAT_VERSION ? m.shards.length : 0;
    if (indexed !== wantIndexed) {
      ctx.addIssue({
        code: 'custom',
        path: ['shards'],
        message: `index_bytes is required in every shard from format_version ${LOOKUP_INDEX_FORMAT_VERSION} and absent before it`,
      });
    }
  });
export type Manifest = z.infer<typeof ManifestSchema>;

/** `current.json`: which version is live, and where its manifest is. */
export const PointerSchema = z.object({
  /** The format_version of the manifest it names, so a reader that cannot parse it stops at the pointer. */
  format_version: FormatVersionSchema,
  version: DatasetVersionSchema,
  manifest_key: z.string().min(1),
  published_at: z.string(),
});
export type Pointer = z.infer<typeof PointerSchema>;

/** Bytes before the arrays of a look-up index: magic, row-group count, column counts, reserved. */
export const LOOKUP_INDEX_HEADER_BYTES = 24;
const LOOKUP_INDEX_MAGIC = 'COYOLIX1';

/**
 * A shard's look-up index (layout 3), decoded: what a reader needs from the footer, without the
 * footer. Columns are numbered as in `STORAGE_ORDER` (chunks) and `NUMERIC_COLUMNS` (ranges).
 *
 * Binary form, little-endian: 8-byte magic `COYOLIX1`, u32 row groups G, u16 columns C, u16 numeric
 * columns N, 8 reserved bytes; then f64 row starts [G + 1]; f64 min [N × G] and f64 max [N × G]
 * (column-major: column n's groups together); u32 chunk start [G × C] and u32 chunk length [G × C]
 * (row-major: group g's chunks together). 32 + 368 × G bytes for the COYO columns. A min/max of NaN
 * means no statistics, +∞/−∞ a chunk whose values are all NULL.
 */
export interface LookupIndex {
  readonly groups: number;
  readonly columns: number;
  readonly numeric: number;
  /** Row offset of each row group in the shard, then the shard's row count. */
  readonly rowStarts: Float64Array;
  /** Per numeric column n and group g, at `n * groups + g`. */
  readonly min: Float64Array;
  readonly max: Float64Array;
  /** Byte range [start, end) of column c's chunk in group g, at `g * columns + c`. */
  readonly chunkStart: Float64Array;
  readonly chunkEnd: Float64Array;
}

/** Size of the binary look-up index of `groups` row groups. */
export function lookupIndexBytes(groups: number, columns: number, numeric: number): number {
  return LOOKUP_INDEX_HEADER_BYTES + 8 * (groups + 1) + 16 * numeric * groups + 8 * columns * groups;
}

/** Encodes a look-up index; chunk offsets must fit 32 bits (shards stay far below 4 GiB). */
export function encodeLookupIndex(index: LookupIndex): Uint8Array {
  const { groups, columns, numeric } = index;
  const bytes = new Uint8Array(lookupIndexBytes(groups, columns, numeric));
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 8; i++) bytes[i] = LOOKUP_INDEX_MAGIC.charCodeAt(i);
  view.setUint32(8, groups, true);
  view.setUint16(12, columns, true);
  view.setUint16(14, numeric, true);
  let at = LOOKUP_INDEX_HEADER_BYTES;
  const f64 = (values: Float64Array, n: number): void => {
    if (values.length !== n) throw new Error(`bug: look-up index array of ${values.length}, expected ${n}`);
    for (const v of values) {
      view.setFloat64(at, v, true);
      at += 8;
    }
  };
  f64(index.rowStarts, groups + 1);
  f64(index.min, numeric * groups);
  f64(index.max, numeric * groups);
  if (index.chunkStart.length !== groups * columns || index.chunkEnd.length !== groups * columns) {
    throw new Error('bug: look-up index chunk arrays do not match its shape');
  }
  for (const start of index.chunkStart) {
    if (!Number.isInteger(start) || start < 0 || start > 0xffffffff) throw new Error(`chunk offset ${start} does not fit the look-up index`);
    view.setUint32(at, start, true);
    at += 4;
  }
  for (let i = 0; i < index.chunkEnd.length; i++) {
    view.setUint32(at, (index.chunkEnd[i] as number) - (index.chunkStart[i] as number), true);
    at += 4;
  }
  return bytes;
}

/** The index is not what layout 3 writes: the shard is corrupt or was not written by the ingest. */
export class LookupIndexError extends Error {
  override readonly name = 'LookupIndexError';
}

/**
 * Decodes a look-up index and checks its shape: the magic, the counts (`columns`, `numeric` as
 * expected), the length, row starts that begin at 0 and never decrease, and chunks that lie inside
 * `[0, dataEnd)`.
 */
export function decodeLookupIndex(buffer: ArrayBuffer, expect: { columns: number; numeric: number; dataEnd: number }): LookupIndex {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (buffer.byteLength < LOOKUP_INDEX_HEADER_BYTES || magic !== LOOKUP_INDEX_MAGIC) throw new LookupIndexError('not a COYO look-up index');
  const groups = view.getUint32(8, true);
  const columns = view.getUint16(12, true);
  const numeric = view.getUint16(14, true);
  if (columns !== expect.columns || numeric !== expect.numeric) {
    throw new LookupIndexError(`look-up index of ${columns} columns (${numeric} numeric), expected ${expect.columns} (${expect.numeric})`);
  }
  if (buffer.byteLength !== lookupIndexBytes(groups, columns, numeric)) {
    throw new LookupIndexError(`look-up index of ${groups} row groups is ${buffer.byteLength} bytes, expected ${lookupIndexBytes(groups, columns, numeric)}`);
  }
  let at = LOOKUP_INDEX_HEADER_BYTES;
  const f64 = (n: number): Float64Array => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++, at += 8) out[i] = view.getFloat64(at, true);
    return out;
  };
  const rowStarts = f64(groups + 1);
  const min = f64(numeric * groups);
  const max = f64(numeric * groups);
  const chunkStart = new Float64Array(groups * columns);
  const chunkEnd = new Float64Array(groups * columns);
  for (let i = 0; i < chunkStart.length; i++, at += 4) chunkStart[i] = view.getUint32(at, true);
  for (let i = 0; i < chunkEnd.length; i++, at += 4) {
    const end = (chunkStart[i] as number) + view.getUint32(at, true);
    if (end > expect.dataEnd) throw new LookupIndexError(`look-up index chunk ${i} ends at ${end}, past the row groups (${expect.dataEnd})`);
    chunkEnd[i] = end;
  }
  if (rowStarts[0] !== 0) throw new LookupIndexError('look-up index row starts do not begin at 0');
  for (let g = 0; g < groups; g++) {
    if ((rowStarts[g + 1] as number) < (rowStarts[g] as number)) throw new LookupIndexError(`look-up index row starts decrease at group ${g}`);
  }
  return { groups, columns, numeric, rowStarts, min, max, chunkStart, chunkEnd };
}
