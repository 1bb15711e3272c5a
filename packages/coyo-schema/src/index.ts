/**
 * `@coyo/coyo-schema`: the COYO-700M columns, declared once for the ingest (DuckDB) and the edge
 * reader (parquet). Each package maps the logical types to its own storage types.
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
