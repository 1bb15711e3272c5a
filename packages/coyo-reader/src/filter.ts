/**
 * Filter predicates (inclusive min/max per numeric column), the statistics test that lets a scan skip
 * a shard or row group without reading it, and the opaque cursor that resumes a scan.
 */
import { FLOAT_COLUMNS, MAX_ID, NUMERIC_COLUMNS, type ColumnRange, type NumericColumn } from '@coyo/coyo-schema';
import { z } from 'zod';

export interface Predicate {
  readonly column: NumericColumn;
  readonly min?: number;
  readonly max?: number;
}

/**
 * A parquet cell as a number for predicates: NULL (or anything else that is not a number) becomes NaN,
 * which satisfies no bound, as NULL satisfies no comparison in SQL.
 */
export function predicateValue(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return Number.NaN;
}

const FLOAT_COLUMN_SET: ReadonlySet<string> = new Set(FLOAT_COLUMNS);

/**
 * The bound as SQL compares it with the column: on a float32 column the bound is cast to float32
 * first (`x >= CAST(min AS FLOAT)`, round to nearest; beyond ±3.4e38 it becomes ±Infinity), so a bound
 * equal to a stored value as written (`0.3`) matches that value, as in DuckDB. Integer columns compare
 * with the bound as given.
 */
export function sqlBound(column: NumericColumn, bound: number): number {
  return FLOAT_COLUMN_SET.has(column) ? Math.fround(bound) : bound;
}

/** The predicate with its bounds as SQL compares them ({@link sqlBound}); idempotent. */
export function sqlPredicate(p: Predicate): Predicate {
  return {
    column: p.column,
    ...(p.min === undefined ? {} : { min: sqlBound(p.column, p.min) }),
    ...(p.max === undefined ? {} : { max: sqlBound(p.column, p.max) }),
  };
}

/**
 * True when `value` satisfies the predicate (bounds inclusive, compared as SQL does on the column's
 * type, see {@link sqlBound}; NaN never matches).
 */
export function matchesPredicate(p: Predicate, value: number): boolean {
  if (p.min !== undefined && !(value >= sqlBound(p.column, p.min))) return false;
  if (p.max !== undefined && !(value <= sqlBound(p.column, p.max))) return false;
  return true;
}

/**
 * False only when statistics prove no row in the range can match. Missing statistics (NaN) never
 * rule a range out; the empty range +Infinity..−Infinity (no non-NULL value) rules out every bound.
 * Bounds are compared as {@link matchesPredicate} compares them, so pruning never drops a match.
 */
export function rangeMayMatch(p: Predicate, min: number, max: number): boolean {
  if (p.min !== undefined && max < sqlBound(p.column, p.min)) return false;
  if (p.max !== undefined && min > sqlBound(p.column, p.max)) return false;
  return true;
}

/**
 * The manifest-level test of a shard: a range proves as much as row-group statistics do; `null` means
 * the column holds no non-NULL value in the shard, so no bound can match there; a column the manifest
 * does not list proves nothing.
 */
export function recordedRangeMayMatch(p: Predicate, range: ColumnRange | null | undefined): boolean {
  if (range === undefined) return true;
  if (range === null) return p.min === undefined && p.max === undefined;
  return rangeMayMatch(p, range.min, range.max);
}

/** A stable short fingerprint of a predicate set, so a cursor cannot be replayed on another filter. */
export function predicateFingerprint(predicates: readonly Predicate[]): string {
  const canonical = [...predicates]
    .sort((a, b) => NUMERIC_COLUMNS.indexOf(a.column) - NUMERIC_COLUMNS.indexOf(b.column))
    .map((p) => `${p.column}:${p.min ?? ''}:${p.max ?? ''}`)
    .join('|');
  // FNV-1a, 32 bit: enough to catch a mismatch, no crypto needed.
  let hash = 0x811c9dc5;
  for (let i = 0; i < canonical.length; i++) {
    hash ^= canonical.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

const CursorSchema = z.object({
  v: z.literal(1),
  /** The scan resumes at the first id greater than this. */
  after: z.number().int().min(-1).max(MAX_ID),
  /** predicateFingerprint of the filter that produced it. */
  f: z.string().regex(/^[0-9a-f]{8}$/),
});
export type Cursor = z.infer<typeof CursorSchema>;

function toBase64Url(text: string): string {
  return btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const padded = text.replaceAll('-', '+').replaceAll('_', '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return atob(padded);
}

/** Serialises a cursor as opaque base64url text. */
export function encodeCursor(cursor: Cursor): string {
  return toBase64Url(JSON.stringify(cursor));
}

/** Why a cursor was refused; the route turns it into a 400 problem. */
export class CursorError extends Error {
  override readonly name = 'CursorError';
}

/** Parses a cursor and checks that it belongs to this filter. */
export function decodeCursor(text: string, fingerprint: string): Cursor {
  let value: unknown;
  try {
    value = JSON.parse(fromBase64Url(text));
  } catch {
    throw new CursorError('cursor is malformed: pass back next_cursor unchanged');
  }
  const parsed = CursorSchema.safeParse(value);
  if (!parsed.success) throw new CursorError('cursor is malformed: pass back next_cursor unchanged');
  if (parsed.data.f !== fingerprint) throw new CursorError('cursor belongs to a different filter: repeat the predicates it was issued for');
  return parsed.data;
}
