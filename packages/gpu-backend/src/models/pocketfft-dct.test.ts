import { describe, expect, it } from 'vitest';
import { Dct2, dct2d } from './pocketfft-dct.js';
import { cosRounded, sinRounded } from './rounded-trig.js';

/** y[k] = 2·Σ x[j]·cos(πk(2j+1)/(2n)), summed naively: right to ~1e-12, not to the bit. */
function naiveDct(x: number[]): number[] {
  const n = x.length;
  return x.map((_, k) => 2 * x.reduce((s, v, j) => s + v * Math.cos((Math.PI * k * (2 * j + 1)) / (2 * n)), 0));
}

describe('Dct2', () => {
  it('gives the doubles scipy.fftpack.dct gives, bit for bit', () => {
    // x = [(37i + 11) mod 256], y = scipy.fftpack.dct(x) printed by repr() (scipy 1.10, pocketfft).
    const x = Float64Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256);
    const scipy = [
      7712.0, -324.6085626655374, -457.3441554588836, -171.0438391974289, -525.598686371161, -169.4652357158596,
      -714.1455787717103, -193.4602652979621, -1615.0128793082624, -761.4112862989091, 1720.0787455645632,
      -142.86231089889827, 384.338204178294, -207.84521701147037, 136.8507434540828, -307.16197766982475, 0.0,
      -681.849506332499, -609.5071479418602, 992.736166263187, 76.44962206755076, 180.3394191609666,
      -27.46898827561506, 34.29810435583249, -114.77543146699895, -75.46456363122718, -332.6154783528583,
      -680.6076698732725, 786.6140228724903, 173.4109968326705, 121.86399678540897, 37.35583725087298,
    ];
    new Dct2(32).exec(x);
    expect(Array.from(x)).toEqual(scipy);
  });

  it.each([2, 4, 8, 16, 32, 64, 128])('agrees with the cosine sum at length %i', (n) => {
    const x = Array.from({ length: n }, (_, i) => ((i * 97 + 13) % 255) - 100);
    const y = Float64Array.from(x);
    new Dct2(n).exec(y);
    const expected = naiveDct(x);
    for (let k = 0; k < n; k++) expect(y[k]).toBeCloseTo(expected[k] as number, 8);
  });

  it('gives exact zeros for every AC coefficient of a constant signal', () => {
    const x = new Float64Array(32).fill(137);
    new Dct2(32).exec(x);
    expect(x[0]).toBe(2 * 32 * 137);
    expect(Array.from(x.subarray(1)).every((v) => v === 0)).toBe(true);
  });

  it('refuses lengths that are not powers of two', () => {
    expect(() => new Dct2(12)).toThrow(RangeError);
    expect(() => new Dct2(1)).toThrow(RangeError);
    expect(() => {
      new Dct2(32).exec(new Float64Array(31));
    }).toThrow(RangeError);
  });
});

describe('dct2d', () => {
  it('transforms columns, then rows', () => {
    const n = 4;
    const m = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3];
    const cols = new Float64Array(16);
    for (let c = 0; c < n; c++) {
      const col = Float64Array.from({ length: n }, (_, r) => m[r * n + c] as number);
      new Dct2(n).exec(col);
      for (let r = 0; r < n; r++) cols[r * n + c] = col[r] as number;
    }
    for (let r = 0; r < n; r++) new Dct2(n).exec(cols.subarray(r * n, r * n + n));
    expect(dct2d(m, n)).toEqual(cols);
  });

  it('refuses a matrix of the wrong size', () => {
    expect(() => dct2d(new Float64Array(15), 4)).toThrow(RangeError);
  });
});

describe('rounded sin and cos', () => {
  // glibc's values; V8's Math.cos/Math.sin differ from each of these in the last bit.
  it.each([
    [(30 * Math.PI) / 128, 0.7409511253549591, 'cos'],
    [(43 * Math.PI) / 256, 0.8639728561215868, 'cos'],
    [(65 * Math.PI) / 512, 0.921514039342042, 'cos'],
    [(31 * Math.PI) / 256, 0.37131719395183754, 'sin'],
    [(9 * Math.PI) / 512, 0.055195244349689934, 'sin'],
  ] as const)('rounds %f to glibc %s', (x, expected, fn) => {
    expect(fn === 'cos' ? cosRounded(x) : sinRounded(x)).toBe(expected);
  });

  it('follows sin and cos through every quadrant', () => {
    for (let x = -20; x <= 20; x += 0.37) {
      expect(sinRounded(x)).toBeCloseTo(Math.sin(x), 15);
      expect(cosRounded(x)).toBeCloseTo(Math.cos(x), 15);
    }
    expect(Object.is(sinRounded(-0), -0)).toBe(true);
    expect(sinRounded(Math.PI)).toBe(Math.sin(Math.PI));
  });

  it('refuses arguments beyond its range', () => {
    expect(() => sinRounded(100)).toThrow(RangeError);
    expect(() => cosRounded(Number.NaN)).toThrow(RangeError);
  });
});
