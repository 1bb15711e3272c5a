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
  const bytes = new Uint8Array(float32JsonArrayMaxBytes(values.length));
  return ASCII.decode(bytes.subarray(0, writeFloat32JsonArray(values, bytes, 0)));
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

/** Most bytes {@link writeFloat32Json} writes for one value (`-0.00000123456789` is 17). */
export const FLOAT32_JSON_MAX_BYTES = 17;

/** Most bytes {@link writeFloat32JsonArray} writes for `length` values: brackets and commas included. */
export function float32JsonArrayMaxBytes(length: number): number {
  return 2 + length * (FLOAT32_JSON_MAX_BYTES + 1);
}

const ASCII = new TextDecoder();

/** Powers of ten that doubles hold exactly (up to 10^22). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

const ZERO = 48;
const MINUS = 45;
const DOT = 46;
const COMMA = 44;

function writeAscii(text: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/** "0000" to "9999" as four ASCII bytes in a little-endian uint32: four digits per store. */
const QUADS = Uint32Array.from({ length: 10_000 }, (_, i) => {
  const text = String(i).padStart(4, '0');
  return (text.charCodeAt(0) | (text.charCodeAt(1) << 8) | (text.charCodeAt(2) << 16) | (text.charCodeAt(3) << 24)) >>> 0;
});

/** Trailing zero digits of 0 to 9999 written as four digits (4 for 0). */
const TRAILING_ZEROS = Uint8Array.from({ length: 10_000 }, (_, i) => {
  let n = 0;
  for (let rest = i; n < 4 && rest % 10 === 0; rest /= 10) n++;
  return n;
});

/** "00" to "99" as ASCII byte pairs: two digits per division. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) => ZERO + (i % 2 === 0 ? Math.floor(i / 20) : Math.floor(i / 2) % 10));

/** Writes the `n` decimal digits of `m` (an int32) ending just before `end`; returns `m` without them. */
function writeDigits(m: number, out: Uint8Array, end: number, n: number): number {
  let rest = m;
  let i = end;
  const stop = end - n;
  while (i - 2 >= stop) {
    const q = (rest / 100) | 0;
    const pair = (rest - q * 100) * 2;
    out[i - 1] = DIGIT_PAIRS[pair + 1] as number;
    out[i - 2] = DIGIT_PAIRS[pair] as number;
    rest = q;
    i -= 2;
  }
  if (i > stop) {
    const q = (rest / 10) | 0;
    out[i - 1] = ZERO + rest - q * 10;
    rest = q;
  }
  return rest;
}

/**
 * Writes `value` (a float32) into `out` at `at` as the ASCII JSON number `float32JsonNumber(value)`
 * gives, and returns the offset after it. The common case (1e-6 ≤ |value| < 1e9, no exponent in JSON)
 * takes the 9 digits from an integer: `|value| × 10^k` is exact to 2^-53 relative (both factors are
 * exact in a double), so rounding it half up gives toPrecision's digits except within 1e-6 of a tie,
 * which, like every other value, takes the string path. `out` must have {@link FLOAT32_JSON_MAX_BYTES}
 * free bytes at `at`.
 */
export function writeFloat32Json(value: number, out: Uint8Array, at: number): number {
  // The common case as in writeFloat32JsonArray (which keeps a copy of it inline: see there).
  if (value === 0) {
    out[at] = ZERO; // ±0: JSON has no negative zero
    return at + 1;
  }
  const a = value < 0 ? -value : value;
  // NaN fails both comparisons.
  if (!(a >= 1e-6 && a < 1e9)) return writeAscii(float32JsonNumber(value), out, at);
  // scaled = a × 10^k within [1e8, 1e9): nine digits before the point; a lies in [10^e, 10^(e+1)).
  let k = a < 1 ? 9 : 8;
  let scaled = a * (POW10[k] as number);
  while (scaled < 1e8) scaled = a * (POW10[++k] as number);
  while (scaled >= 1e9) scaled = a * (POW10[--k] as number);
  const floor = Math.floor(scaled);
  const fraction = scaled - floor;
  if (fraction > 0.499999 && fraction < 0.500001) return writeAscii(float32JsonNumber(value), out, at);
  return writeDecimal((fraction >= 0.5 ? floor + 1 : floor) | 0, 8 - k, value < 0, out, at);
}

/**
 * Writes `±m × 10^(e-8)` (`m` the nine significant digits of a value in [10^e, 10^(e+1)), or 10^9 when
 * rounding carried into a tenth digit; `e` from -6 to 8) as JSON writes it: no exponent, no trailing
 * zeros. Integers only, so a call boxes nothing.
 */
function writeDecimal(nine: number, exponent: number, negative: boolean, out: Uint8Array, at: number): number {
  let m = nine;
  let e = exponent;
  if (m >= 1_000_000_000) {
    m = 100_000_000;
    e += 1;
  }
  // Significant digits without the trailing zeros.
  let n = 9;
  while (n > 1 && m % 10 === 0) {
    m = (m / 10) | 0;
    n--;
  }
  let p = at;
  if (negative) out[p++] = MINUS;
  if (e >= 0) {
    const whole = e + 1;
    if (n <= whole) {
      for (let i = p + n; i < p + whole; i++) out[i] = ZERO;
      writeDigits(m, out, p + n, n);
      return p + whole;
    }
    const end = p + n + 1;
    const head = writeDigits(m, out, end, n - whole);
    out[p + whole] = DOT;
    writeDigits(head, out, p + whole, whole);
    return end;
  }
  out[p++] = ZERO;
  out[p++] = DOT;
  for (let i = -1; i > e; i--) out[p++] = ZERO;
  writeDigits(m, out, p + n, n);
  return p + n;
}

/**
 * Writes `values` into `out` at `at` as the ASCII text of `float32JsonArray(values)` and returns the
 * offset after it: for an answer written as bytes, without building a string first. `out` must have
 * `float32JsonArrayMaxBytes(values.length)` free bytes at `at`.
 *
 * Embeddings are almost all within 1e-6 ≤ |v| < 1 (`0.` and up to five zeros, then nine significant
 * digits): those are written here, the nine digits as one byte and two four-digit stores, then cut
 * after the last non-zero digit; every other value as {@link writeFloat32Json} writes it. Inline, as a
 * call per value that is not inlined boxes the value in a heap number (≈ 15 KB of garbage per
 * 640-value vector).
 */
export function writeFloat32JsonArray(values: Float32Array, out: Uint8Array, at: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let p = at;
  out[p++] = 91; // [
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out[p++] = COMMA;
    const value = values[i] as number;
    const a = value < 0 ? -value : value;
    // NaN fails both comparisons.
    if (!(a >= 1e-6 && a < 1)) {
      p = writeFloat32Json(value, out, p);
      continue;
    }
    // As in writeFloat32Json: scaled = a × 10^k within [1e8, 1e9), rounded half up unless near a tie.
    let k = 9;
    let scaled = a * 1e9;
    while (scaled < 1e8) scaled = a * (POW10[++k] as number);
    const floor = Math.floor(scaled);
    const fraction = scaled - floor;
    const m = (fraction >= 0.5 ? floor + 1 : floor) | 0;
    // Near a tie, or rounded up into a tenth digit (the value is then written one place up): the long way.
    if ((fraction > 0.499999 && fraction < 0.500001) || m >= 1_000_000_000) {
      p = writeFloat32Json(value, out, p);
      continue;
    }
    if (value < 0) out[p++] = MINUS;
    out[p++] = ZERO;
    out[p++] = DOT;
    for (let zeros = k - 9; zeros > 0; zeros--) out[p++] = ZERO;
    const high = (m / 10_000) | 0;
    const low = m - high * 10_000;
    const first = (high / 10_000) | 0;
    const middle = high - first * 10_000;
    out[p] = ZERO + first;
    view.setUint32(p + 1, QUADS[middle] as number, true);
    view.setUint32(p + 5, QUADS[low] as number, true);
    // Nine digits written; the trailing zeros among them are cut (the next value's bytes overwrite them).
    p += 9 - (low !== 0 ? (TRAILING_ZEROS[low] as number) : 4 + (TRAILING_ZEROS[middle] as number));
  }
  out[p++] = 93; // ]
  return p;
}
