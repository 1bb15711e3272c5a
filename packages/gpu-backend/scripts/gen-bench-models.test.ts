import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  ALIGN_BERT_BASE,
  ALIGN_EFFICIENTNET_B7,
  type BertSpec,
  type EfficientNetSpec,
  VIT_LARGE_PATCH16_384,
  type VitSpec,
  buildBert,
  buildEfficientNet,
  buildVit,
  roundFilters,
} from './gen-bench-models.js';
import type { GraphBuilder } from '../src/models/onnx-builder.js';

const VIT_TINY: VitSpec = { imageSize: 32, patchSize: 16, hidden: 32, layers: 2, heads: 4, mlp: 64, labels: 10, eps: 1e-12 };
const BERT_TINY: BertSpec = {
  vocab: 100,
  maxPositions: 16,
  typeVocab: 2,
  hidden: 32,
  layers: 2,
  heads: 4,
  intermediate: 64,
  projection: 24,
  eps: 1e-12,
  tokens: 8,
};
const EFFICIENTNET_TINY: EfficientNetSpec = { ...ALIGN_EFFICIENTNET_B7, imageSize: 33, widthCoefficient: 0.25, depthCoefficient: 0.5 };

async function session(g: GraphBuilder): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(g.encode({ producerName: 'test', docString: '' }));
}

function image(batch: number, size: number, seed: number): ort.Tensor {
  const data = Float32Array.from({ length: batch * 3 * size * size }, (_, i) => Math.sin((i + 1) * seed));
  return new ort.Tensor('float32', data, [batch, 3, size, size]);
}

function rows(t: ort.Tensor): Float32Array[] {
  const [n, d] = t.dims as [number, number];
  const data = t.data as Float32Array;
  return Array.from({ length: n }, (_, i) => data.slice(i * d, (i + 1) * d));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`compared ${a.length} values with ${b.length}`);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? Number.NaN))), 0);
}

/** The only output of a run. */
async function runOne(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> {
  const [out] = Object.values(await s.run(feeds));
  if (out === undefined) throw new Error('the model has no output');
  return out;
}

/** Row `i` of a `[n, d]` output. */
function row(t: ort.Tensor, i: number): Float32Array {
  const r = rows(t)[i];
  if (r === undefined) throw new Error(`no row ${i} in [${t.dims.join(', ')}]`);
  return r;
}

describe('real-size accounting', () => {
  it('counts ViT-L/16@384 FLOPs as 2·(weights·tokens) plus attention, ≈ 382 GFLOP', () => {
    const { hidden: h, mlp: m, layers, labels } = VIT_LARGE_PATCH16_384;
    const patches = 24 * 24;
    const t = patches + 1;
    const expected = 2 * patches * (3 * 16 * 16) * h + layers * (2 * t * (4 * h * h + 2 * h * m) + 4 * t * t * h) + 2 * h * labels;
    const stats = buildVit(VIT_LARGE_PATCH16_384, { materialize: false }).stats;
    expect(stats.flops).toBe(expected);
    expect(stats.flops / 1e9).toBeCloseTo(382, 0);
    expect(stats.params / 1e6).toBeCloseTo(304.7, 1);
  });

  it('counts BERT-base at 64 tokens with its 640-wide projection as ≈ 11 GFLOP', () => {
    const { hidden: h, intermediate: i, layers, tokens: t, projection: p } = ALIGN_BERT_BASE;
    const stats = buildBert(ALIGN_BERT_BASE, { materialize: false }).stats;
    expect(stats.flops).toBe(layers * (2 * t * (4 * h * h + 2 * h * i) + 4 * t * t * h) + 2 * h * p);
    expect(stats.flops / 1e9).toBeCloseTo(11, 0);
  });

  it('widens EfficientNet-B7 stages to the published channel counts', () => {
    const widths = [32, 16, 24, 40, 80, 112, 192, 320].map((c) => roundFilters(ALIGN_EFFICIENTNET_B7, c));
    expect(widths).toEqual([64, 32, 48, 80, 160, 224, 384, 640]);
  });

  it('builds the ALIGN image tower with 55 blocks and about 62 M weights (B7 without its top conv)', () => {
    const stats = buildEfficientNet(ALIGN_EFFICIENTNET_B7, { materialize: false }).stats;
    const blocks = ALIGN_EFFICIENTNET_B7.repeats.reduce((a, r) => a + Math.ceil(3.1 * r), 0);
    expect(blocks).toBe(55);
    expect(stats.params / 1e6).toBeGreaterThan(60);
    expect(stats.params / 1e6).toBeLessThan(64);
  });
});

describe('generated graphs run in onnxruntime', () => {
  it('ViT gives [B, labels] and scores each image of a batch as it scores it alone', async () => {
    const s = await session(buildVit(VIT_TINY, { seed: 1 }));
    try {
      const pair = image(2, 32, 0.37);
      const both = await runOne(s, { pixel_values: pair });
      expect(both.dims).toEqual([2, 10]);
      const second = new ort.Tensor('float32', (pair.data as Float32Array).slice(3 * 32 * 32), [1, 3, 32, 32]);
      const alone = await runOne(s, { pixel_values: second });
      expect(maxDiff(row(both, 1), row(alone, 0))).toBeLessThan(1e-5);
    } finally {
      await s.release();
    }
  });

  it('BERT text embeddings ignore padding behind the attention mask', async () => {
    const s = await session(buildBert(BERT_TINY, { seed: 2 }));
    const seq = (ids: number[], mask: number[]) => ({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
      attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.map(BigInt)), [1, ids.length]),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(ids.length), [1, ids.length]),
    });
    try {
      const short = await runOne(s, seq([1, 5, 9, 2], [1, 1, 1, 1]));
      const padded = await runOne(s, seq([1, 5, 9, 2, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0]));
      const other = await runOne(s, seq([1, 6, 9, 2], [1, 1, 1, 1]));
      expect(short.dims).toEqual([1, 24]);
      const paddingEffect = maxDiff(short.data as Float32Array, padded.data as Float32Array);
      const tokenEffect = maxDiff(short.data as Float32Array, other.data as Float32Array);
      expect(paddingEffect).toBeLessThan(1e-6);
      // A changed token moves the embedding; padding behind the mask does not.
      expect(tokenEffect).toBeGreaterThan(1e-4);
      expect(tokenEffect).toBeGreaterThan(100 * paddingEffect);
    } finally {
      await s.release();
    }
  });

  it('EfficientNet gives [B, channels] with finite, non-vanishing values and batch-independent rows', async () => {
    const s = await session(buildEfficientNet(EFFICIENTNET_TINY, { seed: 3 }));
    try {
      const pair = image(2, 33, 0.11);
      const both = await runOne(s, { pixel_values: pair });
      const width = roundFilters(EFFICIENTNET_TINY, 320);
      expect(both.dims).toEqual([2, width]);
      const values = both.data as Float32Array;
      expect(values.every(Number.isFinite)).toBe(true);
      expect(values.reduce((a, v) => a + Math.abs(v), 0) / values.length).toBeGreaterThan(1e-3);
      const first = new ort.Tensor('float32', (pair.data as Float32Array).slice(0, 3 * 33 * 33), [1, 3, 33, 33]);
      const alone = await runOne(s, { pixel_values: first });
      expect(maxDiff(row(both, 0), row(alone, 0))).toBeLessThan(1e-5);
    } finally {
      await s.release();
    }
  });
});
