/**
 * Binary embeddings: the answer of `/v1/embed/image` and `/v1/embed/text` as raw little-endian float32
 * rows, for a caller that asks with `Accept: application/octet-stream`. JSON stays the default. The body
 * is `count × dim` float32 values, row after row in request order; what the JSON answer carries beside
 * the vectors travels in headers ({@link BINARY_HEADERS}, plus `x-model-revision`). The values are the
 * model's float32 output bit for bit, as the JSON encoding's 9 digits decode to.
 */
import { HEADERS, REVISION_PATTERN } from './wire.js';

/** `Content-Type` of a binary answer, and the `Accept` value that asks for one. */
export const EMBEDDINGS_BINARY_CONTENT_TYPE = 'application/octet-stream';

/** Headers of a binary answer (lower case). */
export const BINARY_HEADERS = {
  /** The model id (the JSON answer's `model`). */
  model: 'x-embedding-model',
  /** Values per embedding (the JSON answer's `dim`). */
  dim: 'x-embedding-dim',
  /** Embeddings in the body. */
  count: 'x-embedding-count',
  /** `/v1/embed/text` only: tokens used per text, comma-separated (the JSON answer's `tokens`). */
  tokens: 'x-text-tokens',
} as const;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Media types of an `Accept` header with their q-values (1 when absent), lower-cased. */
function acceptList(accept: string): Array<{ type: string; q: number }> {
  return accept.split(',').flatMap((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (type === '') return [];
    let q = 1;
    for (const p of params) {
      const m = /^q=([01](?:\.\d{0,3})?)$/.exec(p);
      if (m?.[1] !== undefined) q = Number(m[1]);
    }
    return [{ type, q }];
  });
}

/**
 * Whether an `Accept` header asks for binary embeddings: it names `application/octet-stream` with q > 0
 * and does not rank `application/json` higher. Absent, `*\/*` or JSON-only headers get JSON.
 */
export function acceptsBinaryEmbeddings(accept: string | null | undefined): boolean {
  if (accept === null || accept === undefined || !accept.includes('octet-stream')) return false;
  const list = acceptList(accept);
  const binary = list.find((a) => a.type === EMBEDDINGS_BINARY_CONTENT_TYPE)?.q ?? 0;
  const json = list.find((a) => a.type === 'application/json')?.q ?? 0;
  return binary > 0 && binary >= json;
}

/** The body of a binary answer: `rows` (each `dim` long) as little-endian float32, in order. */
export function encodeBinaryEmbeddings(rows: readonly Float32Array[], dim: number): Uint8Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => {
    if (row.length !== dim) throw new RangeError(`embedding ${i} has ${row.length} values, not dim ${dim}`);
    out.set(row, i * dim);
  });
  const bytes = new Uint8Array(out.buffer);
  if (!LITTLE_ENDIAN) swapEvery4(bytes);
  return bytes;
}

/** What a binary answer holds: the JSON answer's fields, vectors as float32 arrays. */
export interface BinaryEmbeddings {
  model: string;
  revision: string;
  dim: number;
  embeddings: Float32Array[];
  /** Present on `/v1/embed/text` answers. */
  tokens?: number[];
}

/** Minimal view of a `Headers` object, so callers can pass any fetch implementation's. */
interface HeaderReader {
  get(name: string): string | null;
}

const WHOLE = /^\d{1,9}$/;

/**
 * Parses a binary answer; throws a `RangeError` naming what is wrong when the headers are missing or
 * malformed or the body is not `count × dim × 4` bytes (a caller turns that into a contract failure).
 */
export function decodeBinaryEmbeddings(body: ArrayBuffer | Uint8Array, headers: HeaderReader): BinaryEmbeddings {
  const model = headers.get(BINARY_HEADERS.model);
  const revision = headers.get(HEADERS.modelRevision);
  const dimText = headers.get(BINARY_HEADERS.dim);
  const countText = headers.get(BINARY_HEADERS.count);
  if (model === null || model === '') throw new RangeError(`binary embeddings: no ${BINARY_HEADERS.model} header`);
  if (revision === null || !REVISION_PATTERN.test(revision)) throw new RangeError(`binary embeddings: ${HEADERS.modelRevision} is missing or malformed`);
  if (dimText === null || !WHOLE.test(dimText) || Number(dimText) < 1) throw new RangeError(`binary embeddings: ${BINARY_HEADERS.dim} is missing or malformed`);
  if (countText === null || !WHOLE.test(countText)) throw new RangeError(`binary embeddings: ${BINARY_HEADERS.count} is missing or malformed`);
  const dim = Number(dimText);
  const count = Number(countText);
  const bytes = body instanceof Uint8Array ? body : new Uint8Array(body);
  if (bytes.byteLength !== count * dim * 4) {
    throw new RangeError(`binary embeddings: expected ${count} × ${dim} float32 values (${count * dim * 4} bytes), got ${bytes.byteLength} bytes`);
  }
  // A copy, aligned and owned by the caller, in host byte order.
  const own = bytes.slice();
  if (!LITTLE_ENDIAN) swapEvery4(own);
  const all = new Float32Array(own.buffer);
  const embeddings = Array.from({ length: count }, (_, i) => all.subarray(i * dim, (i + 1) * dim));
  const tokensText = headers.get(BINARY_HEADERS.tokens);
  if (tokensText === null) return { model, revision, dim, embeddings };
  const tokens = tokensText === '' ? [] : tokensText.split(',').map((t) => (WHOLE.test(t.trim()) ? Number(t.trim()) : Number.NaN));
  if (tokens.length !== count || tokens.some(Number.isNaN)) throw new RangeError(`binary embeddings: ${BINARY_HEADERS.tokens} does not hold ${count} whole numbers`);
  return { model, revision, dim, embeddings, tokens };
}

function swapEvery4(bytes: Uint8Array): void {
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const a = bytes[i] as number;
    const b = bytes[i + 1] as number;
    bytes[i] = bytes[i + 3] as number;
    bytes[i + 1] = bytes[i + 2] as number;
    bytes[i + 2] = b;
    bytes[i + 3] = a;
  }
}
