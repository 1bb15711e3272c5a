/**
 * Vectors on the wire: JSON numbers carrying float32 values. Nine significant digits round-trip any
 * float32 exactly, so the decoded `Float32Array` equals the one the model produced, bit for bit.
 */

/** A float32 vector as the JSON numbers that round-trip it. */
export function encodeVector(values: Float32Array): number[] {
  return Array.from(values, (v) => Number(v.toPrecision(9)));
}

/** A score (or any float32 value) as the JSON number that round-trips it. */
export function encodeFloat32(value: number): number {
  return Number(value.toPrecision(9));
}

/**
 * The rows of an answer as float32 vectors; throws when there are not `count` rows of `dim` values
 * (a caller turns that into a contract failure).
 */
export function decodeVectors(rows: readonly (readonly number[])[], count: number, dim: number): Float32Array[] {
  if (rows.length !== count) throw new RangeError(`expected ${count} embeddings, got ${rows.length}`);
  if (rows.some((r) => r.length !== dim)) throw new RangeError(`an embedding does not have dim ${dim}`);
  return rows.map((r) => Float32Array.from(r));
}

/**
 * The JSON text of `encodeVector(values)` (`JSON.stringify(encodeVector(values))`, character for
 * character) written directly: each value's 9 significant digits without the parse and re-format that
 * building a number array takes. Non-finite values are `null`, as `JSON.stringify` writes them.
 */
export function float32JsonArray(values: Float32Array): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    out += float32JsonNumber(values[i] as number);
  }
  return `${out}]`;
}

/** One value as `float32JsonArray` writes it. */
export function float32JsonNumber(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  const digits = value.toPrecision(9);
  // Exponent notation differs between toPrecision and JSON; those (rare) values take the long way.
  if (digits.includes('e')) return String(Number(digits));
  if (!digits.includes('.')) return digits === '-0' ? '0' : digits;
  let end = digits.length;
  while (digits.charCodeAt(end - 1) === 48 /* 0 */) end--;
  if (digits.charCodeAt(end - 1) === 46 /* . */) end--;
  const trimmed = digits.slice(0, end);
  return trimmed === '-0' ? '0' : trimmed;
}
