/** Byte and number encodings shared by the cache, the intake and the API responses. */

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of the bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b] ?? '';
  return out;
}

/** SHA-256 of the bytes (or of a string's UTF-8), as lower-case hex: the content key of the caches. */
export async function sha256Hex(data: Uint8Array<ArrayBuffer> | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return toHex(new Uint8Array(digest));
}

/** Standard base64 of the bytes, built in chunks so large inputs do not overflow the call stack. */
export function bytesToBase64(bytes: Uint8Array): string {
  const CHUNK = 0x8000;
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

/** `Uint8Array.fromBase64` (ES2026; native in the Workers runtime), typed here until the TS lib has it. */
type FromBase64 = (text: string, options?: { alphabet?: 'base64' | 'base64url'; lastChunkHandling?: 'loose' | 'strict' | 'stop-before-partial' }) => Uint8Array<ArrayBuffer>;
const nativeFromBase64: FromBase64 | undefined = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64?.bind(Uint8Array);

/**
 * Decodes standard or URL-safe base64, with or without padding and line breaks; returns `null` when
 * the text is not base64 rather than throwing, so the caller can name the field.
 *
 * A camera-size image is megabytes of base64: the runtime's native decoder reads it in about a
 * millisecond, where replacing characters, `atob` and copying code units in JavaScript took tens of
 * milliseconds of the request's CPU budget. Text the native decoder refuses (a mix of both alphabets,
 * odd padding, other whitespace) goes through the lenient JavaScript path, which decides.
 */
export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> | null {
  if (nativeFromBase64 !== undefined) {
    const alphabet = text.includes('-') || text.includes('_') ? 'base64url' : 'base64';
    try {
      return nativeFromBase64(text, { alphabet });
    } catch {
      // Not base64 for the strict decoder: the lenient one below decides.
    }
  }
  return lenientBase64ToBytes(text);
}

/** {@link base64ToBytes} in plain JavaScript: either alphabet (even mixed), any whitespace, loose padding. */
export function lenientBase64ToBytes(text: string): Uint8Array<ArrayBuffer> | null {
  let clean = text.replace(/[\s]/g, '').replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return null;
  clean = clean.replace(/=+$/, '');
  if (clean.length % 4 === 1) return null;
  clean += '='.repeat((4 - (clean.length % 4)) % 4);
  let binary: string;
  try {
    binary = atob(clean);
  } catch {
    return null;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Decoded size of a base64 text, computed without decoding, to refuse oversize input cheaply. */
export function base64DecodedLength(text: string): number {
  let chars = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Padding and whitespace carry no data.
    if (c !== 61 && c !== 32 && c !== 9 && c !== 10 && c !== 13) chars++;
  }
  return Math.floor((chars * 3) / 4);
}

/** At most the decoded size of a base64 text (every character counted as data), from its length alone. */
export function base64MaxDecodedLength(text: string): number {
  return Math.floor((text.length * 3) / 4);
}

/** Float32 values as little-endian bytes, whatever the platform's byte order (OpenAI's base64 format). */
export function float32ToBytes(values: ArrayLike<number>): Uint8Array<ArrayBuffer> {
  // On a little-endian host (every Workers machine) the float32 array's own bytes are the encoding.
  if (LITTLE_ENDIAN) return new Uint8Array(Float32Array.from(values).buffer);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] ?? 0, true);
  return out;
}

/** The inverse of {@link float32ToBytes}; the byte length must be a multiple of 4. */
export function bytesToFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new RangeError(`float32 data must be a multiple of 4 bytes, got ${bytes.byteLength}`);
  if (LITTLE_ENDIAN) return new Float32Array(bytes.slice().buffer);
  const out = new Float32Array(bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
