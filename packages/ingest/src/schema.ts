/**
 * The COYO-700M columns as DuckDB sees them. Names, order, logical types and nullability come from
 * `@coyo/coyo-schema`; the DuckDB type of each logical type is the ingest's own concern.
 */
import { COYO_SCHEMA, columnSpec, isCoyoColumn, type CoyoColumn, type CoyoLogicalType } from '@coyo/coyo-schema';

/** DuckDB's name for each parquet type used by COYO. */
export type DuckDbType = 'BIGINT' | 'VARCHAR' | 'INTEGER' | 'FLOAT';

/** The DuckDB type that holds each logical type exactly (what DuckDB reports for the published files). */
export const DUCKDB_TYPES: Readonly<Record<CoyoLogicalType, DuckDbType>> = {
  int64: 'BIGINT',
  int32: 'INTEGER',
  float32: 'FLOAT',
  string: 'VARCHAR',
};

/** The columns with their DuckDB types, in the order the COYO-700M files publish them. */
export const DUCKDB_COLUMNS: readonly { readonly name: CoyoColumn; readonly type: DuckDbType }[] = COYO_SCHEMA.map((c) => ({
  name: c.name,
  type: DUCKDB_TYPES[c.type],
}));

/** The DuckDB type of a COYO column. */
export function columnType(name: CoyoColumn): DuckDbType {
  return DUCKDB_TYPES[columnSpec(name).type];
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
  readonly expected?: DuckDbType;
  readonly actual?: string;
}

/**
 * Compares the columns DuckDB reports for a file with the COYO schema, so one bad file is reported by
 * its name and the offending column instead of failing deep inside the sort.
 */
export function checkSchema(file: string, actual: readonly { name: string; type: string }[]): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const seen = new Map(actual.map((c) => [c.name, c.type]));
  for (const column of DUCKDB_COLUMNS) {
    const type = seen.get(column.name);
    if (type === undefined) problems.push({ file, column: column.name, problem: 'missing', expected: column.type });
    else if (type !== column.type)
      problems.push({ file, column: column.name, problem: 'wrong-type', expected: column.type, actual: type });
  }
  for (const { name, type } of actual) {
    if (!isCoyoColumn(name)) problems.push({ file, column: name, problem: 'unexpected', actual: type });
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
  readonly column: CoyoColumn;
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
