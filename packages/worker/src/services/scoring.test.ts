import { describe, expect, it } from 'vitest';
import { cosineMatrix, l2Normalize, rankLabels, softmax } from './scoring';

describe('scoring', () => {
  it('normalises to unit length and leaves a zero vector at zero', () => {
    expect(Array.from(l2Normalize([3, 4]))).toEqual([0.6, 0.8]);
    expect(Array.from(l2Normalize([0, 0]))).toEqual([0, 0]);
  });

  it('computes cosine similarity regardless of vector length', () => {
    const [row] = cosineMatrix([[2, 0]], [[5, 0], [0, 1], [-1, 0]]);
    expect(row).toEqual([1, 0, -1]);
  });

  it('softmax sums to one and survives large logits', () => {
    const p = softmax([1000, 1001]);
    expect((p[0] ?? NaN) + (p[1] ?? NaN)).toBeCloseTo(1, 12);
    expect(p[1]).toBeCloseTo(Math.E / (1 + Math.E), 12);
  });

  it('reproduces the ALIGN reference logits as probabilities', () => {
    // transformers' ALIGN test: cats image, ["a photo of a cat", "a photo of a dog"] → logits [9.7093, 3.4679].
    const [cat, dog] = softmax([9.7093, 3.4679]);
    expect(cat).toBeCloseTo(1 / (1 + Math.exp(3.4679 - 9.7093)), 12);
    expect(dog).toBeLessThan(0.002);
  });

  it('ranks labels best first and keeps request order on ties', () => {
    expect(rankLabels(['a', 'b', 'c'], [0, 2, 0]).map((r) => r.label)).toEqual(['b', 'a', 'c']);
  });
});
