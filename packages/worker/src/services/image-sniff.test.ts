import { describe, expect, it } from 'vitest';
import { sniffImageType } from './image-sniff';

const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? Array.from(p, (c) => c.charCodeAt(0)) : p)));

describe('sniffImageType', () => {
  it.each([
    ['JPEG', bytes([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), 'image/jpeg'],
    ['PNG', bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a, 0, 0]), 'image/png'],
    ['GIF89a', bytes('GIF89a', [1, 0]), 'image/gif'],
    ['GIF87a', bytes('GIF87a', [1, 0]), 'image/gif'],
    ['WebP', bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '), 'image/webp'],
    ['AVIF', bytes([0, 0, 0, 0x1c], 'ftypavif', [0, 0, 0, 0], 'avifmif1miaf'), 'image/avif'],
    ['AVIF by compatible brand', bytes([0, 0, 0, 0x18], 'ftypmif1', [0, 0, 0, 0], 'mif1avif'), 'image/avif'],
  ])('recognises %s', (_name, data, type) => {
    expect(sniffImageType(data)).toEqual({ supported: true, type });
  });

  it.each([
    ['HEIC', bytes([0, 0, 0, 0x18], 'ftypheic', [0, 0, 0, 0], 'mif1heic'), /HEIC/],
    ['BMP', bytes('BM', new Array(30).fill(0)), /BMP/],
    ['TIFF', bytes([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]), /TIFF/],
    ['text', bytes('hello, world'), /not a JPEG/],
    ['an empty buffer', new Uint8Array(0), /not a JPEG/],
    ['a truncated PNG signature', bytes([0x89], 'PN'), /not a JPEG/],
  ])('refuses %s with a reason', (_name, data, reason) => {
    const result = sniffImageType(data);
    expect(result.supported).toBe(false);
    if (!result.supported) expect(result.reason).toMatch(reason);
  });
});
