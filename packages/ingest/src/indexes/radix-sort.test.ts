import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import { radixSortKeyIds, sortScratch } from './radix-sort.js';

const MAX = (1n << 64n) - 1n;

function random64(random: Random): bigint {
  return (BigInt(random.uint32()) << 32n) | BigInt(random.uint32());
}

/** The expected order: by key, then by arrival (the id is the arrival index). */
function expected(keys: readonly bigint[]): { key: bigint; id: number }[] {
  return keys.map((key, id) => ({ key, id })).sort((a, b) => (a.key === b.key ? a.id - b.id : a.key < b.key ? -1 : 1));
}

function sorted(keys: readonly bigint[], capacity = keys.length): { key: bigint; id: number }[] {
  const data = sortScratch(capacity);
  keys.forEach((key, i) => {
    data.keys[i] = key;
    data.ids[i] = i;
  });
  for (let i = keys.length; i < capacity; i++) data.ids[i] = -1;
  radixSortKeyIds(data, keys.length, sortScratch(keys.length));
  for (let i = keys.length; i < capacity; i++) expect(data.ids[i]).toBe(-1);
  return keys.map((_, i) => ({ key: data.keys[i] as bigint, id: data.ids[i] as number }));
}

describe('radixSortKeyIds', () => {
  it('orders random keys with duplicates, 0 and 2^64 - 1 as a stable comparator sort does', () => {
    const random = new Random(3);
    for (const length of [0, 1, 2, 3, 17, 1000, 20_000]) {
      const pool = [0n, MAX, 1n, MAX - 1n, 1n << 63n, 0xffffn, 0x10000n];
      for (let i = 0; i < 64; i++) pool.push(random64(random));
      const keys = Array.from({ length }, () => (random.uint32() % 3 === 0 ? (pool[random.uint32() % pool.length] as bigint) : random64(random)));
      expect(sorted(keys)).toEqual(expected(keys));
    }
  });

  it('sorts keys that differ only in some digits (skipped passes) and keys that are all equal', () => {
    const random = new Random(5);
    for (const shift of [0n, 16n, 32n, 48n]) {
      const keys = Array.from({ length: 3000 }, () => (BigInt(random.uint32() & 0xffff) << shift) | 0x0123_0000_0000_0000n);
      expect(sorted(keys)).toEqual(expected(keys));
    }
    const high = Array.from({ length: 500 }, () => (BigInt(random.uint32() % 5) << 61n) | BigInt(random.uint32() % 3));
    expect(sorted(high)).toEqual(expected(high));
    const same = Array.from({ length: 100 }, () => MAX);
    expect(sorted(same)).toEqual(expected(same));
  });

  it('sorts the front of arrays longer than the records and leaves the rest alone', () => {
    const random = new Random(7);
    const keys = Array.from({ length: 300 }, () => random64(random) >> BigInt(random.uint32() % 64));
    expect(sorted(keys, 512)).toEqual(expected(keys));
  });

  it('refuses a scratch shorter than the records', () => {
    const data = sortScratch(10);
    expect(() => { radixSortKeyIds(data, 10, sortScratch(9)); }).toThrow(/scratch/);
    expect(() => { radixSortKeyIds(data, 11, sortScratch(11)); }).toThrow(/bug/);
  });
});
