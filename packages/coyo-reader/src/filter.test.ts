import { describe, expect, it } from 'vitest';
import {
  CursorError,
  decodeCursor,
  encodeCursor,
  matchesPredicate,
  predicateFingerprint,
  predicateValue,
  rangeMayMatch,
  recordedRangeMayMatch,
  sqlBound,
  sqlPredicate,
} from './filter';

describe('matchesPredicate', () => {
  it('includes both bounds and never matches NaN', () => {
    const p = { column: 'width' as const, min: 200, max: 300 };
    expect([199, 200, 300, 301, Number.NaN].map((v) => matchesPredicate(p, v))).toEqual([false, true, true, false, false]);
  });
});

describe('float bounds, compared as SQL compares them on a FLOAT column', () => {
  const stored = Math.fround(0.3); // 0.30000001192…, what a float32 column holds for 0.3

  it('cast the bound to float32, so min=max=0.3 matches the stored 0.3', () => {
    const p = { column: 'clip_similarity_vitb32' as const, min: 0.3, max: 0.3 };
    expect(matchesPredicate(p, stored)).toBe(true);
    expect(rangeMayMatch(p, stored, stored)).toBe(true);
    expect(recordedRangeMayMatch(p, { min: stored, max: stored })).toBe(true);
  });

  it('round max=0.2 up to the float32 0.2, which the widened comparison would leave out', () => {
    const p = { column: 'clip_similarity_vitb32' as const, max: 0.2 };
    const f = Math.fround(0.2);
    expect(f).toBeGreaterThan(0.2);
    expect(matchesPredicate(p, f)).toBe(true);
    expect(rangeMayMatch(p, f, 1)).toBe(true);
    const below = { column: 'clip_similarity_vitb32' as const, min: 0.2 };
    expect(matchesPredicate(below, f)).toBe(true);
  });

  it('leave integer columns and bounds already in float32 alone; beyond float32 a bound is ±Infinity', () => {
    expect(sqlBound('width', 200.5)).toBe(200.5);
    expect(sqlBound('watermark_score', 0.5)).toBe(0.5);
    expect(sqlBound('watermark_score', 1e39)).toBe(Number.POSITIVE_INFINITY);
    expect(sqlPredicate({ column: 'nsfw_score_gantman', min: 0.1 })).toEqual({ column: 'nsfw_score_gantman', min: Math.fround(0.1) });
    expect(sqlPredicate(sqlPredicate({ column: 'nsfw_score_gantman', max: 0.1 }))).toEqual(sqlPredicate({ column: 'nsfw_score_gantman', max: 0.1 }));
  });
});

describe('predicateValue', () => {
  it('turns NULL into NaN, so a NULL cell satisfies no bound, not even min=0', () => {
    const p = { column: 'watermark_score' as const, min: 0 };
    expect(matchesPredicate(p, predicateValue(null))).toBe(false);
    expect(matchesPredicate({ column: 'num_faces', max: 0 }, predicateValue(undefined))).toBe(false);
  });

  it('reads float and int64 cells as numbers', () => {
    expect(predicateValue(0.5)).toBe(0.5);
    expect(predicateValue(2680060225205n)).toBe(2680060225205);
  });
});

describe('rangeMayMatch', () => {
  it('rules a range out only when its statistics prove no match', () => {
    const p = { column: 'aesthetic_score_laion_v2' as const, min: 6 };
    expect(rangeMayMatch(p, 1, 5.99)).toBe(false);
    expect(rangeMayMatch(p, 1, 6)).toBe(true);
    expect(rangeMayMatch(p, Number.NaN, Number.NaN)).toBe(true);
  });

  it('rules the empty range of an all-NULL row group out for any bound', () => {
    const [min, max] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    expect(rangeMayMatch({ column: 'num_faces', min: 0 }, min, max)).toBe(false);
    expect(rangeMayMatch({ column: 'num_faces', max: 0 }, min, max)).toBe(false);
  });
});

describe('recordedRangeMayMatch', () => {
  it('rules a shard out for a column the manifest records as having no values', () => {
    expect(recordedRangeMayMatch({ column: 'watermark_score', min: 0 }, null)).toBe(false);
    expect(recordedRangeMayMatch({ column: 'watermark_score', max: 1 }, null)).toBe(false);
  });

  it('keeps a shard whose manifest does not list the column', () => {
    expect(recordedRangeMayMatch({ column: 'watermark_score', min: 0 }, undefined)).toBe(true);
  });

  it('tests a recorded range like row-group statistics', () => {
    const p = { column: 'watermark_score' as const, min: 0.5 };
    expect(recordedRangeMayMatch(p, { min: 0, max: 0.4 })).toBe(false);
    expect(recordedRangeMayMatch(p, { min: 0, max: 0.5 })).toBe(true);
  });
});

describe('cursor', () => {
  const f = predicateFingerprint([{ column: 'width', min: 300 }]);

  it('round-trips through its opaque text form', () => {
    const text = encodeCursor({ v: 1, after: 2680060225205, f });
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text, f)).toEqual({ v: 1, after: 2680060225205, f });
  });

  it('does not depend on the order predicates were given in', () => {
    const a = predicateFingerprint([{ column: 'width', min: 1 }, { column: 'height', max: 9 }]);
    const b = predicateFingerprint([{ column: 'height', max: 9 }, { column: 'width', min: 1 }]);
    expect(a).toBe(b);
    expect(a).not.toBe(predicateFingerprint([{ column: 'width', min: 1 }]));
  });

  it.each([['garbage!'], [btoa('{"v":2,"after":1,"f":"00000000"}')], [btoa('{"v":1,"after":1.5,"f":"00000000"}')]])('refuses %s', (text) => {
    expect(() => decodeCursor(text, f)).toThrow(CursorError);
  });

  it('refuses a cursor issued for other predicates', () => {
    const other = encodeCursor({ v: 1, after: 5, f: predicateFingerprint([]) });
    expect(() => decodeCursor(other, f)).toThrow(/different filter/);
  });
});
