import { describe, expect, it } from 'vitest';
import { WeightedLru } from './lru';

describe('WeightedLru', () => {
  it('evicts the least recently used entries once the weight exceeds the bound', () => {
    const lru = new WeightedLru<string>(10);
    lru.set('a', 'A', 4);
    lru.set('b', 'B', 4);
    expect(lru.get('a')).toBe('A'); // a is now the most recent
    lru.set('c', 'C', 4);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe('A');
    expect(lru.get('c')).toBe('C');
    expect(lru.weight).toBe(8);
  });

  it('keeps a single entry heavier than the bound until the next insert', () => {
    const lru = new WeightedLru<number>(5);
    lru.set('big', 1, 50);
    expect(lru.get('big')).toBe(1);
    lru.set('small', 2, 1);
    expect(lru.get('big')).toBeUndefined();
    expect(lru.weight).toBe(1);
  });

  it('replaces an entry without counting its old weight', () => {
    const lru = new WeightedLru<number>(100);
    lru.set('k', 1, 30);
    lru.set('k', 2, 10);
    expect(lru.weight).toBe(10);
    expect(lru.get('k')).toBe(2);
  });
});
