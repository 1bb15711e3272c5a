/**
 * Magic-byte sniffing, so a body that is not an image we decode is refused before any decoder
 * (and its attack surface) sees it. The declared Content-Type is not trusted.
 */

/** Formats the backend decodes. */
export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif';

/** Recognised but refused: HEVC-coded HEIF (no decoder in the prebuilt libvips), TIFF, BMP, SVG, … */
export type SniffResult =
  | { supported: true; format: ImageFormat }
  | { supported: false; format: string | null };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

function startsWith(bytes: Uint8Array, prefix: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + prefix.length) return false;
  return prefix.every((b, i) => bytes[offset + i] === b);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** Brands of an ISO-BMFF `ftyp` box at the start of the file (major first), or null. */
function ftypBrands(bytes: Uint8Array): string[] | null {
  if (bytes.length < 16 || ascii(bytes, 4, 8) !== 'ftyp') return null;
  const size = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  const end = Math.min(size, bytes.length);
  if (end < 16) return null;
  const brands = [ascii(bytes, 8, 12)];
  for (let p = 16; p + 4 <= end; p += 4) brands.push(ascii(bytes, p, p + 4));
  return brands;
}

/**
 * Identifies the image format from its first bytes.
 *
 * @example sniffImageFormat(pngBytes) // { supported: true, format: 'png' }
 */
export function sniffImageFormat(bytes: Uint8Array): SniffResult {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { supported: true, format: 'jpeg' };
  if (startsWith(bytes, PNG_SIGNATURE)) return { supported: true, format: 'png' };
  if (bytes.length >= 6) {
    const head = ascii(bytes, 0, 6);
    if (head === 'GIF87a' || head === 'GIF89a') return { supported: true, format: 'gif' };
  }
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') {
    return { supported: true, format: 'webp' };
  }
  const brands = ftypBrands(bytes);
  if (brands !== null) {
    if (brands.some((b) => AVIF_BRANDS.has(b))) return { supported: true, format: 'avif' };
    if (brands.some((b) => HEIF_BRANDS.has(b))) return { supported: false, format: 'heif' };
    return { supported: false, format: null };
  }
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return { supported: false, format: 'tiff' };
  }
  if (startsWith(bytes, [0x42, 0x4d])) return { supported: false, format: 'bmp' };
  return { supported: false, format: null };
}
