import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sniffImageFormat } from './image-format.js';

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const ftyp = (...brands: string[]): Uint8Array => {
  const [major = 'mif1', ...compatible] = brands;
  const size = 16 + 4 * compatible.length;
  return Uint8Array.from([0, 0, 0, size, ...ascii('ftyp'), ...ascii(major), 0, 0, 0, 0, ...compatible.flatMap(ascii), 0, 0]);
};

describe('sniffImageFormat', () => {
  it.each([
    ['jpeg', 'jpeg'],
    ['png', 'png'],
    ['webp', 'webp'],
    ['gif', 'gif'],
    ['avif', 'heif'],
  ] as const)('recognises %s written by sharp', async (format, sharpFormat) => {
    const bytes = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } })
      .toFormat(sharpFormat, sharpFormat === 'heif' ? { compression: 'av1' } : {})
      .toBuffer();
    expect(sniffImageFormat(bytes)).toEqual({ supported: true, format: format });
  });

  it('recognises AVIF from a compatible brand when the major brand is generic', () => {
    expect(sniffImageFormat(ftyp('mif1', 'miaf', 'avif'))).toEqual({ supported: true, format: 'avif' });
  });

  it('refuses HEVC-coded HEIF by its brands', () => {
    expect(sniffImageFormat(ftyp('heic', 'mif1', 'heic'))).toEqual({ supported: false, format: 'heif' });
  });

  it('refuses TIFF and unknown bytes', () => {
    expect(sniffImageFormat(Uint8Array.from([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]))).toEqual({ supported: false, format: 'tiff' });
    expect(sniffImageFormat(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toEqual({
      supported: false,
      format: null,
    });
  });

  it('refuses a body shorter than any signature', () => {
    expect(sniffImageFormat(Uint8Array.from([0xff, 0xd8]))).toEqual({ supported: false, format: null });
  });
});
