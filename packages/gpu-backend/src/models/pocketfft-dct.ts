/**
 * DCT-II exactly as scipy computes it (`scipy.fftpack.dct(x)` / `scipy.fft.dct(x)`, type 2, no
 * normalisation, float64): a port of pocketfft's `T_dcst23` over its real backward FFT (`rfftp`,
 * radix-4 and radix-2 passes), with its twiddle tables built the way `sincos_2pibyn` builds them.
 * Every floating-point operation happens in the same order as in pocketfft, so the results are the
 * same doubles, not merely close: a perceptual hash thresholds these values at their median, and a
 * naive cosine sum differs in the last bits (a flat 32-point signal gives AC values of ±1e-13
 * instead of pocketfft's exact zeros, which would set bits of a flat image's hash by chance).
 *
 * Only power-of-two lengths are implemented (pocketfft's radix-3, radix-5 and generic passes are not
 * needed for a 32-point pHash). Checked bit for bit against scipy 1.10 at lengths 2–64; from 256 on
 * one twiddle differs from glibc's by an ulp (see `rounded-trig.ts`), so results there may differ
 * from scipy's in the last bits.
 */
import { cosRounded as cosCR, sinRounded as sinCR } from './rounded-trig.js';

/** Complex value as pocketfft's `cmplx<double>`. */
interface Cmplx {
  r: number;
  i: number;
}

/** pocketfft's `sincos_2pibyn(n)`: e^(2πi·k/n) for k = 0..n−1 from two small exact-ish tables. */
class SinCos2PiByN {
  readonly #n: number;
  readonly #mask: number;
  readonly #shift: number;
  readonly #v1: Cmplx[];
  readonly #v2: Cmplx[];

  constructor(n: number) {
    this.#n = n;
    // pocketfft: Thigh(0.25L * pi / n) — a long double quotient by a power of two rounds to this.
    const ang = (0.25 * Math.PI) / n;
    const nval = Math.floor((n + 2) / 2);
    let shift = 1;
    while ((1 << shift) * (1 << shift) < nval) shift++;
    this.#shift = shift;
    this.#mask = (1 << shift) - 1;
    this.#v1 = [{ r: 1, i: 0 }];
    for (let i = 1; i <= this.#mask; i++) this.#v1.push(calc(i, n, ang));
    const v2Size = Math.floor((nval + this.#mask) / (this.#mask + 1));
    this.#v2 = [{ r: 1, i: 0 }];
    for (let i = 1; i < v2Size; i++) this.#v2.push(calc(i * (this.#mask + 1), n, ang));
  }

  at(idx: number): Cmplx {
    const conj = 2 * idx > this.#n;
    const j = conj ? this.#n - idx : idx;
    const x1 = this.#v1[j & this.#mask];
    const x2 = this.#v2[j >> this.#shift];
    if (x1 === undefined || x2 === undefined) throw new Error(`bug: twiddle ${idx} of ${this.#n} is out of range`);
    const r = x1.r * x2.r - x1.i * x2.i;
    const i = x1.r * x2.i + x1.i * x2.r;
    return { r, i: conj ? -i : i };
  }
}

/** pocketfft's `sincos_2pibyn::calc`: e^(2πi·x/n) from the octant where sin/cos are most exact. */
function calc(xIn: number, n: number, ang: number): Cmplx {
  let x = xIn * 8;
  if (x < 4 * n) {
    if (x < 2 * n) {
      if (x < n) return { r: cosCR(x * ang), i: sinCR(x * ang) };
      return { r: sinCR((2 * n - x) * ang), i: cosCR((2 * n - x) * ang) };
    }
    x -= 2 * n;
    if (x < n) return { r: -sinCR(x * ang), i: cosCR(x * ang) };
    return { r: -cosCR((2 * n - x) * ang), i: sinCR((2 * n - x) * ang) };
  }
  x = 8 * n - x;
  if (x < 2 * n) {
    if (x < n) return { r: cosCR(x * ang), i: -sinCR(x * ang) };
    return { r: sinCR((2 * n - x) * ang), i: -cosCR((2 * n - x) * ang) };
  }
  x -= 2 * n;
  if (x < n) return { r: -sinCR(x * ang), i: -cosCR(x * ang) };
  return { r: -cosCR((2 * n - x) * ang), i: -sinCR((2 * n - x) * ang) };
}

interface Factor {
  ip: 2 | 4;
  tw: Float64Array;
}

const SQRT2 = Math.SQRT2;

/** pocketfft's `rfftp`, backward (half-complex → real) direction only, radix 4 and 2. */
class RealBackwardFft {
  readonly #n: number;
  readonly #factors: Factor[];
  readonly #scratch: Float64Array;

  constructor(n: number) {
    this.#n = n;
    this.#scratch = new Float64Array(n);
    const ips: Array<2 | 4> = [];
    let len = n;
    while (len % 4 === 0) {
      ips.push(4);
      len >>= 2;
    }
    if (len % 2 === 0) {
      len >>= 1;
      ips.push(2);
      // pocketfft: "factor 2 should be at the front of the factor list"
      const last = ips.length - 1;
      [ips[0], ips[last]] = [ips[last] as 2 | 4, ips[0] as 2 | 4];
    }
    if (len !== 1) throw new Error(`bug: RealBackwardFft supports powers of two only, got ${n}`);
    const twid = new SinCos2PiByN(n);
    this.#factors = [];
    let l1 = 1;
    for (let k = 0; k < ips.length; k++) {
      const ip = ips[k] as 2 | 4;
      const ido = n / (l1 * ip);
      const tw = new Float64Array(k < ips.length - 1 ? (ip - 1) * (ido - 1) : 0);
      if (k < ips.length - 1) {
        for (let j = 1; j < ip; j++) {
          for (let i = 1; i <= (ido - 1) >> 1; i++) {
            const w = twid.at(j * l1 * i);
            tw[(j - 1) * (ido - 1) + 2 * i - 2] = w.r;
            tw[(j - 1) * (ido - 1) + 2 * i - 1] = w.i;
          }
        }
      }
      this.#factors.push({ ip, tw });
      l1 *= ip;
    }
  }

  /** In place; `fct` is 1 (pocketfft then skips the scaling). */
  exec(c: Float64Array): void {
    const n = this.#n;
    if (n === 1) return;
    let p1 = c;
    let p2 = this.#scratch;
    let l1 = 1;
    for (const { ip, tw } of this.#factors) {
      const ido = n / (ip * l1);
      if (ip === 4) radb4(ido, l1, p1, p2, tw);
      else radb2(ido, l1, p1, p2, tw);
      [p1, p2] = [p2, p1];
      l1 *= ip;
    }
    if (p1 !== c) c.set(p1);
  }
}

function radb2(ido: number, l1: number, cc: Float64Array, ch: Float64Array, wa: Float64Array): void {
  const CC = (a: number, b: number, c: number): number => cc[a + ido * (b + 2 * c)] as number;
  const CH = (a: number, b: number, c: number): number => a + ido * (b + l1 * c);
  const WA = (x: number, i: number): number => wa[i + x * (ido - 1)] as number;
  for (let k = 0; k < l1; k++) {
    const c = CC(0, 0, k);
    const d = CC(ido - 1, 1, k);
    ch[CH(0, k, 0)] = c + d;
    ch[CH(0, k, 1)] = c - d;
  }
  if ((ido & 1) === 0) {
    for (let k = 0; k < l1; k++) {
      ch[CH(ido - 1, k, 0)] = 2 * CC(ido - 1, 0, k);
      ch[CH(ido - 1, k, 1)] = -2 * CC(0, 1, k);
    }
  }
  if (ido <= 2) return;
  for (let k = 0; k < l1; k++) {
    for (let i = 2; i < ido; i += 2) {
      const ic = ido - i;
      const a = CC(i - 1, 0, k);
      const b = CC(ic - 1, 1, k);
      ch[CH(i - 1, k, 0)] = a + b;
      const tr2 = a - b;
      const e = CC(i, 0, k);
      const f = CC(ic, 1, k);
      const ti2 = e + f;
      ch[CH(i, k, 0)] = e - f;
      // MULPM(CH(i,k,1), CH(i-1,k,1), WA(0,i-2), WA(0,i-1), ti2, tr2)
      const w0 = WA(0, i - 2);
      const w1 = WA(0, i - 1);
      ch[CH(i, k, 1)] = w0 * ti2 + w1 * tr2;
      ch[CH(i - 1, k, 1)] = w0 * tr2 - w1 * ti2;
    }
  }
}

function radb4(ido: number, l1: number, cc: Float64Array, ch: Float64Array, wa: Float64Array): void {
  const CC = (a: number, b: number, c: number): number => cc[a + ido * (b + 4 * c)] as number;
  const CH = (a: number, b: number, c: number): number => a + ido * (b + l1 * c);
  const WA = (x: number, i: number): number => wa[i + x * (ido - 1)] as number;
  for (let k = 0; k < l1; k++) {
    const a = CC(0, 0, k);
    const b = CC(ido - 1, 3, k);
    const tr2 = a + b;
    const tr1 = a - b;
    const tr3 = 2 * CC(ido - 1, 1, k);
    const tr4 = 2 * CC(0, 2, k);
    ch[CH(0, k, 0)] = tr2 + tr3;
    ch[CH(0, k, 2)] = tr2 - tr3;
    ch[CH(0, k, 3)] = tr1 + tr4;
    ch[CH(0, k, 1)] = tr1 - tr4;
  }
  if ((ido & 1) === 0) {
    for (let k = 0; k < l1; k++) {
      const c3 = CC(0, 3, k);
      const c1 = CC(0, 1, k);
      const ti1 = c3 + c1;
      const ti2 = c3 - c1;
      const d0 = CC(ido - 1, 0, k);
      const d2 = CC(ido - 1, 2, k);
      const tr2 = d0 + d2;
      const tr1 = d0 - d2;
      ch[CH(ido - 1, k, 0)] = tr2 + tr2;
      ch[CH(ido - 1, k, 1)] = SQRT2 * (tr1 - ti1);
      ch[CH(ido - 1, k, 2)] = ti2 + ti2;
      ch[CH(ido - 1, k, 3)] = -SQRT2 * (tr1 + ti1);
    }
  }
  if (ido <= 2) return;
  for (let k = 0; k < l1; k++) {
    for (let i = 2; i < ido; i += 2) {
      const ic = ido - i;
      let x = CC(i - 1, 0, k);
      let y = CC(ic - 1, 3, k);
      const tr2 = x + y;
      const tr1 = x - y;
      x = CC(i, 0, k);
      y = CC(ic, 3, k);
      const ti1 = x + y;
      const ti2 = x - y;
      x = CC(i, 2, k);
      y = CC(ic, 1, k);
      const tr4 = x + y;
      const ti3 = x - y;
      x = CC(i - 1, 2, k);
      y = CC(ic - 1, 1, k);
      const tr3 = x + y;
      const ti4 = x - y;
      ch[CH(i - 1, k, 0)] = tr2 + tr3;
      const cr3 = tr2 - tr3;
      ch[CH(i, k, 0)] = ti2 + ti3;
      const ci3 = ti2 - ti3;
      const cr4 = tr1 + tr4;
      const cr2 = tr1 - tr4;
      const ci2 = ti1 + ti4;
      const ci4 = ti1 - ti4;
      // MULPM(a, b, c, d, e, f): a = c*e + d*f; b = c*f - d*e
      let w0 = WA(0, i - 2);
      let w1 = WA(0, i - 1);
      ch[CH(i, k, 1)] = w0 * ci2 + w1 * cr2;
      ch[CH(i - 1, k, 1)] = w0 * cr2 - w1 * ci2;
      w0 = WA(1, i - 2);
      w1 = WA(1, i - 1);
      ch[CH(i, k, 2)] = w0 * ci3 + w1 * cr3;
      ch[CH(i - 1, k, 2)] = w0 * cr3 - w1 * ci3;
      w0 = WA(2, i - 2);
      w1 = WA(2, i - 1);
      ch[CH(i, k, 3)] = w0 * ci4 + w1 * cr4;
      ch[CH(i - 1, k, 3)] = w0 * cr4 - w1 * ci4;
    }
  }
}

/**
 * One DCT-II plan of length `n` (a power of two): `exec(x)` replaces x by
 * y[k] = 2·Σ x[j]·cos(πk(2j+1)/(2n)), the same doubles as scipy's `dct(x, type=2)`.
 */
export class Dct2 {
  readonly n: number;
  readonly #fft: RealBackwardFft;
  readonly #twiddle: Float64Array;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0) {
      throw new RangeError(`DCT length must be a power of two ≥ 2, got ${n}`);
    }
    this.n = n;
    this.#fft = new RealBackwardFft(n);
    const tw = new SinCos2PiByN(4 * n);
    this.#twiddle = new Float64Array(n);
    for (let i = 0; i < n; i++) this.#twiddle[i] = tw.at(i + 1).r;
  }

  /** In place: pocketfft's `T_dcst23::exec(c, fct = 1, ortho = false, type = 2, cosine = true)`. */
  exec(c: Float64Array): void {
    const n = this.n;
    if (c.length !== n) throw new RangeError(`DCT input holds ${c.length} values, ${n} expected`);
    const tw = this.#twiddle;
    const ns2 = (n + 1) >> 1;
    c[0] = (c[0] as number) * 2;
    c[n - 1] = (c[n - 1] as number) * 2; // n is even
    for (let k = 1; k < n - 1; k += 2) {
      // MPINPLACE(c[k+1], c[k]): t = a; a -= b; b = t + b
      const a = c[k + 1] as number;
      const b = c[k] as number;
      c[k + 1] = a - b;
      c[k] = a + b;
    }
    this.#fft.exec(c);
    for (let k = 1, kc = n - 1; k < ns2; k++, kc--) {
      const wk = tw[k - 1] as number;
      const wkc = tw[kc - 1] as number;
      const ck = c[k] as number;
      const ckc = c[kc] as number;
      const t1 = wk * ckc + wkc * ck;
      const t2 = wk * ck - wkc * ckc;
      c[k] = 0.5 * (t1 + t2);
      c[kc] = 0.5 * (t1 - t2);
    }
    c[ns2] = (c[ns2] as number) * (tw[ns2 - 1] as number);
  }
}

/**
 * `scipy.fftpack.dct(scipy.fftpack.dct(m, axis=0), axis=1)` of a row-major n×n matrix: columns
 * first, then rows, as `imagehash.phash` calls it. Returns a new row-major Float64Array.
 */
export function dct2d(matrix: ArrayLike<number>, n: number, plan: Dct2 = new Dct2(n)): Float64Array {
  if (plan.n !== n) throw new RangeError(`DCT plan is for length ${plan.n}, not ${n}`);
  if (matrix.length !== n * n) throw new RangeError(`matrix holds ${matrix.length} values, ${n}×${n} expected`);
  const out = new Float64Array(n * n);
  const line = new Float64Array(n);
  for (let col = 0; col < n; col++) {
    for (let row = 0; row < n; row++) line[row] = matrix[row * n + col] as number;
    plan.exec(line);
    for (let row = 0; row < n; row++) out[row * n + col] = line[row] as number;
  }
  for (let row = 0; row < n; row++) {
    const view = out.subarray(row * n, row * n + n);
    plan.exec(view);
  }
  return out;
}
