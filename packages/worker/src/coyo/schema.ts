/**
 * The COYO-700M columns as the API serves them. The shards store the same 17 columns in another
 * order (see `docs/coyo-storage.md`); responses always use this, the dataset's own, order.
 */

export const COYO_COLUMNS = [
  'id',
  'url',
  'text',
  'width',
  'height',
  'image_phash',
  'text_length',
  'word_count',
  'num_tokens_bert',
  'num_tokens_gpt',
  'num_faces',
  'clip_similarity_vitb32',
  'clip_similarity_vitl14',
  'nsfw_score_opennsfw2',
  'nsfw_score_gantman',
  'watermark_score',
  'aesthetic_score_laion_v2',
] as const;

export type CoyoColumn = (typeof COYO_COLUMNS)[number];

/** Integer columns (id is int64, the rest int32). */
export const INTEGER_COLUMNS = [
  'id',
  'width',
  'height',
  'text_length',
  'word_count',
  'num_tokens_bert',
  'num_tokens_gpt',
  'num_faces',
] as const satisfies readonly CoyoColumn[];

/** float32 columns. */
export const FLOAT_COLUMNS = [
  'clip_similarity_vitb32',
  'clip_similarity_vitl14',
  'nsfw_score_opennsfw2',
  'nsfw_score_gantman',
  'watermark_score',
  'aesthetic_score_laion_v2',
] as const satisfies readonly CoyoColumn[];

/** Every column a filter can put a min/max predicate on. */
export const NUMERIC_COLUMNS: readonly NumericColumn[] = [...INTEGER_COLUMNS, ...FLOAT_COLUMNS];
export type NumericColumn = (typeof INTEGER_COLUMNS)[number] | (typeof FLOAT_COLUMNS)[number];

/** The parquet type each column must have in a shard. */
export const PARQUET_TYPES: Readonly<Record<CoyoColumn, 'INT64' | 'INT32' | 'FLOAT' | 'BYTE_ARRAY'>> = {
  id: 'INT64',
  url: 'BYTE_ARRAY',
  text: 'BYTE_ARRAY',
  width: 'INT32',
  height: 'INT32',
  image_phash: 'BYTE_ARRAY',
  text_length: 'INT32',
  word_count: 'INT32',
  num_tokens_bert: 'INT32',
  num_tokens_gpt: 'INT32',
  num_faces: 'INT32',
  clip_similarity_vitb32: 'FLOAT',
  clip_similarity_vitl14: 'FLOAT',
  nsfw_score_opennsfw2: 'FLOAT',
  nsfw_score_gantman: 'FLOAT',
  watermark_score: 'FLOAT',
  aesthetic_score_laion_v2: 'FLOAT',
};

/**
 * Ids travel as JSON numbers. int64 ids above 2^53 − 1 would lose precision, so the ingest refuses
 * them and the API rejects larger ids with 400; every COYO id (about 10^12..10^13) fits.
 */
export const MAX_ID = Number.MAX_SAFE_INTEGER;

/** The one column that is never NULL: the ingest refuses a row without an id. */
export type RequiredColumn = 'id';
/** Columns that may hold NULL. */
export type NullableColumn = Exclude<CoyoColumn, RequiredColumn>;

/**
 * Columns a published version may hold NULL in, served as JSON `null`. The ingest
 * (packages/ingest/src/build.ts) refuses NULL ids and NaN/±Infinity scores, and nothing else: a
 * missing score, size, hash, URL or alt text goes through as NULL. So every column but `id` is here.
 */
export const NULLABLE_COLUMNS: readonly NullableColumn[] = COYO_COLUMNS.filter((c): c is NullableColumn => c !== 'id');

const NULLABLE_SET: ReadonlySet<CoyoColumn> = new Set(NULLABLE_COLUMNS);

/** True when a NULL in `column` is data (served as null) rather than a corrupt shard. */
export function isNullableColumn(column: CoyoColumn): column is NullableColumn {
  return NULLABLE_SET.has(column);
}

/** One COYO row as the API returns it; a `columns` projection leaves out the rest; null is a NULL in the source. */
export interface CoyoRecord {
  id: number;
  url: string | null;
  text: string | null;
  width: number | null;
  height: number | null;
  image_phash: string | null;
  text_length: number | null;
  word_count: number | null;
  num_tokens_bert: number | null;
  num_tokens_gpt: number | null;
  num_faces: number | null;
  clip_similarity_vitb32: number | null;
  clip_similarity_vitl14: number | null;
  nsfw_score_opennsfw2: number | null;
  nsfw_score_gantman: number | null;
  watermark_score: number | null;
  aesthetic_score_laion_v2: number | null;
}

export type PartialRecord = Partial<CoyoRecord>;

const COLUMN_SET: ReadonlySet<string> = new Set(COYO_COLUMNS);

export function isCoyoColumn(name: string): name is CoyoColumn {
  return COLUMN_SET.has(name);
}

/** Puts a column list in the dataset's order, without duplicates. */
export function canonicalColumns(columns: Iterable<CoyoColumn>): CoyoColumn[] {
  const wanted = new Set(columns);
  return COYO_COLUMNS.filter((c) => wanted.has(c));
}
