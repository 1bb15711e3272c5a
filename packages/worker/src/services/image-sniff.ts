/**
 * Recognises image formats by their leading bytes, never by a client's Content-Type, so the backend
 * only ever receives bytes it can decode and every cache key names real image content.
 */

import { ascii, u32be } from './bytes';

/** Formats the backend decodes (sharp/libvips: JPEG, PNG, GIF, WebP, AVIF). */
export type SupportedImageType = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp' | 'image/avif';

export type SniffResult =
  | { supported: true; type: SupportedImageType }
  | { supported: false; type: string | null; reason: string };

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  if (bytes.length < signature.length) return false;
  return signature.every((b, i) => bytes[i] === b);
}

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs', 'mif1', 'msf1']);

/** Brands of an ISO-BMFF `ftyp` box: the major brand first, then the compatible ones. */
function ftypBrands(bytes: Uint8Array): string[] {
  if (ascii(bytes, 4, 4) !== 'ftyp') return [];
  const end = Math.min(bytes.length, u32be(bytes, 0) || bytes.length, 64);
  const brands = [ascii(bytes, 8, 4)];
  for (let offset = 16; offset + 4 <= end; offset += 4) brands.push(ascii(bytes, offset, 4));
  return brands.filter((b) => b !== '');
}

/** Identifies the image format of `bytes` from its magic number. */
export function sniffImageType(bytes: Uint8Array): SniffResult {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { supported: true, type: 'image/jpeg' };
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { supported: true, type: 'image/png' };
  const gif = ascii(bytes, 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') return { supported: true, type: 'image/gif' };
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return { supported: true, type: 'image/webp' };
  const brands = ftypBrands(bytes);
  if (brands.length > 0) {
    const [major] = brands;
    if ((major && AVIF_BRANDS.has(major)) || brands.some((b) => AVIF_BRANDS.has(b))) return { supported: true, type: 'image/avif' };
    if (brands.some((b) => HEIF_BRANDS.has(b))) {
      return { supported: false, type: 'image/heic', reason: 'HEIC/HEIF images are not supported; send JPEG, PNG, GIF, WebP or AVIF' };
    }
  }
  if (ascii(bytes, 0, 2) === 'BM' && bytes.length >= 26) {
    return { supported: false, type: 'image/bmp', reason: 'BMP images are not supported; send JPEG, PNG, GIF, WebP or AVIF' };
  }
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return { supported: false, type: 'image/tiff', reason: 'TIFF images are not supported; send JPEG, PNG, GIF, WebP or AVIF' };
  }
  return { supported: false, type: null, reason: 'the bytes are not a JPEG, PNG, GIF, WebP or AVIF image' };
}
