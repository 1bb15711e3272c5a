/**
 * `@coyo/coyo-schema`: the COYO-700M columns and the published layout (pointer and manifest), declared
 * once for the ingest (DuckDB, the writer) and the edge reader (parquet). Each package maps the logical
 * types to its own storage types and adds its own rules to the manifest schemas.
 */
export {
  COYO_COLUMNS,
  COYO_SCHEMA,
  FLOAT_COLUMNS,
  INTEGER_COLUMNS,
  MAX_ID,
  NULLABLE_COLUMNS,
  NUMERIC_COLUMNS,
  STORAGE_ORDER,
  STRING_COLUMNS,
  columnSpec,
  isCoyoColumn,
  isNullableColumn,
} from './columns.js';
export type {
  ColumnOfType,
  CoyoColumn,
  CoyoColumnSpec,
  CoyoLogicalType,
  CoyoRowOf,
  CoyoValueTypes,
  FloatColumn,
  IntegerColumn,
  LogicalTypeOf,
  NullableColumn,
  NullableRowOf,
  NumericColumn,
  RequiredColumn,
  StringColumn,
} from './columns.js';
export {
  BASE_FORMAT_VERSION,
  ColumnRangeSchema,
  ColumnRangesSchema,
  DatasetVersionSchema,
  FORMAT_VERSIONS,
  FormatVersionSchema,
  ManifestSchema,
  NULL_RANGES_FORMAT_VERSION,
  POINTER_KEY,
  PointerSchema,
  ShardSchema,
  hasNullRange,
} from './manifest.js';
export type { ColumnRange, ColumnRanges, FormatVersion, Manifest, Pointer, RangesOfManifest, Shard } from './manifest.js';
export {
  DIRECTORY_ENTRY_BYTES,
  INDEX_FORMAT_VERSION,
  IndexTableSchema,
  IndexesSchema,
  KEY_ID_COUNT_ENTRY_BYTES,
  KEY_ID_ENTRY_BYTES,
  MAX_PHASH_DISTANCE,
  PHASH_PATTERN,
  PHASH_SUBSTRINGS,
  domainKey,
  hammingDistance,
  hash64,
  indexTableKey,
  normalizeDomain,
  normalizeUrl,
  parsePhash,
  phashBucket,
  phashProbes,
  phashFromTableKey,
  phashHex,
  phashTableKey,
  urlHost,
  urlKey,
} from './indexes.js';
export type { IndexTable, Indexes, PhashProbe } from './indexes.js';
