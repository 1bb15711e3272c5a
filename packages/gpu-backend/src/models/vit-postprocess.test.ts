import { describe, expect, it } from 'vitest';
import { topK } from './vit-postprocess.js';

const LABELS = ['tench', 'goldfish', 'shark', 'ray'];

describe('topK', () => {
  it('returns softmax scores of the k best classes, highest first', () => {
    const logits = new Float32Array([1, 3, 2, 0]);
    const z = Math.exp(1) + Math.exp(3) + Math.exp(2) + Math.exp(0);
    const top = topK(logits, LABELS, 2);
    expect(top.map((p) => [p.label, p.index])).toEqual([
      ['goldfish', 1],
      ['shark', 2],
    ]);
    expect(top[0]?.score).toBeCloseTo(Math.exp(3) / z, 12);
    expect(top[1]?.score).toBeCloseTo(Math.exp(2) / z, 12);
  });

  it('caps k at the number of labels and the scores sum to 1', () => {
    const top = topK(new Float32Array([0.5, -1, 4, 2]), LABELS, 10);
    expect(top).toHaveLength(4);
    expect(top.reduce((s, p) => s + p.score, 0)).toBeCloseTo(1, 12);
  });

  it('stays finite for very large logits', () => {
    const top = topK(new Float32Array([1000, 999, -1000, 0]), LABELS, 2);
    expect(top[0]?.score).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
    expect(Number.isFinite(top[1]?.score)).toBe(true);
  });

  it('orders equal scores by lower index', () => {
    expect(topK(new Float32Array([2, 2, 2, 2]), LABELS, 3).map((p) => p.index)).toEqual([0, 1, 2]);
  });

  it('picks the same classes in the same order as sorting all of them, for any k, ties included', () => {
    const labels = Array.from({ length: 1000 }, (_, i) => `class ${i}`);
    // Few distinct values, so many ties, in an order that is not sorted.
    const logits = Float32Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 13) / 4);
    const byScore = Array.from({ length: 1000 }, (_, i) => i).sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
    for (const k of [1, 5, 32, 33, 200, 1000]) {
      expect(topK(logits, labels, k).map((p) => p.index), `k=${k}`).toEqual(byScore.slice(0, k));
    }
  });

  it('rejects logits that do not match the label count', () => {
    expect(() => topK(new Float32Array(3), LABELS, 1)).toThrow(/3 logits for 4 labels/);
  });

  it('rejects k below 1', () => {
    expect(() => topK(new Float32Array(4), LABELS, 0)).toThrow(RangeError);
  });
});
