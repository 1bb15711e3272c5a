import { describe, expect, it } from 'vitest';
import { CursorError, decodeCursor, encodeCursor, matchesPredicate, predicateFingerprint, rangeMayMatch } from './filter';

describe('matchesPredicate', () => {
  it('includes both bounds and never matches NaN', () => {
    const p = { column: 'width' as const, min: 200, max: 300 };
    expect([199, 200, 300, 301, Number.NaN].map((v) => matchesPredicate(p, v))).toEqual([false, true, true, false, false]);
  });
});

describe('rangeMayMatch', () => {
  it('rules a range out only when its statistics prove no match', () => {
    const p = { column: 'aesthetic_score_laion_v2' as const, min: 6 };
    expect(rangeMayMatch(p, 1, 5.99)).toBe(false);
    expect(rangeMayMatch(p, 1, 6)).toBe(true);
    expect(rangeMayMatch(p, Number.NaN, Number.NaN)).toBe(true);
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
