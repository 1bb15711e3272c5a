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
