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
  LOOKUP_INDEX_FORMAT_VERSION,
  LOOKUP_INDEX_HEADER_BYTES,
  LookupIndexError,
  decodeLookupIndex,
  encodeLookupIndex,
  lookupIndexBytes,
} from './manifest.js';
export type { ColumnRange, ColumnRanges, FormatVersion, LookupIndex, Manifest, Pointer, RangesOfManifest, Shard } from './manifest.js';
