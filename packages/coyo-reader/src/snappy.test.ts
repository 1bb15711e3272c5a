import { snappyUncompress } from 'hyparquet/src/snappy.js';
import { snappyCompress } from 'hyparquet-writer/src/snappy.js';
import { describe, expect, it } from 'vitest';
import { SnappyBlock, SnappyError, snappyDecompress } from './snappy';

/** Bytes that compress into every kind of snappy element: long and short literals, near and far copies, overlapping runs. */
function sample(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  const words = ['https://', 'www.example.com/', 'images/', '.jpg', 'a photo of ', 'the ', ' '];
  let at = 0;
  while (at < length) {
    const r = next() % 10;
    const piece =
      r < 5
        ? new TextEncoder().encode(words[next() % words.length])
        : r < 8
          ? Uint8Array.from({ length: 1 + (next() % 90) }, () => next() & 255)
          : new Uint8Array(1 + (next() % 300)).fill(next() & 255);
    out.set(piece.subarray(0, length - at), at);
    at += piece.length;
  }
  return out;
}

/** Byte equality without a per-element diff (vitest's toEqual walks a large array slowly). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe('SnappyBlock', () => {
  it('decompresses what hyparquet-writer compresses to the bytes hyparquet decompresses, at any size', () => {
    for (const [length, seed] of [[0, 1], [1, 2], [60, 3], [61, 4], [5000, 5], [70_000, 6]] as const) {
      const plain = sample(length, seed);
      const compressed = snappyCompress(plain);
      const reference = new Uint8Array(length);
      snappyUncompress(compressed, reference);
      expect(same(snappyDecompress(compressed, length), reference), `${length} bytes`).toBe(true);
      expect(same(reference, plain)).toBe(true);
    }
  });

  it('decodes only as far as asked, then resumes where it stopped', () => {
    const plain = sample(50_000, 9);
    const block = new SnappyBlock(snappyCompress(plain), plain.length);
    block.ensure(1000);
    expect(block.decoded).toBeGreaterThanOrEqual(1000);
    expect(block.decoded).toBeLessThan(plain.length);
    expect(same(block.output.subarray(0, 1000), plain.subarray(0, 1000))).toBe(true);
    block.ensure(30_000);
    block.ensure(plain.length);
    expect(block.decoded).toBe(plain.length);
    expect(same(block.output, plain)).toBe(true);
  });

  it('decodes URL-like text (short near copies, long far copies, long literals) exactly at every stopping point', () => {
    // Strings of ≥ 32 bytes repeated far apart and short pieces repeated close by: every copy path.
    const words = ['https://img.example.com/', 'photos/2019/', 'a photo of a cat on a sofa, seen from above, in the evening light', 'cat', 'dog', '.jpg', '?w=640'];
    let state = 7;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
    const parts: string[] = [];
    for (let i = 0; i < 3000; i++) parts.push(next() % 4 === 0 ? String(next() % 100_000) : (words[next() % words.length] as string));
    const plain = new TextEncoder().encode(parts.join(''));
    const compressed = snappyCompress(plain);
    expect(same(snappyDecompress(compressed, plain.length), plain)).toBe(true);
    // Stopping anywhere leaves every decoded byte right, including after the eight-byte copies that
    // write past their length: each byte is checked when it is first decoded, all of them at the end.
    const block = new SnappyBlock(compressed, plain.length);
    let checked = 0;
    for (let n = 1; n <= plain.length; n += 1 + (next() % 97)) {
      block.ensure(n);
      expect(same(block.output.subarray(checked, block.decoded), plain.subarray(checked, block.decoded)), `after ensure(${n})`).toBe(true);
      checked = block.decoded;
    }
    block.ensure(plain.length);
    expect(same(block.output, plain)).toBe(true);
  });

  it('copies a short pattern at the very end of the output byte by byte (no room for a word past it)', () => {
    // Preamble 12, a literal of 8 bytes, then a 1-byte-offset copy of 4 bytes from 8 back: the output ends with the copy.
    const block = snappyDecompress(Uint8Array.of(12, 7 << 2, 1, 2, 3, 4, 5, 6, 7, 8, 0b000_000_01, 8), 12);
    expect([...block]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4]);
  });

  it('refuses a block whose declared size is not the page size, a truncated block and a copy from before the start', () => {
    const plain = sample(4000, 11);
    const compressed = snappyCompress(plain);
    expect(() => new SnappyBlock(compressed, plain.length + 1)).toThrow(SnappyError);
    expect(() => snappyDecompress(compressed.subarray(0, compressed.length - 7), plain.length)).toThrow(SnappyError);
    // Preamble 8, then a 1-byte-offset copy of 4 bytes from 1 byte back with nothing written yet.
    expect(() => snappyDecompress(Uint8Array.of(8, 0b000_000_01, 1), 8)).toThrow(/copy from 1 bytes back at output byte 0/);
  });
});
