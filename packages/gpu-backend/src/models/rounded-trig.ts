/**
 * sin and cos of a double, correctly rounded, for pocketfft's twiddles. pocketfft computes them with
 * glibc's `cos`/`sin`; for every angle its twiddle tables of up to 512 entries use (DCT lengths up
 * to 128) these functions return glibc's exact values. glibc is not correctly rounded everywhere:
 * the 1024-entry table needs sin(27π/512), where the two differ by an ulp.
 * V8's `Math.cos`/`Math.sin` (fdlibm) are faithful but not correctly rounded — cos(30·π/128) comes
 * out one ulp above glibc's — and one ulp in a twiddle moves DCT outputs by an ulp. Here: reduction
 * by multiples of π/2 with a three-part π/2, then Taylor series in double-double arithmetic
 * (≈ 106 bits), rounded once. Meant for small arguments (|x| ≤ 64); a few µs a call, not a
 * general-purpose libm.
 */

type DoubleDouble = readonly [hi: number, lo: number];

function twoSum(a: number, b: number): DoubleDouble {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

function quickTwoSum(a: number, b: number): DoubleDouble {
  const s = a + b;
  return [s, b - (s - a)];
}

const SPLITTER = 134_217_729; // 2^27 + 1 (Dekker's split)

function twoProd(a: number, b: number): DoubleDouble {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function ddAdd(a: DoubleDouble, b: DoubleDouble): DoubleDouble {
  const [s, e] = twoSum(a[0], b[0]);
  const [t, f] = twoSum(a[1], b[1]);
  const [s2, e2] = quickTwoSum(s, e + t);
  return quickTwoSum(s2, e2 + f);
}

function ddMul(a: DoubleDouble, b: DoubleDouble): DoubleDouble {
  const [p, e] = twoProd(a[0], b[0]);
  return quickTwoSum(p, e + a[0] * b[1] + a[1] * b[0]);
}

function ddDiv(a: DoubleDouble, d: number): DoubleDouble {
  const q1 = a[0] / d;
  const [p, pe] = twoProd(q1, d);
  const [s, se] = twoSum(a[0], -p);
  const q2 = (s + (se - pe + a[1])) / d;
  return quickTwoSum(q1, q2);
}

// π/2 = PIO2_1 + PIO2_2 + PIO2_3 to ≈ 160 bits.
const PIO2_1 = 1.5707963267948966;
const PIO2_2 = 6.123233995736766e-17;
const PIO2_3 = -1.4973849048591698e-33;
const MAX_ARGUMENT = 64;

/** Σ (−1)^k r^(2k+first)/(2k+first)! for a reduced |r| ≤ π/4, in double-double. */
function taylor(r: DoubleDouble, first: 0 | 1): DoubleDouble {
  const r2 = ddMul(r, r);
  let term: DoubleDouble = first === 0 ? [1, 0] : r;
  let sum = term;
  for (let k = first + 2; k < 64; k += 2) {
    term = ddDiv(ddMul(term, r2), -(k - 1) * k);
    if (Math.abs(term[0]) < 1e-40) break;
    sum = ddAdd(sum, term);
  }
  return sum;
}

/** x − q·π/2 in double-double, and q mod 4, with q the nearest integer to x/(π/2). */
function reduce(x: number): { r: DoubleDouble; quadrant: number } {
  if (!(Math.abs(x) <= MAX_ARGUMENT)) throw new RangeError(`rounded sin/cos need |x| ≤ ${MAX_ARGUMENT}, got ${x}`);
  const q = Math.round(x / PIO2_1);
  if (q === 0) return { r: [x, 0], quadrant: 0 };
  let r = ddAdd([x, 0], twoProd(-q, PIO2_1));
  r = ddAdd(r, twoProd(-q, PIO2_2));
  r = ddAdd(r, [-q * PIO2_3, 0]);
  return { r, quadrant: ((q % 4) + 4) % 4 };
}

function rounded(dd: DoubleDouble, negate: boolean): number {
  const v = dd[0] + dd[1];
  return negate ? -v : v;
}

/** sin(x) rounded to the nearest double, for |x| ≤ 64. */
export function sinRounded(x: number): number {
  if (x === 0) return x; // keeps −0
  const { r, quadrant } = reduce(x);
  return rounded(taylor(r, (quadrant & 1) === 0 ? 1 : 0), quadrant >= 2);
}

/** cos(x) rounded to the nearest double, for |x| ≤ 64. */
export function cosRounded(x: number): number {
  const { r, quadrant } = reduce(x);
  return rounded(taylor(r, (quadrant & 1) === 0 ? 0 : 1), quadrant === 1 || quadrant === 2);
}
