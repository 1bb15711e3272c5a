import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, attr, conv2d, gelu, layerNorm, linear } from './onnx-builder.js';

async function run(g: GraphBuilder, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(g.encode({ producerName: 'test', docString: '' }));
  try {
    const out = await session.run(feeds);
    const output = out[session.outputNames[0] ?? ''];
    if (output === undefined) throw new Error('the model has no output');
    return output;
  } finally {
    await session.release();
  }
}

describe('GraphBuilder', () => {
  it('writes the same bytes for the same seed and different bytes for another', () => {
    const build = (seed: number) => {
      const g = new GraphBuilder({ seed });
      const x = g.input('x', 'float32', ['batch', 4]);
      g.output(linear(g, x, 4, 3, 'fc', 1), 'y', 'float32', ['batch', 3]);
      return Buffer.from(g.encode({ producerName: 'test', docString: '' }));
    };
    expect(build(7).equals(build(7))).toBe(true);
    expect(build(7).equals(build(8))).toBe(false);
  });

  it('builds a graph of named values and given weights that runs as written', async () => {
    const g = new GraphBuilder();
    g.input('x', 'float32', ['batch', 2]);
    g.tensor('w', 'float32', [2, 2], [1, 2, 3, 4]);
    g.node('MatMul', ['x', 'w'], ['y']);
    g.output('y', 'y', 'float32', ['batch', 2]);
    const y = await run(g, { x: new ort.Tensor('float32', Float32Array.of(1, 1), [1, 2]) });
    expect(Array.from(y.data as Float32Array)).toEqual([4, 6]);
    expect(g.stats.params).toBe(4);
  });

  it('refuses an output that names no value of the graph', () => {
    const g = new GraphBuilder();
    expect(() => { g.output('nothing', 'nothing', 'float32', [1]); }).toThrow(/not a value of the graph/);
  });

  it('refuses to define a value name twice', () => {
    const g = new GraphBuilder();
    g.weight('w', [2], { fill: 0 });
    expect(() => g.weight('w', [2], { fill: 0 })).toThrow(/defined twice/);
  });

  it('counts parameters and FLOPs without allocating when materialize is false, and then cannot encode', () => {
    const g = new GraphBuilder({ materialize: false });
    const x = g.input('x', 'float32', ['batch', 5, 8]);
    linear(g, x, 8, 16, 'fc', 5);
    expect(g.stats.params).toBe(8 * 16 + 16);
    expect(g.stats.flops).toBe(2 * 5 * 8 * 16);
    expect(() => g.encode({ producerName: 'test', docString: '' })).toThrow(/materialize/);
  });

  it('draws uniform weights with the requested standard deviation', async () => {
    const g = new GraphBuilder({ seed: 3 });
    const w = g.weight('w', [20_000], { std: 0.02 });
    const x = g.input('x', 'float32', [1]);
    g.output(g.op('Mul', [w, x]), 'y', 'float32', [20_000]);
    const y = (await run(g, { x: new ort.Tensor('float32', new Float32Array([1]), [1]) })).data as Float32Array;
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    const std = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / y.length);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
    expect(Math.max(...y.map(Math.abs))).toBeLessThanOrEqual(0.02 * Math.sqrt(3));
  });
});

describe('layers', () => {
  it('gelu matches x·Φ(x) computed with erf', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [5]);
    g.output(gelu(g, x), 'y', 'float32', [5]);
    const xs = [-3, -1, 0, 0.5, 2];
    const y = await run(g, { x: new ort.Tensor('float32', Float32Array.from(xs), [5]) });
    // Abramowitz–Stegun 7.1.26 erf, accurate to 1.5e-7.
    const erf = (v: number) => {
      const t = 1 / (1 + 0.3275911 * Math.abs(v));
      const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
      return Math.sign(v) * (1 - poly * Math.exp(-v * v));
    };
    const expected = xs.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    Array.from(y.data as Float32Array).forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i] ?? Number.NaN, 5);
    });
  });

  it('layerNorm with fresh weights gives zero mean and unit variance per row', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [2, 4]);
    g.output(layerNorm(g, x, 4, 1e-12, 'ln'), 'y', 'float32', [2, 4]);
    const y = (await run(g, { x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, -5, 0, 5, 10]), [2, 4]) }))
      .data as Float32Array;
    for (const row of [y.slice(0, 4), y.slice(4)]) {
      const mean = row.reduce((a, b) => a + b, 0) / 4;
      expect(mean).toBeCloseTo(0, 6);
      expect(row.reduce((a, b) => a + (b - mean) ** 2, 0) / 4).toBeCloseTo(1, 5);
    }
  });

  it.each([
    { size: 289, kernel: 3, stride: 2, pads: [0, 0, 1, 1] as const },
    { size: 72, kernel: 5, stride: 2, pads: [1, 1, 2, 2] as const },
    { size: 18, kernel: 5, stride: 1, pads: [2, 2, 2, 2] as const },
    { size: 384, kernel: 16, stride: 16, pads: [0, 0, 0, 0] as const },
  ])('conv2d records the output size onnxruntime computes ($size px, k$kernel, s$stride)', async ({ size, kernel, stride, pads }) => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1, 2, size, size]);
    const y = conv2d(g, { value: x, channels: 2, height: size, width: size }, { out: 3, kernel, stride, pads, name: 'c' });
    g.output(y.value, 'y', 'float32', [1, 3, y.height, y.width]);
    const out = await run(g, { x: new ort.Tensor('float32', new Float32Array(2 * size * size).fill(1), [1, 2, size, size]) });
    expect(out.dims).toEqual([1, 3, y.height, y.width]);
    expect(g.stats.flops).toBe(2 * y.height * y.width * 3 * 2 * kernel * kernel);
  });

  it('a depthwise conv2d counts one input channel per output channel', () => {
    const g = new GraphBuilder({ materialize: false });
    const x = g.input('x', 'float32', [1, 8, 10, 10]);
    const y = conv2d(g, { value: x, channels: 8, height: 10, width: 10 }, { out: 8, kernel: 3, groups: 8, name: 'dw' });
    expect([y.height, y.width]).toEqual([10, 10]);
    expect(g.stats.params).toBe(8 * 1 * 3 * 3 + 8);
    expect(g.stats.flops).toBe(2 * 10 * 10 * 8 * 9);
    expect(g.stats.activationTraffic).toBe(2 * 8 * 10 * 10);
  });

  it('attribute helpers keep integers and floats apart', () => {
    expect(attr.int(2)).toMatchObject({ i: 2 });
    expect(attr.float(2)).toMatchObject({ f: 2 });
    expect(attr.ints([1, 2])).toMatchObject({ ints: [1, 2] });
  });
});
