import { describe, expect, it } from 'vitest';
import { percentile, summarise } from './stats.js';

describe('percentile', () => {
  it('picks by nearest rank', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
  });
});

describe('summarise', () => {
  it('derives sequential look-ups per second from the mean', () => {
    expect(summarise([2, 2, 2, 2])).toMatchObject({ p50_ms: 2, mean_ms: 2, per_second: 500 });
  });
});
