/**
 * IEEE 754 half-precision conversion, for fp16 model variants whose inputs or outputs are float16:
 * Node 20 has no Float16Array, and onnxruntime-node takes float16 tensors as Uint16Array bit patterns.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** One float32 to float16 bits, rounding to nearest even; overflow becomes ±Infinity. */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // Inf or NaN
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: Infinity
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa, with its implicit 1, into place.
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    const rounded = rest > midpoint || (rest === midpoint && (half & 1) === 1) ? half + 1 : half;
    return sign | rounded;
  }
  const half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // Rounding may carry into the exponent, which is still the right answer (up to Infinity).
  const rounded = rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? half + 1 : half;
  return sign | rounded;
}

/** Float16 bits to a number. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function float32ToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i] ?? 0);
  return out;
}

export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = fromFloat16Bits(bits[i] ?? 0);
  return out;
}
