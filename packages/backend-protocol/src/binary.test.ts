import { describe, expect, it } from 'vitest';
import {
  BINARY_HEADERS,
  EMBEDDINGS_BINARY_CONTENT_TYPE,
  HEADERS,
  acceptsBinaryEmbeddings,
  decodeBinaryEmbeddings,
  encodeBinaryEmbeddings,
  encodeVector,
  float32JsonArray,
  float32JsonArrayMaxBytes,
  float32JsonNumber,
  writeFloat32Json,
  writeFloat32JsonArray,
} from './index.js';

/** Float32 values of every kind: random magnitudes, both signs, edges of the range, non-finite. */
function awkwardValues(n: number): Float32Array {
  const values = new Float32Array(n);
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < n; i++) values[i] = (random() - 0.5) * 10 ** Math.floor(random() * 90 - 45);
  values.set([0, -0, 1, -1, 0.5, 0.1, 1e-7, -1e-7, 1e-6, 1e21, 1e20, 123456789, 1234567890, 3.4028235e38, 1.4e-45, -1.4e-45, NaN, Infinity, -Infinity], 0);
  return values;
}

describe('float32JsonArray', () => {
  it('writes exactly the text JSON.stringify(encodeVector(v)) writes', () => {
    const values = awkwardValues(20_000);
    expect(float32JsonArray(values)).toBe(JSON.stringify(encodeVector(values)));
    expect(float32JsonArray(new Float32Array(0))).toBe('[]');
  });

  it('round-trips finite values bit for bit (zero without its sign, as JSON writes it)', () => {
    const values = awkwardValues(5_000).map((v) => (Number.isFinite(v) && v !== 0 ? v : 0));
    expect(Array.from(Float32Array.from(JSON.parse(float32JsonArray(values)) as number[]))).toEqual(Array.from(values));
  });
});

describe('writeFloat32JsonArray', () => {
  /** Float32 values from random bit patterns: every exponent, subnormals, NaN and ±Infinity included. */
  function randomBits(n: number): Float32Array {
    const bits = new Uint32Array(n);
    let seed = 987654321;
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      // Every other value within 2^-20…2^30, the range written without toPrecision.
      bits[i] = i % 2 === 0 ? seed : (seed & 0x807fffff) | ((107 + (seed % 50)) << 23);
    }
    const values = new Float32Array(bits.buffer);
    // Decimal ties and near-ties of 9 digits, powers of ten and their neighbours, the extremes.
    const edges = [1e-6, 1e-5, 0.001, 0.1, 1, 10, 1e8, 1e9, 999999936, 123456789, 1.00000005, 0.100000005, 2 ** -149, 2 ** -126, 3.4028235e38];
    edges.forEach((v, i) => {
      values[2 * i] = v;
      values[2 * i + 1] = -Math.fround(v) * (1 + 2 ** -23);
    });
    return values;
  }

  const write = (values: Float32Array) => {
    const out = new Uint8Array(float32JsonArrayMaxBytes(values.length));
    return new TextDecoder().decode(out.subarray(0, writeFloat32JsonArray(values, out, 0)));
  };

  it('writes the bytes of JSON.stringify(encodeVector(v)) for values of every exponent', () => {
    const values = randomBits(100_000);
    expect(write(values)).toBe(JSON.stringify(encodeVector(values)));
    expect(write(new Float32Array(0))).toBe('[]');
  });

  it('writes valid JSON whose every number parses back to the same float32', () => {
    const values = randomBits(50_000).map((v) => (Number.isFinite(v) ? v : 0));
    const parsed = JSON.parse(write(values)) as unknown;
    expect(Array.isArray(parsed) && parsed.every((v) => typeof v === 'number')).toBe(true);
    const back = Float32Array.from(parsed as number[]);
    // Bit for bit, but for zero's sign, which JSON does not keep.
    const same = values.every((v, i) => (v === 0 ? back[i] === 0 : Object.is(back[i], v)));
    expect(same).toBe(true);
  });

  it('writes each value as writeFloat32Json writes it alone (the array keeps its own copy of the common case)', () => {
    const values = randomBits(20_000);
    const out = new Uint8Array(32);
    const alone = Array.from(values, (v) => new TextDecoder().decode(out.subarray(0, writeFloat32Json(v, out, 0))));
    expect(`[${alone.join(',')}]`).toBe(write(values));
    expect(alone.slice(0, 2_000)).toEqual(Array.from(values.subarray(0, 2_000), float32JsonNumber));
  });

  it('writes non-finite values as null, as JSON.stringify does', () => {
    expect(write(new Float32Array([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0]))).toBe('[null,null,null,0]');
  });

  it('stays within float32JsonArrayMaxBytes when every value takes the most bytes (-0.00000123456789)', () => {
    const values = new Float32Array(1_000).fill(-1.23456789e-6);
    const out = new Uint8Array(float32JsonArrayMaxBytes(values.length));
    const end = writeFloat32JsonArray(values, out, 0);
    expect(end).toBeLessThanOrEqual(out.length);
    expect(new TextDecoder().decode(out.subarray(0, end))).toBe(JSON.stringify(encodeVector(values)));
  });

  it('writes at the given offset and stays within float32JsonArrayMaxBytes', () => {
    const values = new Float32Array([-1.17549435e-38, -3.4028235e38, -1.4e-45, -0.123456789]);
    const out = new Uint8Array(3 + float32JsonArrayMaxBytes(values.length));
    const end = writeFloat32JsonArray(values, out, 3);
    expect(end).toBeLessThanOrEqual(out.length);
    expect(new TextDecoder().decode(out.subarray(3, end))).toBe(JSON.stringify(encodeVector(values)));
  });
});

describe('binary embeddings', () => {
  const headersOf = (h: Record<string, string>) => new Headers(h);
  const good = (extra: Record<string, string> = {}) =>
    headersOf({ [BINARY_HEADERS.model]: 'align-base', [HEADERS.modelRevision]: '0123456789abcdef', [BINARY_HEADERS.dim]: '3', [BINARY_HEADERS.count]: '2', ...extra });

  it('round-trips rows bit for bit, little-endian on the wire', () => {
    const rows = [new Float32Array([1, -2.5, Math.PI]), new Float32Array([1e-30, 3.4e38, -0])];
    const body = encodeBinaryEmbeddings(rows, 3);
    expect(body.byteLength).toBe(24);
    expect(new DataView(body.buffer).getFloat32(4, true)).toBe(-2.5);
    const decoded = decodeBinaryEmbeddings(body, good({ [BINARY_HEADERS.tokens]: '4,7' }));
    expect(decoded).toMatchObject({ model: 'align-base', revision: '0123456789abcdef', dim: 3, tokens: [4, 7] });
    expect(decoded.embeddings.map((r) => Array.from(r))).toEqual(rows.map((r) => Array.from(r)));
    expect(Object.is(decoded.embeddings[1]?.[2], -0)).toBe(true);
    expect(decodeBinaryEmbeddings(body.buffer as ArrayBuffer, good()).tokens).toBeUndefined();
  });

  it('refuses a body of the wrong size and malformed headers', () => {
    const body = encodeBinaryEmbeddings([new Float32Array(3), new Float32Array(3)], 3);
    expect(() => decodeBinaryEmbeddings(body.subarray(4), good())).toThrow('expected 2 × 3 float32 values (24 bytes), got 20 bytes');
    expect(() => decodeBinaryEmbeddings(body, good({ [BINARY_HEADERS.dim]: 'x' }))).toThrow(BINARY_HEADERS.dim);
    expect(() => decodeBinaryEmbeddings(body, good({ [HEADERS.modelRevision]: 'XYZ' }))).toThrow(HEADERS.modelRevision);
    expect(() => decodeBinaryEmbeddings(body, good({ [BINARY_HEADERS.tokens]: '1' }))).toThrow(BINARY_HEADERS.tokens);
    expect(() => decodeBinaryEmbeddings(body, headersOf({}))).toThrow(BINARY_HEADERS.model);
    expect(() => encodeBinaryEmbeddings([new Float32Array(2)], 3)).toThrow('not dim 3');
  });

  it('is chosen only when Accept asks for it over JSON', () => {
    expect(acceptsBinaryEmbeddings(EMBEDDINGS_BINARY_CONTENT_TYPE)).toBe(true);
    expect(acceptsBinaryEmbeddings('application/octet-stream, application/json;q=0.5')).toBe(true);
    expect(acceptsBinaryEmbeddings('application/json, application/octet-stream;q=0.5')).toBe(false);
    expect(acceptsBinaryEmbeddings('application/octet-stream;q=0')).toBe(false);
    expect(acceptsBinaryEmbeddings('*/*')).toBe(false);
    expect(acceptsBinaryEmbeddings(null)).toBe(false);
    expect(acceptsBinaryEmbeddings(undefined)).toBe(false);
  });
});
