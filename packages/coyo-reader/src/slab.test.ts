import { describe, expect, it } from 'vitest';
import { slabBytes, slabFloat64, slabInt32 } from './slab';

describe('slab buffers', () => {
  it('hands out disjoint, 8-byte aligned regions that share slabs', () => {
    const regions = [slabBytes(5), slabInt32(3), slabFloat64(2), slabBytes(1000), slabBytes(0), slabInt32(1)];
    for (const r of regions) expect(r.byteOffset % 8).toBe(0);
    regions.forEach((r, k) => new Uint8Array(r.buffer, r.byteOffset, r.byteLength).fill(k + 1));
    regions.forEach((r, k) => { expect([...new Uint8Array(r.buffer, r.byteOffset, r.byteLength)].every((b) => b === k + 1)).toBe(true); });
    expect(new Set(regions.slice(0, 4).map((r) => r.buffer)).size).toBeLessThanOrEqual(2);
  });

  it('gives a buffer larger than 32 KB one of its own, and moves to a new slab when one is full', () => {
    const large = slabBytes(40_000);
    expect(large.byteOffset).toBe(0);
    expect(large.buffer.byteLength).toBe(40_000);
    const seen = new Set<ArrayBufferLike>();
    for (let i = 0; i < 20; i++) seen.add(slabBytes(30_000).buffer); // 600 KB: at least three slabs
    expect(seen.size).toBeGreaterThanOrEqual(3);
  });
});
