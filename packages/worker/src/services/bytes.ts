/** Readers of fixed-width fields in image headers; a field past the end reads as zeros (or as ''). */

/** `length` bytes at `start` as Latin-1 text, or '' when `bytes` ends before them. */
export function ascii(bytes: Uint8Array, start: number, length: number): string {
  if (bytes.length < start + length) return '';
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

/** Big-endian unsigned 16-bit integer at `i`. */
export function u16be(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}

/** Little-endian unsigned 16-bit integer at `i`. */
export function u16le(b: Uint8Array, i: number): number {
  return (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
}

/** Little-endian unsigned 24-bit integer at `i`. */
export function u24le(b: Uint8Array, i: number): number {
  return (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16);
}

/** Big-endian unsigned 32-bit integer at `i`. */
export function u32be(b: Uint8Array, i: number): number {
  return (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
}
