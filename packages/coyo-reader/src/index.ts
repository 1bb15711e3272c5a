/**
 * The COYO-700M edge reader: rows straight from the published parquet shards in an R2-like bucket
 * (pointer → manifest → shard footer → one row-group range read), numeric filters that skip row groups
 * by their statistics, and the isolate and edge caches that make a warm look-up one read. The layout it
 * reads is declared in `@coyo/coyo-schema`; the ingest writes it.
 */
export { CountingBucket, MissingObjectError, readRange, type RangeReadBucket, type RangeReadOptions, type ReadStats } from './bucket';
export {
  CoyoDataset,
  CoyoMemory,
  DatasetUnavailableError,
  DEFAULT_POINTER_TTL_MS,
  isolateMemory,
  servedValue,
  ShardDataError,
  type CoyoIo,
  type CoyoMemoryOptions,
  type ExportPlan,
  type ExportRequest,
  type ExportStep,
  type FilterRequest,
  type FilterResult,
  type PositionedRow,
} from './dataset';
export {
  csvField,
  csvRecord,
  EXPORT_CONTENT_TYPES,
  EXPORT_FORMATS,
  exportBody,
  type ExportBodyOptions,
  type ExportFormat,
} from './export';
export { cacheApiEdgeCache, type CacheLike, type EdgeCache } from './edge-cache';
export {
  CursorError,
  decodeCursor,
  encodeCursor,
  matchesPredicate,
  predicateFingerprint,
  predicateValue,
  rangeMayMatch,
  recordedRangeMayMatch,
  sqlBound,
  sqlPredicate,
  type Cursor,
  type Predicate,
} from './filter';
export { ReadableManifestSchema, ReadablePointerSchema, SUPPORTED_FORMAT_VERSIONS } from './manifest';
export { canonicalColumns, PARQUET_PHYSICAL_TYPES, parquetType, type CoyoRecord, type ParquetPhysicalType, type PartialRecord } from './schema';
export {
  chunkRange,
  findGroup,
  groupCount,
  groupMetadata,
  groupOfRow,
  groupSpan,
  indexFromLookupIndex,
  indexShard,
  lookupIndexFromMetadata,
  ShardSchemaError,
  statisticsRange,
  type ShardIndex,
} from './shard-index';
export {
  DEFAULT_GROUP_BYTES,
  DEFAULT_GROUP_ROWS,
  encodeShard,
  groupSizes,
  SHARD_CODEC,
  SHARD_SCHEMA,
  type EncodeShardOptions,
  type ShardBytes,
} from './layout';
export {
  CoyoProvenance,
  IndexUnavailableError,
  MAX_PHASH_PROBE_BYTES,
  MAX_URL_ROWS,
  type ByDomainResult,
  type ByPhashResult,
  type ByUrlResult,
  type PhashMatch,
} from './indexes/provenance';
export { directoryCached, loadDirectory, scanTable, ScanBudgetError, type ScanOptions, type TableDirectory, type TableRecord } from './indexes/table';
