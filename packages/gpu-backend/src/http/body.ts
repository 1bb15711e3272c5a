/**
 * Request bodies, read with limits enforced twice: from `Content-Length` before reading (a liar is
 * refused without reading) and while reading (a stream without a length, or one longer than it said, is
 * cut off at the limit). Nothing here buffers more than the limit.
 */
import { IncomingMessage } from 'node:http';
import { EmbedTextRequestSchema, LIMITS } from '@coyo/backend-protocol';
import type { LimitsConfig } from '../config.js';
import { declaredPixels } from '../models/preprocess.js';
import { HttpProblem } from './problem.js';

/** Longest text accepted, in characters (code points, as the protocol's schema counts them). */
const MAX_TEXT_LENGTH = LIMITS.maxTextLength;

/** `type/subtype` of a Content-Type header, lower-cased, without parameters. */
export function mediaType(header: string | null | undefined): string | undefined {
  const value = header?.split(';', 1)[0]?.trim().toLowerCase();
  return value ? value : undefined;
}

function isImageMediaType(type: string): boolean {
  return type === 'application/octet-stream' || /^image\/[a-z0-9.+-]+$/.test(type);
}

/**
 * The Node request under a Hono context's `env` when the app is served by `@hono/node-server`
 * (`HttpBindings`); `undefined` otherwise (`app.request()` in tests, other runtimes).
 */
export function incomingOf(env: unknown): IncomingMessage | undefined {
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  const { incoming } = env;
  return incoming instanceof IncomingMessage ? incoming : undefined;
}

/** A body being read by {@link readIncoming}. */
interface IncomingBody {
  chunks: Buffer[];
  total: number;
  limit: number;
  what: string;
  owned: boolean;
  /** The body's own buffer, filled as chunks arrive, while they fit in it. */
  into: Uint8Array<ArrayBuffer> | undefined;
  resolve: (bytes: Uint8Array<ArrayBuffer>) => void;
  reject: (error: unknown) => void;
}

/**
 * The bodies being read, by request. The listeners below are shared by every request (an emitter calls
 * them with itself as `this`) and find their body here: a request makes no functions of its own, each of
 * which would also get its name set under tsx.
 */
const incomingBodies = new WeakMap<IncomingMessage, IncomingBody>();

/**
 * Reads `incoming` itself, sparing the web stream and `Request` that reading through `Request.body` builds
 * around it per request. Bytes past `limit` refuse the request as the stream path does.
 *
 * With `owned`, the bytes come back in an `ArrayBuffer` of their own, the exact length (a body with a
 * usable `Content-Length` is copied into a buffer of that length as it arrives, so nothing else is
 * allocated or kept): the caller may transfer that buffer to another thread. Without it, a body that
 * arrived as one chunk is a view of that chunk, which may share its buffer with other data.
 */
function readIncoming(incoming: IncomingMessage, limit: number, what: string, owned = false): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise<Uint8Array<ArrayBuffer>>((resolve, reject) => {
    const declared = owned ? declaredLength(incoming.headers['content-length']) : undefined;
    const into = declared !== undefined && declared > 0 && declared <= limit ? new Uint8Array(declared) : undefined;
    incomingBodies.set(incoming, { chunks: [], total: 0, limit, what, owned, into, resolve, reject });
    incoming.on('data', onIncomingData);
    incoming.on('end', onIncomingEnd);
    incoming.on('error', onIncomingError);
    incoming.on('close', onIncomingClose);
  });
}

/** Stops reading `incoming`'s body and returns its state. */
function endIncoming(incoming: IncomingMessage): IncomingBody | undefined {
  incoming.off('data', onIncomingData);
  incoming.off('end', onIncomingEnd);
  incoming.off('error', onIncomingError);
  incoming.off('close', onIncomingClose);
  const body = incomingBodies.get(incoming);
  incomingBodies.delete(incoming);
  return body;
}

function onIncomingData(this: IncomingMessage, chunk: Buffer): void {
  const body = incomingBodies.get(this);
  if (body === undefined) return;
  const at = body.total;
  body.total += chunk.byteLength;
  if (body.total > body.limit) {
    endIncoming(this);
    // Stop buffering; whatever else arrives is discarded while the 413 is sent.
    this.resume();
    body.reject(new HttpProblem('payload_too_large', `${body.what} is larger than the limit of ${body.limit} bytes`));
    return;
  }
  if (body.into !== undefined && body.total <= body.into.byteLength) {
    body.into.set(chunk, at);
    return;
  }
  if (body.into !== undefined) {
    // More than the length said (Node's parser does not let that happen): keep what came and go on in chunks.
    body.chunks.push(Buffer.from(body.into.buffer, 0, at));
    body.into = undefined;
  }
  body.chunks.push(chunk);
}

function onIncomingEnd(this: IncomingMessage): void {
  const body = endIncoming(this);
  if (body === undefined) return;
  const { chunks, total, into } = body;
  if (into !== undefined) {
    body.resolve(total === into.byteLength ? into : into.slice(0, total));
    return;
  }
  const first = chunks[0];
  if (!body.owned && chunks.length === 1 && first) {
    body.resolve(new Uint8Array(first.buffer as ArrayBuffer, first.byteOffset, first.byteLength));
    return;
  }
  // Not `Buffer.concat`: it takes small results from Node's shared pool.
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  body.resolve(out);
}

function onIncomingError(this: IncomingMessage, error: Error): void {
  endIncoming(this)?.reject(error);
}

function onIncomingClose(this: IncomingMessage): void {
  if (this.complete) return;
  endIncoming(this)?.reject(new Error('the client closed the connection while sending the body'));
}

/** A `Content-Length` header's value, or `undefined` when it is absent or not a plain decimal number. */
function declaredLength(declared: string | null | undefined): number | undefined {
  if (declared === null || declared === undefined || !/^\d+$/.test(declared)) return undefined;
  const n = Number(declared);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Refuses (413) a body whose `Content-Length` alone is over `limit`, before reading any of it. */
function checkDeclaredLength(declared: string | null | undefined, limit: number, what: string): void {
  if (declared !== null && declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit) {
    throw new HttpProblem('payload_too_large', `${what} is ${declared} bytes; the limit is ${limit} bytes`);
  }
}

/**
 * Reads a body of at most `limit` bytes, else throws `payload_too_large` (413). With `incoming` (the Node
 * request the app is served from, not yet read) the bytes come straight from it.
 */
export async function readLimited(request: Request, limit: number, what: string, incoming?: IncomingMessage): Promise<Uint8Array> {
  checkDeclaredLength(request.headers.get('content-length'), limit, what);
  if (incoming !== undefined && !incoming.readableDidRead && !incoming.readableEnded) return readIncoming(incoming, limit, what);
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk: { done: true; value?: unknown } | { done: false; value: unknown } = await reader.read();
    if (chunk.done) break;
    const { value } = chunk;
    if (!(value instanceof Uint8Array)) throw new Error('bug: a request body stream yielded something other than bytes');
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new HttpProblem('payload_too_large', `${what} is larger than the limit of ${limit} bytes`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * The images of an image route: one raw body (`image/*` or `application/octet-stream`) or the parts
 * named `image` of a `multipart/form-data` body, held to the request's pixel budget before any is decoded.
 */
export async function readImages(request: Request, limits: LimitsConfig, incoming?: IncomingMessage): Promise<Uint8Array[]> {
  const images = await readImageBodies(request, limits, incoming);
  await checkRequestPixels(images, limits);
  return images;
}

/**
 * Refuses (413 `payload_too_large`) images whose headers declare more pixels in total than one request
 * may decode, so a request of many images each just under `MAX_IMAGE_PIXELS` cannot take the decoders'
 * memory. Headers are read without decoding; an unreadable one counts nothing (decoding refuses it).
 * When every image at its own limit would still fit (one or two images at the defaults), no header is
 * read here: decoding reads each header anyway and refuses an image over `MAX_IMAGE_PIXELS`.
 */
export async function checkRequestPixels(
  images: readonly Uint8Array[],
  { maxImagePixels, maxRequestPixels }: Pick<LimitsConfig, 'maxImagePixels' | 'maxRequestPixels'>,
): Promise<void> {
  if (images.length * maxImagePixels <= maxRequestPixels) return;
  const sizes = await Promise.all(images.map(declaredPixels));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > maxRequestPixels) {
    throw new HttpProblem(
      'payload_too_large',
      `the images of this request declare ${total} pixels in total; at most ${maxRequestPixels} are decoded per request`,
    );
  }
}

/** An image route's media type, or a 415 problem when it is missing. */
function imageRouteType(contentType: string | null | undefined): string {
  const type = mediaType(contentType);
  if (type === undefined) {
    throw new HttpProblem('unsupported_media_type', 'send an image body with Content-Type image/* or multipart/form-data');
  }
  return type;
}

/** Refuses (415) a raw image body whose type is not an image's. */
function checkRawImageType(type: string): void {
  if (!isImageMediaType(type)) {
    throw new HttpProblem(
      'unsupported_media_type',
      `Content-Type ${type} is not accepted: send image/*, application/octet-stream or multipart/form-data`,
    );
  }
}

/** Refuses (400) an empty image body. */
function nonEmptyImage<T extends Uint8Array>(bytes: T): T {
  if (bytes.byteLength === 0) throw new HttpProblem('invalid_request', 'the request body is empty');
  return bytes;
}

async function readImageBodies(request: Request, limits: LimitsConfig, incoming: IncomingMessage | undefined): Promise<Uint8Array[]> {
  const type = imageRouteType(request.headers.get('content-type'));
  if (type === 'multipart/form-data') return readMultipartImages(request, limits, incoming);
  checkRawImageType(type);
  return [nonEmptyImage(await readLimited(request, limits.maxImageBytes, 'the image', incoming))];
}

/** Whether a request's body is `multipart/form-data` (which only the app reads). */
export function isMultipart(contentType: string | undefined): boolean {
  return mediaType(contentType) === 'multipart/form-data';
}

/**
 * {@link readImages} for a raw image body (`image/*`, `application/octet-stream`) of a Node request served
 * without a `Request` around it (`fast-path.ts`): the same checks, limits and problems. The image comes back
 * in an `ArrayBuffer` of its own, which the caller may transfer to a pre-processing thread.
 */
export async function readImageFromNode(incoming: IncomingMessage, limits: LimitsConfig): Promise<Uint8Array<ArrayBuffer>[]> {
  const type = imageRouteType(incoming.headers['content-type']);
  if (type === 'multipart/form-data') throw new Error('bug: a multipart/form-data body sent to readImageFromNode');
  checkRawImageType(type);
  checkDeclaredLength(incoming.headers['content-length'], limits.maxImageBytes, 'the image');
  const images = [nonEmptyImage(await readIncoming(incoming, limits.maxImageBytes, 'the image', true))];
  await checkRequestPixels(images, limits);
  return images;
}

async function readMultipartImages(request: Request, limits: LimitsConfig, incoming: IncomingMessage | undefined): Promise<Uint8Array[]> {
  const body = await readLimited(request, limits.maxRequestBytes, 'the request body', incoming);
  let form: FormData;
  try {
    // Parse from the bounded copy rather than the stream, so the size limit holds for the whole body.
    const contentType = request.headers.get('content-type') ?? '';
    // Deprecated for server use because it buffers the whole body: this one is already bounded above.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw new HttpProblem('invalid_request', 'the multipart/form-data body could not be parsed');
  }
  const parts = form.getAll('image');
  if (parts.length === 0) throw new HttpProblem('invalid_request', 'the form has no part named "image"');
  if (parts.length > limits.maxImagesPerRequest) {
    throw new HttpProblem(
      'invalid_request',
      `the form has ${parts.length} images; at most ${limits.maxImagesPerRequest} are accepted per request`,
    );
  }
  const images: Uint8Array[] = [];
  for (const [i, part] of parts.entries()) {
    if (typeof part === 'string') throw new HttpProblem('invalid_request', `image part ${i} is a text field, not a file`);
    if (part.size > limits.maxImageBytes) {
      throw new HttpProblem('payload_too_large', `image part ${i} is ${part.size} bytes; the limit is ${limits.maxImageBytes} bytes`);
    }
    const partType = mediaType(part.type);
    if (partType !== undefined && !isImageMediaType(partType)) {
      throw new HttpProblem('unsupported_media_type', `image part ${i} has Content-Type ${partType}, not an image`);
    }
    if (part.size === 0) throw new HttpProblem('invalid_request', `image part ${i} is empty`);
    images.push(new Uint8Array(await part.arrayBuffer()));
  }
  return images;
}

function buildTextsSchema(maxTexts: number) {
  return EmbedTextRequestSchema.extend({
    texts: EmbedTextRequestSchema.shape.texts.max(maxTexts, `texts must hold at most ${maxTexts} texts`),
  });
}

const textsSchemas = new Map<number, ReturnType<typeof buildTextsSchema>>();

/** The protocol's request schema, with this server's (possibly lower) cap on texts per request; built once per cap. */
function textsSchema(maxTexts: number) {
  let schema = textsSchemas.get(maxTexts);
  if (schema === undefined) {
    schema = buildTextsSchema(maxTexts);
    textsSchemas.set(maxTexts, schema);
  }
  return schema;
}

/**
 * The texts of a body the request schema accepts, checked by hand (a schema parse costs more than the
 * rest of reading a short request): an object whose `texts` holds 1 to `maxTexts` strings, other keys
 * ignored. `undefined` for every body it does not accept, which the schema then parses, to refuse it
 * with its message or to accept it: a string longer than {@link MAX_TEXT_LENGTH} UTF-16 units may still
 * be short enough in characters, as the schema counts them.
 */
export function validTexts(json: unknown, maxTexts: number): string[] | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const texts: unknown = (json as { texts?: unknown }).texts;
  if (!Array.isArray(texts) || texts.length < 1 || texts.length > maxTexts || texts.length > LIMITS.maxTextsPerCall) return undefined;
  for (const text of texts) {
    if (typeof text !== 'string' || text.length > MAX_TEXT_LENGTH) return undefined;
  }
  return texts as string[];
}

/** Decodes request bodies; `fatal` refuses bytes that are not UTF-8. Decoding is synchronous, so one serves all. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Refuses (415) a text request whose `Content-Type` is not JSON. */
function checkTextsType(contentType: string | null | undefined): void {
  if (mediaType(contentType) !== 'application/json') {
    throw new HttpProblem('unsupported_media_type', 'send a JSON body with Content-Type application/json');
  }
}

/** Longest text request body: every allowed text fully \u-escaped (6 bytes per UTF-16 unit) plus the JSON around it. */
function textsBodyLimit(limits: LimitsConfig): number {
  return limits.maxTextsPerRequest * MAX_TEXT_LENGTH * 6 + 64 * 1024;
}

/** The texts of a `POST /v1/embed/text` body (JSON `{ texts: string[] }`), or a 400 problem saying what is wrong. */
export function parseTexts(bytes: Uint8Array, limits: LimitsConfig): string[] {
  let json: unknown;
  try {
    json = JSON.parse(UTF8.decode(bytes));
  } catch {
    throw new HttpProblem('invalid_request', 'the body is not valid UTF-8 JSON');
  }
  const texts = validTexts(json, limits.maxTextsPerRequest);
  if (texts !== undefined) return texts;
  const parsed = textsSchema(limits.maxTextsPerRequest).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new HttpProblem('invalid_request', `${where}${issue?.message ?? 'invalid body'}`);
  }
  return parsed.data.texts;
}

/** The texts of `POST /v1/embed/text`: JSON `{ texts: string[] }`. */
export async function readTexts(request: Request, limits: LimitsConfig, incoming?: IncomingMessage): Promise<string[]> {
  checkTextsType(request.headers.get('content-type'));
  return parseTexts(await readLimited(request, textsBodyLimit(limits), 'the request body', incoming), limits);
}

/**
 * {@link readTexts} for a Node request served without a `Request` around it (`fast-path.ts`): the same
 * checks, limits and problems.
 */
export async function readTextsFromNode(incoming: IncomingMessage, limits: LimitsConfig): Promise<string[]> {
  checkTextsType(incoming.headers['content-type']);
  const limit = textsBodyLimit(limits);
  checkDeclaredLength(incoming.headers['content-length'], limit, 'the request body');
  return parseTexts(await readIncoming(incoming, limit, 'the request body'), limits);
}
