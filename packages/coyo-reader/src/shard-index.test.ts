import { describe, expect, it } from 'vitest';
import { statisticsRange } from './shard-index';

describe('statisticsRange', () => {
  it('reads min and max, preferring the exact min_value/max_value fields', () => {
    expect(statisticsRange({ min_value: 0.25, max_value: 0.75, min: 0, max: 1, null_count: 3n }, 50)).toEqual([0.25, 0.75]);
    expect(statisticsRange({ min_value: 10n, max_value: 20n }, 50)).toEqual([10, 20]);
  });

  it('gives a chunk whose values are all NULL the empty range +Infinity..-Infinity', () => {
    expect(statisticsRange({ null_count: 50n }, 50)).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  });

  it('gives NaN when the footer has no statistics', () => {
    expect(statisticsRange(undefined, 50)).toEqual([Number.NaN, Number.NaN]);
    expect(statisticsRange({ null_count: 2n }, 50)).toEqual([Number.NaN, Number.NaN]);
  });
});
