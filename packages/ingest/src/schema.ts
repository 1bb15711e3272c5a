/**
 * The COYO-700M parquet schema (17 columns), in the order of the published files, and the order in
 * which our shards store them.
 */

/** DuckDB's name for each parquet type used by COYO. */
export type CoyoColumnType = 'BIGINT' | 'VARCHAR' | 'INTEGER' | 'FLOAT';

export interface CoyoColumn {
  readonly name: string;
  readonly type: CoyoColumnType;
}

/** The columns as the COYO-700M files publish them. */
export const COYO_COLUMNS = [
  { name: 'id', type: 'BIGINT' },
  { name: 'url', type: 'VARCHAR' },
  { name: 'text', type: 'VARCHAR' },
  { name: 'width', type: 'INTEGER' },
  { name: 'height', type: 'INTEGER' },
  { name: 'image_phash', type: 'VARCHAR' },
  { name: 'text_length', type: 'INTEGER' },
  { name: 'word_count', type: 'INTEGER' },
  { name: 'num_tokens_bert', type: 'INTEGER' },
  { name: 'num_tokens_gpt', type: 'INTEGER' },
  { name: 'num_faces', type: 'INTEGER' },
  { name: 'clip_similarity_vitb32', type: 'FLOAT' },
  { name: 'clip_similarity_vitl14', type: 'FLOAT' },
  { name: 'nsfw_score_opennsfw2', type: 'FLOAT' },
  { name: 'nsfw_score_gantman', type: 'FLOAT' },
  { name: 'watermark_score', type: 'FLOAT' },
  { name: 'aesthetic_score_laion_v2', type: 'FLOAT' },
] as const satisfies readonly CoyoColumn[];

export type CoyoColumnName = (typeof COYO_COLUMNS)[number]['name'];

/**
 * Column order inside our shards: the id first, then every numeric column, then the strings. A filter
 * reads the id and the numeric columns of a row group as one contiguous byte range, without the
 * URLs and alt texts that make up most of the bytes.
 */
export const STORAGE_ORDER: readonly CoyoColumnName[] = [
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
];

/** Numeric columns: the ones with min/max statistics worth keeping in the manifest. */
export const NUMERIC_COLUMNS: readonly CoyoColumnName[] = COYO_COLUMNS.filter((c) => c.type !== 'VARCHAR').map(
  (c) => c.name,
);

/** float32 columns: the only ones that can hold NaN or ±Infinity. */
export const FLOAT_COLUMNS: readonly CoyoColumnName[] = COYO_COLUMNS.filter((c) => c.type === 'FLOAT').map((c) => c.name);

/**
 * Largest id the API can return as a JSON number without losing precision (2^53 − 1). COYO ids are
 * about 10^12..10^13, far below it; ingest refuses anything outside [0, MAX_SAFE_ID].
 */
export const MAX_SAFE_ID = Number.MAX_SAFE_INTEGER;

const TYPE_BY_NAME = new Map<string, CoyoColumnType>(COYO_COLUMNS.map((c) => [c.name, c.type]));

/** The DuckDB type of a COYO column. */
export function columnType(name: CoyoColumnName): CoyoColumnType {
  const type = TYPE_BY_NAME.get(name);
  if (type === undefined) throw new Error(`bug: ${name} is not a COYO column`);
  return type;
}

/** Quotes an identifier for DuckDB SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for DuckDB SQL (paths, globs). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A problem found in one input file's schema. */
export interface SchemaProblem {
  readonly file: string;
  readonly column: string;
  readonly problem: 'missing' | 'unexpected' | 'wrong-type';
  readonly expected?: CoyoColumnType;
  readonly actual?: string;
}

/**
 * Compares the columns DuckDB reports for a file with the COYO schema, so one bad file is reported by
 * its name and the offending column instead of failing deep inside the sort.
 */
export function checkSchema(file: string, actual: readonly { name: string; type: string }[]): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const seen = new Map(actual.map((c) => [c.name, c.type]));
  for (const column of COYO_COLUMNS) {
    const type = seen.get(column.name);
    if (type === undefined) problems.push({ file, column: column.name, problem: 'missing', expected: column.type });
    else if (type !== column.type)
      problems.push({ file, column: column.name, problem: 'wrong-type', expected: column.type, actual: type });
  }
  for (const { name, type } of actual) {
    if (!TYPE_BY_NAME.has(name)) problems.push({ file, column: name, problem: 'unexpected', actual: type });
  }
  return problems;
}

/** One line per problem, naming the file and the column. */
export function describeSchemaProblem(p: SchemaProblem): string {
  switch (p.problem) {
    case 'missing':
      return `${p.file}: column "${p.column}" is missing (expected ${p.expected})`;
    case 'wrong-type':
      return `${p.file}: column "${p.column}" has type ${p.actual}, expected ${p.expected}`;
    case 'unexpected':
      return `${p.file}: column "${p.column}" (${p.actual}) is not part of the COYO schema`;
  }
}

/** Rows of one input file whose value in a float column is NaN or ±Infinity. */
export interface NonFiniteProblem {
  readonly file: string;
  readonly column: CoyoColumnName;
  /** How many rows of the file hold such a value in the column. */
  readonly rows: number;
  /** The smallest id among them, or null when none of them has an id. */
  readonly exampleId: string | null;
}

/**
 * One line per file and column, naming the row count and an id to look at. NaN and ±Infinity have no
 * place in the manifest's min/max ranges nor in the edge's inclusive bounds, so they are refused
 * instead of being sorted and published.
 */
export function describeNonFinite(p: NonFiniteProblem): string {
  const example = p.exampleId === null ? 'none of them has an id' : `e.g. id ${p.exampleId}`;
  return `${p.file}: column "${p.column}" has ${p.rows} row(s) with NaN or ±Infinity (${example})`;
}
