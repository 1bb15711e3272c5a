/**
 * The COYO-700M columns as the edge reader sees them. Names, order, logical types and nullability
 * come from `@coyo/coyo-schema`; the parquet physical type of each logical type is the reader's own
 * concern. The shards store the same 17 columns in another order (see `docs/coyo-storage.md`);
 * responses always use the dataset's own order.
 */
import { COYO_COLUMNS, columnSpec, type CoyoColumn, type CoyoLogicalType, type NullableRowOf } from '@coyo/coyo-schema';

/** The parquet physical types a shard may use. */
export type ParquetPhysicalType = 'INT64' | 'INT32' | 'FLOAT' | 'BYTE_ARRAY';

/** How each logical type is stored in a shard (strings as UTF-8 BYTE_ARRAY), as DuckDB writes it. */
export const PARQUET_PHYSICAL_TYPES: Readonly<Record<CoyoLogicalType, ParquetPhysicalType>> = {
  int64: 'INT64',
  int32: 'INT32',
  float32: 'FLOAT',
  string: 'BYTE_ARRAY',
};

/** The parquet type `column` must have in a shard; any other means a shard this reader cannot serve. */
export function parquetType(column: CoyoColumn): ParquetPhysicalType {
  return PARQUET_PHYSICAL_TYPES[columnSpec(column).type];
}

/**
 * One COYO row as the API returns it; a `columns` projection leaves out the rest; null is a NULL in
 * the source, allowed in every column `@coyo/coyo-schema` declares nullable (all but `id`). Ids are
 * JSON numbers (every COYO id is below 2^53).
 */
export type CoyoRecord = NullableRowOf<number>;

export type PartialRecord = Partial<CoyoRecord>;

/** Puts a column list in the dataset's order, without duplicates. */
export function canonicalColumns(columns: Iterable<CoyoColumn>): CoyoColumn[] {
  const wanted = new Set(columns);
  return COYO_COLUMNS.filter((c) => wanted.has(c));
}
