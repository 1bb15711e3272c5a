/**
 * Reads an image's width and height from its header, without decoding a pixel, so the edge can refuse
 * a request whose images would decode to too many pixels before the backend spends memory on them.
 * The backend reads the same headers (libvips) and enforces its own caps; this is the cheap first gate.
 */
import { ascii, u16be, u16le, u24le, u32be } from './bytes';
import type { SupportedImageType } from './image-sniff';

export interface ImageDimensions {
  width: number;
  height: number;
}

function sized(width: number, height: number): ImageDimensions | null {
  return width >= 1 && height >= 1 ? { width, height } : null;
}

/** PNG: the IHDR chunk always comes first. */
function png(b: Uint8Array): ImageDimensions | null {
  if (b.length < 24 || ascii(b, 12, 4) !== 'IHDR') return null;
  return sized(u32be(b, 16), u32be(b, 20));
}

/** GIF: the logical screen, which every frame is drawn on. */
function gif(b: Uint8Array): ImageDimensions | null {
  if (b.length < 10) return null;
  return sized(u16le(b, 6), u16le(b, 8));
}

/** WebP: lossy (VP8), lossless (VP8L) or extended (VP8X, the canvas). */
function webp(b: Uint8Array): ImageDimensions | null {
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8X' && b.length >= 30) return sized(u24le(b, 24) + 1, u24le(b, 27) + 1);
  if (chunk === 'VP8L' && b.length >= 25 && b[20] === 0x2f) {
    const bits = ((b[21] ?? 0) | ((b[22] ?? 0) << 8) | ((b[23] ?? 0) << 16) | ((b[24] ?? 0) << 24)) >>> 0;
    return sized((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8 ' && b.length >= 30 && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) {
    return sized(u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff);
  }
  return null;
}

/** JPEG: the first start-of-frame marker (any SOFn; not DHT, JPG or DAC, which share the range). */
function jpeg(b: Uint8Array): ImageDimensions | null {
  let i = 2;
  while (i + 3 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1] ?? 0;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // no length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image or start of scan before any frame
    const length = u16be(b, i + 2);
    if (length < 2) return null;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > b.length) return null;
      return sized(u16be(b, i + 7), u16be(b, i + 5));
    }
    i += 2 + length;
  }
  return null;
}

/**
 * AVIF: the `ispe` (image spatial extent) properties in `meta/iprp/ipco`. The largest one is taken, so
 * a small thumbnail or alpha plane never hides the primary image's size.
 */
function avif(b: Uint8Array): ImageDimensions | null {
  let best: ImageDimensions | null = null;
  const walk = (start: number, end: number, depth: number): void => {
    let i = start;
    while (i + 8 <= end && depth < 6) {
      let size = u32be(b, i);
      const type = ascii(b, i + 4, 4);
      let header = 8;
      if (size === 1) return; // 64-bit sizes only occur for media data, which comes after the header boxes
      if (size === 0) size = end - i;
      if (size < header || i + size > end) return;
      if (type === 'meta') header += 4; // a full box: version and flags
      if (type === 'ispe' && size >= 20) {
        const found = sized(u32be(b, i + 12), u32be(b, i + 16));
        if (found && (!best || found.width * found.height > best.width * best.height)) best = found;
      } else if (type === 'meta' || type === 'iprp' || type === 'ipco') {
        walk(i + header, i + size, depth + 1);
      }
      i += size;
    }
  };
  walk(0, b.length, 0);
  return best;
}

/**
 * The width and height an image's header declares, or null when the header cannot be read (the
 * backend then refuses the image as invalid when it tries to decode it).
 *
 * @example imageDimensions(pngBytes, 'image/png') // { width: 640, height: 480 }
 */
export function imageDimensions(bytes: Uint8Array, type: SupportedImageType): ImageDimensions | null {
  switch (type) {
    case 'image/png':
      return png(bytes);
    case 'image/gif':
      return gif(bytes);
    case 'image/webp':
      return webp(bytes);
    case 'image/jpeg':
      return jpeg(bytes);
    case 'image/avif':
      return avif(bytes);
  }
}
