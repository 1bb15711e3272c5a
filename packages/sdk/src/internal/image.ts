/** An image for any endpoint: a URL the edge fetches, base64 (or a data URL), or raw bytes. */
export type ImageInput = { url: string } | { base64: string } | Blob | ArrayBuffer | ArrayBufferView;

/** The JSON form the API takes: bytes become base64, so one request shape works everywhere. */
export async function toImagePayload(image: ImageInput): Promise<{ url: string } | { base64: string }> {
  if (typeof Blob !== 'undefined' && image instanceof Blob) return { base64: bytesToBase64(new Uint8Array(await image.arrayBuffer())) };
  if (image instanceof ArrayBuffer) return { base64: bytesToBase64(new Uint8Array(image)) };
  if (ArrayBuffer.isView(image)) return { base64: bytesToBase64(new Uint8Array(image.buffer, image.byteOffset, image.byteLength)) };
  if ('url' in image && typeof image.url === 'string') return { url: image.url };
  if ('base64' in image && typeof image.base64 === 'string') return { base64: image.base64 };
  throw new TypeError('image must be { url }, { base64 }, a Blob, an ArrayBuffer or a typed array');
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

/** Decodes an `encoding_format: "base64"` embedding (little-endian float32) into a Float32Array. */
export function decodeBase64Embedding(base64: string): Float32Array {
  const binary = atob(base64);
  const view = new DataView(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) view.setUint8(i, binary.charCodeAt(i));
  const out = new Float32Array(binary.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
