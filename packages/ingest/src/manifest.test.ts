import { describe, expect, it } from 'vitest';
import { formatVersionFor, manifestKey, shardKey } from './manifest.js';

const known = { id: { min: 1, max: 10 }, watermark_score: { min: 0.1, max: 0.9 } };
const noWatermark = { ...known, watermark_score: null };

describe('formatVersionFor', () => {
  it('keeps layout 1 while every range is known', () => {
    expect(formatVersionFor({ columns: known, shards: [{ columns: known }] })).toBe(1);
  });

  it('asks for layout 2 when a shard has a column without a range', () => {
    expect(formatVersionFor({ columns: known, shards: [{ columns: known }, { columns: noWatermark }] })).toBe(2);
  });

  it('asks for layout 2 when only the version has a column without a range', () => {
    expect(formatVersionFor({ columns: noWatermark, shards: [{ columns: known }] })).toBe(2);
  });
});

describe('formatVersionFor with look-up indexes', () => {
  it('asks for layout 3 when every shard has a look-up index, null ranges or not', () => {
    expect(formatVersionFor({ columns: known, shards: [{ columns: known, index_bytes: 400 }] })).toBe(3);
    expect(formatVersionFor({ columns: noWatermark, shards: [{ columns: noWatermark, index_bytes: 400 }] })).toBe(3);
  });
});

describe('object keys', () => {
  it('puts a version under its own prefix, shards numbered in five digits', () => {
    expect(manifestKey('658fe60119ae5582')).toBe('v/658fe60119ae5582/manifest.json');
    expect(shardKey('658fe60119ae5582', 12)).toBe('v/658fe60119ae5582/shard-00012.parquet');
  });
});
