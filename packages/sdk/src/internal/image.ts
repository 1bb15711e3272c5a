import { CoyoInputError } from '../errors.js';

/**
 * An image for any endpoint:
 * - an `http(s)://` URL (string or `URL`, fetched by the edge) or a `data:` URL (sent inline);
 * - `{ url }` or `{ base64 }`, the API's own JSON forms;
 * - bytes: a `Blob`/`File`, an `ArrayBuffer`, a typed array or Node `Buffer`;
 * - a stream of bytes: a web `ReadableStream` or any async iterable of chunks, e.g. a Node `Readable`.
 *
 * Files on disk: `fileFromPath()` from `@coyo/sdk/node`.
 */
export type ImageInput =
  | string
  | URL
  | { url: string }
  | { base64: string }
  | Blob
  | ArrayBuffer
  | ArrayBufferView
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>;

/** An image resolved for sending: a reference the edge fetches or decodes, or bytes. */
export type ResolvedImage = { ref: { url: string } | { base64: string } } | { bytes: Uint8Array<ArrayBuffer>; type: string };

const OCTET_STREAM = 'application/octet-stream';

function fromURLString(url: string, where: string): ResolvedImage {
  if (/^(https?|data):/i.test(url)) return { ref: { url } };
  throw new CoyoInputError(`${where}: a string image must be an http(s):// or data: URL (got ${JSON.stringify(url.slice(0, 40))}); read a file with fileFromPath() from '@coyo/sdk/node'`);
}

function isAsyncIterable(value: object): value is AsyncIterable<unknown> {
  return Symbol.asyncIterator in value;
}

function isReadableStream(value: object): value is ReadableStream<unknown> {
  return typeof ReadableStream !== 'undefined' && value instanceof ReadableStream;
}

function chunkBytes(chunk: unknown, where: string): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return new TextEncoder().encode(chunk);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new CoyoInputError(`${where}: a stream chunk must be bytes`);
}

async function collect(chunks: AsyncIterable<unknown> | ReadableStream<unknown>, where: string): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = [];
  if (isReadableStream(chunks)) {
    const reader = chunks.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(chunkBytes(value, where));
    }
  } else {
    for await (const chunk of chunks) parts.push(chunkBytes(chunk, where));
  }
  const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Reads any {@link ImageInput} into a reference or bytes; anything else is a {@link CoyoInputError}. */
export async function resolveImage(image: ImageInput, where: string): Promise<ResolvedImage> {
  if (typeof image === 'string') return fromURLString(image, where);
  if (typeof image !== 'object') throw new CoyoInputError(`${where}: expected an image, got ${typeof image}`);
  if (image instanceof URL) return fromURLString(image.href, where);
  if (typeof Blob !== 'undefined' && image instanceof Blob) return { bytes: new Uint8Array(await image.arrayBuffer()), type: image.type || OCTET_STREAM };
  if (image instanceof ArrayBuffer) return { bytes: new Uint8Array(image), type: OCTET_STREAM };
  if (ArrayBuffer.isView(image)) return { bytes: new Uint8Array(image.buffer, image.byteOffset, image.byteLength).slice(), type: OCTET_STREAM };
  if (isReadableStream(image) || isAsyncIterable(image)) return { bytes: await collect(image, where), type: OCTET_STREAM };
  if ('url' in image && typeof image.url === 'string') return fromURLString(image.url, where);
  if ('base64' in image && typeof image.base64 === 'string') return { ref: { base64: image.base64 } };
  throw new CoyoInputError(`${where}: an image must be a URL, { url }, { base64 }, a Blob, bytes or a stream`);
}

/** A scalar field of a multipart body: sent as its text (`true` / `false` for booleans). */
type FormScalar = string | number | boolean;

/**
 * The body of a route that takes `images` beside `texts` and scalar options (embeddings, similarity):
 * multipart when there are images and every one is bytes — one `image` part per image and one `text`
 * field per text, each in order, the options as fields — so the bytes travel without base64; JSON
 * otherwise (URLs and base64 strings are references the edge fetches or decodes; bytes beside them go
 * as base64). The edge answers both forms alike.
 */
export async function imagesBody(params: {
  images?: ImageInput[] | undefined;
  texts?: string[] | undefined;
  [field: string]: FormScalar | string[] | ImageInput[] | undefined;
}): Promise<{ form: FormData } | { json: unknown }> {
  const { images, texts, ...fields } = params;
  if (images === undefined) return { json: params };
  if (!Array.isArray(images)) throw new CoyoInputError('images must be an array');
  const resolved = await Promise.all(images.map((image, i) => resolveImage(image, `images[${String(i)}]`)));
  const bytes = resolved.flatMap((image) => ('bytes' in image ? [image] : []));
  if (bytes.length === 0 || bytes.length < resolved.length) return { json: { ...params, images: resolved.map(imageJson) } };
  const form = new FormData();
  for (const text of texts ?? []) form.append('text', text);
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (typeof value === 'object') throw new CoyoInputError(`${name}: expected a string, number or boolean`);
    form.append(name, String(value));
  }
  for (const [i, image] of bytes.entries()) form.append('image', new Blob([image.bytes], { type: image.type }), `image-${String(i)}`);
  return { form };
}

/** A raw image body: its bytes, their media type, and their `Content-Digest` when it can be computed. */
export interface RawImageBody {
  bytes: Uint8Array<ArrayBuffer>;
  type: string;
  /** `sha-256=:<base64>:` (RFC 9530); absent where `crypto.subtle` is not (an insecure browser context). */
  digest?: string;
}

/**
 * The SHA-256 of `bytes` as a `Content-Digest` field value (RFC 9530), or undefined where the runtime
 * has no `crypto.subtle` (Node 20 has it; browsers only in secure contexts). With it the edge looks its
 * caches up before reading the body, and an uncached image travels on to the model unread.
 */
export async function contentDigest(bytes: Uint8Array<ArrayBuffer>): Promise<string | undefined> {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (subtle === undefined) return undefined;
  return `sha-256=:${bytesToBase64(new Uint8Array(await subtle.digest('SHA-256', bytes)))}:`;
}

/** One image of bytes as a raw body: typed `image/*` when its type says so, with its digest. */
export async function rawImageBody(image: { bytes: Uint8Array<ArrayBuffer>; type: string }): Promise<RawImageBody> {
  const type = image.type.startsWith('image/') ? image.type : OCTET_STREAM;
  const digest = await contentDigest(image.bytes);
  return { bytes: image.bytes, type, ...(digest === undefined ? {} : { digest }) };
}

/** The JSON form of a resolved image (bytes become base64). */
export function imageJson(image: ResolvedImage): { url: string } | { base64: string } {
  return 'ref' in image ? image.ref : { base64: bytesToBase64(image.bytes) };
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
