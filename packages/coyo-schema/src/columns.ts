/**
 * The 17 COYO-700M columns, declared once. The ingest derives its DuckDB types from this table and
 * the edge reader its parquet physical types, so the two agree by construction on names, order,
 * types and which columns may be NULL. Storage engines are each package's concern; only logical
 * types live here.
 */

/** A column's value type, independent of DuckDB or parquet. */
export type CoyoLogicalType = 'int64' | 'int32' | 'float32' | 'string';

/** One column of the dataset. */
export interface CoyoColumnSpec {
  readonly name: string;
  readonly type: CoyoLogicalType;
  /** Whether a published version may hold NULL here (the API serves it as `null`). */
  readonly nullable: boolean;
  /** What a value means, after the dataset card. */
  readonly meaning: string;
}

/**
 * The columns in the order of the published parquet files, which is also the order of every API
 * response. Nullability follows the ingest's rules: it refuses a row without an `id` and NaN or
 * ±Infinity in the float columns, and nothing else, so a missing score, size, hash, URL or alt text
 * is published as NULL. Hence every column but `id` is nullable.
 */
export const COYO_SCHEMA = deepFreeze([
  { name: 'id', type: 'int64', nullable: false, meaning: 'unique id of the image-text pair' },
  { name: 'url', type: 'string', nullable: true, meaning: 'image URL' },
  { name: 'text', type: 'string', nullable: true, meaning: 'alt-text of the image' },
  { name: 'width', type: 'int32', nullable: true, meaning: 'image width in pixels' },
  { name: 'height', type: 'int32', nullable: true, meaning: 'image height in pixels' },
  { name: 'image_phash', type: 'string', nullable: true, meaning: '64-bit perceptual hash of the image, 16 hex chars' },
  { name: 'text_length', type: 'int32', nullable: true, meaning: 'length of the alt-text in characters' },
  { name: 'word_count', type: 'int32', nullable: true, meaning: 'words in the alt-text' },
  { name: 'num_tokens_bert', type: 'int32', nullable: true, meaning: 'BERT tokens in the alt-text' },
  { name: 'num_tokens_gpt', type: 'int32', nullable: true, meaning: 'GPT tokens in the alt-text' },
  { name: 'num_faces', type: 'int32', nullable: true, meaning: 'faces detected in the image' },
  { name: 'clip_similarity_vitb32', type: 'float32', nullable: true, meaning: 'CLIP ViT-B/32 image-text cosine similarity' },
  { name: 'clip_similarity_vitl14', type: 'float32', nullable: true, meaning: 'CLIP ViT-L/14 image-text cosine similarity' },
  { name: 'nsfw_score_opennsfw2', type: 'float32', nullable: true, meaning: 'NSFW score of OpenNSFW2, 0..1' },
  { name: 'nsfw_score_gantman', type: 'float32', nullable: true, meaning: "NSFW score of GantMan's NSFW model, 0..1" },
  { name: 'watermark_score', type: 'float32', nullable: true, meaning: 'watermark probability, 0..1' },
  { name: 'aesthetic_score_laion_v2', type: 'float32', nullable: true, meaning: 'LAION aesthetic predictor v2, about 1..10' },
] as const satisfies readonly CoyoColumnSpec[]);

type Spec = (typeof COYO_SCHEMA)[number];

/** The name of a COYO column. */
export type CoyoColumn = Spec['name'];
/** The columns whose logical type is one of `T`. */
export type ColumnOfType<T extends CoyoLogicalType> = Extract<Spec, { readonly type: T }>['name'];
/** int64 (`id`) and int32 columns. */
export type IntegerColumn = ColumnOfType<'int64' | 'int32'>;
/** float32 columns. */
export type FloatColumn = ColumnOfType<'float32'>;
/** string columns. */
export type StringColumn = ColumnOfType<'string'>;
/** Columns with an order: min/max statistics, manifest ranges and filter bounds exist for these. */
export type NumericColumn = IntegerColumn | FloatColumn;
/** Columns a published version may hold NULL in. */
export type NullableColumn = Extract<Spec, { readonly nullable: true }>['name'];
/** Columns that are never NULL (`id`: the ingest refuses a row without one). */
export type RequiredColumn = Exclude<CoyoColumn, NullableColumn>;
/** The logical type of column `C`. */
export type LogicalTypeOf<C extends CoyoColumn> = Extract<Spec, { readonly name: C }>['type'];

/** Column names in the dataset's order (the order of API responses). */
export const COYO_COLUMNS: readonly CoyoColumn[] = Object.freeze(COYO_SCHEMA.map((c) => c.name));

/** Integer columns in the dataset's order (`id` is int64, the rest int32). */
export const INTEGER_COLUMNS: readonly IntegerColumn[] = namesWhere(ofType('int64', 'int32'));

/** float32 columns in the dataset's order: the only ones that can hold NaN or ±Infinity. */
export const FLOAT_COLUMNS: readonly FloatColumn[] = namesWhere(ofType('float32'));

/** String columns in the dataset's order. */
export const STRING_COLUMNS: readonly StringColumn[] = namesWhere(ofType('string'));

/**
 * Numeric columns in the dataset's order: the ones with min/max statistics worth keeping in the
 * manifest, and the ones a filter can bound.
 */
export const NUMERIC_COLUMNS: readonly NumericColumn[] = namesWhere(ofType('int64', 'int32', 'float32'));

/** Columns that may hold NULL, in the dataset's order: every column but `id`. */
export const NULLABLE_COLUMNS: readonly NullableColumn[] = namesWhere((c): c is Extract<Spec, { readonly nullable: true }> => c.nullable);

const STORAGE = [
  'id',
  'width',
  'height',
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
  'image_phash',
  'url',
  'text',
] as const satisfies readonly CoyoColumn[];

// Fails to compile when a column is added to COYO_SCHEMA but not given a place in the shards.
const _storageHasEveryColumn: [Exclude<CoyoColumn, (typeof STORAGE)[number]>] extends [never] ? true : never = true;

/**
 * Column order inside the shards: the id first, then every other numeric column, then the strings,
 * shortest first. A filter reads the id and its predicate columns of a row group as one contiguous
 * byte range, without the URLs and alt texts that make up most of the bytes.
 */
export const STORAGE_ORDER: readonly CoyoColumn[] = Object.freeze([...STORAGE]);

/**
 * Largest id the API can return as a JSON number without losing precision (2^53 − 1). COYO ids are
 * about 10^12..10^13, far below it; the ingest refuses any id outside [0, MAX_ID] and the API answers
 * 400 for a larger one.
 */
export const MAX_ID = Number.MAX_SAFE_INTEGER;

const SPEC_BY_NAME: ReadonlyMap<string, Spec> = new Map(COYO_SCHEMA.map((c) => [c.name, c]));
const NULLABLE_SET: ReadonlySet<string> = new Set(NULLABLE_COLUMNS);

/** Narrows an untrusted name (a query parameter, a file's column) to a COYO column. */
export function isCoyoColumn(name: string): name is CoyoColumn {
  return SPEC_BY_NAME.has(name);
}

/** True when a NULL in `column` is data (served as null) rather than a corrupt shard. */
export function isNullableColumn(column: CoyoColumn): column is NullableColumn {
  return NULLABLE_SET.has(column);
}

/** The declaration of a column; each storage engine maps its `type` to its own. */
export function columnSpec(column: CoyoColumn): CoyoColumnSpec {
  const spec = SPEC_BY_NAME.get(column);
  if (spec === undefined) throw new Error(`bug: ${column} is not a COYO column`);
  return spec;
}

/** The JavaScript value of each logical type; int64 is a parameter (readers give bigint, the API number). */
export interface CoyoValueTypes<Int64 extends bigint | number> {
  int64: Int64;
  int32: number;
  float32: number;
  string: string;
}

/** A complete row with a value in every column, as the sample generator writes it. */
export type CoyoRowOf<Int64 extends bigint | number> = {
  [S in Spec as S['name']]: CoyoValueTypes<Int64>[S['type']];
};

/** The row the COYO-700M dataset card publishes, every column (the one real row of the synthetic sample). */
export const DATASET_CARD_ROW: Readonly<CoyoRowOf<number>> = Object.freeze({
  id: 2680060225205,
  url: 'https://cdn.shopify.com/s/files/1/0286/3900/2698/products/TVN_Huile-olive-infuse-et-s-227x300_e9a90ffd-b6d2-4118-95a1-29a5c7a05a49_800x.jpg?v=1616684087',
  text: 'Olive oil infused with Tuscany herbs',
  width: 227,
  height: 300,
  image_phash: '9f91e133b1924e4e',
  text_length: 36,
  word_count: 6,
  num_tokens_bert: 6,
  num_tokens_gpt: 9,
  num_faces: 0,
  clip_similarity_vitb32: 0.19921875,
  clip_similarity_vitl14: 0.147216796875,
  nsfw_score_opennsfw2: 0.0058441162109375,
  nsfw_score_gantman: 0.018961310386657715,
  watermark_score: 0.11015450954437256,
  aesthetic_score_laion_v2: 4.871710777282715,
});

/** A row as a published version may hold it: `null` allowed exactly in the nullable columns. */
export type NullableRowOf<Int64 extends bigint | number> = {
  [S in Spec as S['name']]: CoyoValueTypes<Int64>[S['type']] | (S['nullable'] extends true ? null : never);
};

function ofType<T extends CoyoLogicalType>(...types: T[]): (c: Spec) => c is Extract<Spec, { readonly type: T }> {
  const wanted: readonly CoyoLogicalType[] = types;
  return (c): c is Extract<Spec, { readonly type: T }> => wanted.includes(c.type);
}

function namesWhere<S extends Spec>(test: (c: Spec) => c is S): readonly S['name'][] {
  return Object.freeze(COYO_SCHEMA.filter(test).map((c) => c.name));
}

/** Freezes the table and its rows, so no consumer can change the shared declaration by accident. */
function deepFreeze<T extends readonly object[]>(rows: T): T {
  for (const row of rows) Object.freeze(row);
  return Object.freeze(rows);
}
