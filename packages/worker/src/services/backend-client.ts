/**
 * The worker's client of the GPU backend (docs/backend-protocol.md): images travel as binary bodies,
 * embeddings come back as little-endian float32 rows when the backend offers them (JSON otherwise), and
 * every call carries the shared secret, the request id and the time left (`x-deadline-ms`). Connect
 * errors and 503s are retried with full jitter (honouring `Retry-After`), a circuit breaker stops
 * calls to a backend that keeps failing, and every failure surfaces as a problem with a stable type.
 * Every answer is parsed with the protocol's own schemas (`@coyo/backend-protocol`).
 */
import {
  ClassifyAnswerSchema,
  PhashAnswerSchema,
  EmbedImageAnswerSchema,
  EmbedTextAnswerSchema,
  HEADERS,
  HealthAnswerSchema,
  IMAGE_PART_NAME,
  LIMITS,
  ModelsAnswerSchema,
  ProblemAnswerSchema,
  ROUTES,
  EMBEDDINGS_BINARY_CONTENT_TYPE,
  SHA256_HEX_PATTERN,
  decodeBinaryEmbeddings,
  formatContentDigest,
  decodeVectors,
  type EmbedTextRequest,
  type Model,
  type ModelsAnswer,
} from '@coyo/backend-protocol';
import type { z } from 'zod';
import { ProblemError, type ProblemSlug } from '../errors';
import { pinBody } from './body-pool';
import { DIGEST_MISMATCH_DETAIL } from './claimed-image';
import type { CircuitBreaker } from './circuit-breaker';
import type { SupportedImageType } from './image-sniff';

/** An image as the backend receives it. */
export interface BackendImage {
  bytes: Uint8Array<ArrayBuffer>;
  type: SupportedImageType;
}

/**
 * A raw image body that goes to the backend as the stream it arrived as, unread, with the SHA-256 the
 * caller claims for it (services/claimed-image.ts). A stream is sent once: such a call is never retried.
 */
export interface StreamedImage {
  /** The claimed SHA-256, lower-case hex, sent as `content-digest`. */
  sha256: string;
  contentType: string;
  /** The body; throws when it was already taken. */
  takeStream(): ReadableStream<Uint8Array>;
}

/** What the backend confirmed about a streamed body. */
export interface DigestConfirmation {
  /**
   * `x-coyo-verified-sha256` of the answer: the SHA-256 (hex) the backend computed of the bytes it
   * received and found equal to the claim; null when it sent none (a backend that does not check).
   */
  verifiedSha256: string | null;
}

/** Per-request facts every call carries. */
export interface CallContext {
  requestId: string;
  /** Absolute time (ms, same clock as `now`) by which all backend work of the request must end. */
  deadline: number;
}

export interface BackendClientOptions {
  /** Base URL of the backend; a path prefix is kept (`https://gpu.example/coyo` → `/coyo/v1/...`). */
  baseUrl: string;
  /** Shared secret, sent as `Authorization: Bearer`. */
  token: string;
  fetch: typeof fetch;
  breaker: CircuitBreaker;
  /** Retries after the first attempt, on connect errors and 503 only (default 2). */
  maxRetries?: number;
  /** Base and cap of the full-jitter back-off, in ms (defaults 100 and 2000). */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  now?: (() => number) | undefined;
  random?: (() => number) | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

/** The backend's `GET /v1/models` answer (also how cached copies are checked). */
export const BackendModelsSchema = ModelsAnswerSchema;
/** A problem body, loosely: a proxy in front of the backend may answer with part of one. */
const BackendProblemSchema = ProblemAnswerSchema.partial();

export type BackendModel = Model;
export type BackendModels = ModelsAnswer;

/** Embeddings as compact float32 vectors, one per input, in request order. */
export interface Embeddings {
  model: string;
  /** Revision of the weights that made them; absent from an older backend. */
  revision?: string;
  dim: number;
  vectors: Float32Array[];
}

export interface TextEmbeddings extends Embeddings {
  tokens: number[];
}

export interface Classifications {
  model: string;
  revision?: string | undefined;
  predictions: { label: string; score: number; index: number }[][];
}

/** What `/healthz` of the backend said, or why it could not be asked. */
export type BackendHealth =
  | { status: 'ok'; latencyMs: number; testModels?: boolean | undefined; warning?: string | undefined }
  | { status: 'unreachable' | 'error'; latencyMs: number; detail: string };

/** Most texts one backend call may carry (protocol limit). */
export const BACKEND_MAX_TEXTS = LIMITS.maxTextsPerCall;

/** Parses `Retry-After` (delta-seconds or an HTTP date) into ms, or null. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * The backend's answer came from other weights than the caller expected (or its chunks from two weight
 * sets): what was computed must not be mixed with, or cached as, embeddings of the expected weights.
 */
export class ModelChangedError extends Error {
  constructor(
    readonly expected: { id: string; revision?: string | undefined },
    readonly answered: { id: string; revision?: string | undefined },
  ) {
    super(`the backend answered with ${answered.id}@${answered.revision ?? '?'}; expected ${expected.id}@${expected.revision ?? '?'}`);
    this.name = 'ModelChangedError';
  }
}

/** A 2xx answer: parsed JSON, or the raw bytes of a binary embeddings answer, with its headers. */
type Answer = { kind: 'json'; value: unknown; headers: Headers } | { kind: 'binary'; bytes: ArrayBuffer; headers: Headers };

/** What a call sends as its body, and the headers that describe it. */
type CallBody = () => { body: BodyInit; contentType: string; headers?: Record<string, string> };

/**
 * `Accept` of the embed calls: binary float32 rows first (no JSON text of 640 numbers a vector to parse
 * in the isolate), JSON from a backend that has no binary answer.
 */
const EMBEDDINGS_ACCEPT = `${EMBEDDINGS_BINARY_CONTENT_TYPE}, application/json;q=0.5`;

/** A failure of one attempt, kept apart from final problems so the retry loop can decide. */
class AttemptError extends Error {
  constructor(
    readonly kind: 'connect' | 'timeout' | 'overloaded',
    message: string,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

export class BackendClient {
  readonly #base: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #breaker: CircuitBreaker;
  readonly #maxRetries: number;
  readonly #backoffBaseMs: number;
  readonly #backoffCapMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: BackendClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch;
    this.#breaker = options.breaker;
    this.#maxRetries = options.maxRetries ?? 2;
    this.#backoffBaseMs = options.backoffBaseMs ?? 100;
    this.#backoffCapMs = options.backoffCapMs ?? 2000;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Image-tower embeddings (unnormalised), one per image, in order. */
  async embedImages(images: readonly BackendImage[], ctx: CallContext): Promise<Embeddings> {
    if (images.length === 0) throw new Error('bug: embedImages called with no images');
    const { path } = ROUTES.embedImage;
    const answer = await this.#call('POST', path, ctx, () => imageBody(images), EMBEDDINGS_ACCEPT);
    return this.#imageEmbeddings(answer, images.length, path);
  }

  /**
   * The image-tower embedding of one image whose body goes to the backend unread, as a stream, with its
   * claimed digest in `content-digest`. One attempt only: a stream cannot be sent twice, so a retryable
   * failure is a 503 with `Retry-After` for the caller to retry the whole request. A backend that finds
   * other bytes than the claim answers 400 `digest_mismatch`, which becomes the edge's own.
   */
  async embedImageStream(image: StreamedImage, ctx: CallContext): Promise<Embeddings & DigestConfirmation> {
    const { path } = ROUTES.embedImage;
    const answer = await this.#call('POST', path, ctx, streamBody(image), EMBEDDINGS_ACCEPT, 0);
    return { ...this.#imageEmbeddings(answer, 1, path), verifiedSha256: verifiedSha256Of(answer.headers) };
  }

  #imageEmbeddings(answer: Answer, count: number, path: string): Embeddings {
    if (answer.kind === 'binary') {
      const decoded = this.#binary(answer, count, path);
      return { model: decoded.model, revision: decoded.revision, dim: decoded.dim, vectors: decoded.embeddings };
    }
    const parsed = this.#parse(EmbedImageAnswerSchema, answer.value, path);
    return {
      model: parsed.model,
      ...(parsed.revision === undefined ? {} : { revision: parsed.revision }),
      dim: parsed.dim,
      vectors: this.#vectors(parsed.embeddings, count, parsed.dim, path),
    };
  }

  /**
   * Text-tower embeddings (unnormalised) and token counts, in order; split into protocol-sized calls.
   * Throws {@link ModelChangedError} when the calls were answered by two weight sets (replicas of a
   * backend mid-rollout), since their embeddings must not be combined.
   */
  async embedTexts(texts: readonly string[], ctx: CallContext): Promise<TextEmbeddings> {
    if (texts.length === 0) throw new Error('bug: embedTexts called with no texts');
    const chunks: string[][] = [];
    for (let i = 0; i < texts.length; i += BACKEND_MAX_TEXTS) chunks.push(texts.slice(i, i + BACKEND_MAX_TEXTS));
    const { path } = ROUTES.embedText;
    const results = await Promise.all(
      chunks.map(async (chunk) => {
        const answer = await this.#call(
          'POST',
          path,
          ctx,
          () => ({ body: JSON.stringify({ texts: chunk } satisfies EmbedTextRequest), contentType: 'application/json' }),
          EMBEDDINGS_ACCEPT,
        );
        if (answer.kind === 'binary') {
          const decoded = this.#binary(answer, chunk.length, path);
          if (decoded.tokens === undefined) throw this.#contractError(path, 'a binary text answer carries no token counts');
          return { parsed: { model: decoded.model, revision: decoded.revision, dim: decoded.dim, tokens: decoded.tokens }, vectors: decoded.embeddings };
        }
        const parsed = this.#parse(EmbedTextAnswerSchema, answer.value, path);
        if (parsed.tokens.length !== chunk.length) throw this.#contractError(path, 'token counts do not match the texts');
        return { parsed, vectors: this.#vectors(parsed.embeddings, chunk.length, parsed.dim, path) };
      }),
    );
    const first = results[0];
    if (!first) throw new Error('bug: no text chunks');
    const other = results.find((r) => r.parsed.model !== first.parsed.model || r.parsed.revision !== first.parsed.revision || r.parsed.dim !== first.parsed.dim);
    if (other) throw new ModelChangedError({ id: first.parsed.model, revision: first.parsed.revision }, { id: other.parsed.model, revision: other.parsed.revision });
    return {
      model: first.parsed.model,
      ...(first.parsed.revision === undefined ? {} : { revision: first.parsed.revision }),
      dim: first.parsed.dim,
      vectors: results.flatMap((r) => r.vectors),
      tokens: results.flatMap((r) => r.parsed.tokens),
    };
  }

  /** ViT ImageNet classification: top `topK` classes per image, best first. */
  async classify(images: readonly BackendImage[], topK: number, ctx: CallContext): Promise<Classifications> {
    if (images.length === 0) throw new Error('bug: classify called with no images');
    const { path } = ROUTES.classify;
    const answer = await this.#call('POST', `${path}?top_k=${topK}`, ctx, () => imageBody(images));
    return this.#classifications(answer, images.length, path);
  }

  /** {@link classify} of one image sent as a stream with its claimed digest; one attempt, as {@link embedImageStream}. */
  async classifyStream(image: StreamedImage, topK: number, ctx: CallContext): Promise<Classifications & DigestConfirmation> {
    const { path } = ROUTES.classify;
    const answer = await this.#call('POST', `${path}?top_k=${topK}`, ctx, streamBody(image), 'application/json', 0);
    return { ...this.#classifications(answer, 1, path), verifiedSha256: verifiedSha256Of(answer.headers) };
  }

  #classifications(answer: Answer, count: number, path: string): Classifications {
    const parsed = this.#parse(ClassifyAnswerSchema, this.#json(answer, path), path);
    if (parsed.predictions.length !== count) throw this.#contractError(path, `expected ${count} prediction lists, got ${parsed.predictions.length}`);
    return parsed;
  }

  /** Each image's perceptual hash (`imagehash.phash`, 16 lower-case hex digits), in order. */
  async phash(images: readonly BackendImage[], ctx: CallContext): Promise<string[]> {
    if (images.length === 0) throw new Error('bug: phash called with no images');
    const { path } = ROUTES.phash;
    const answer = await this.#call('POST', path, ctx, () => imageBody(images));
    const parsed = this.#parse(PhashAnswerSchema, this.#json(answer, path), path);
    if (parsed.phashes.length !== images.length) throw this.#contractError(path, `expected ${images.length} hashes, got ${parsed.phashes.length}`);
    return parsed.phashes;
  }

  /** The models the backend serves, with ALIGN's learned temperature. */
  async models(ctx: CallContext): Promise<BackendModels> {
    const { path } = ROUTES.models;
    const answer = await this.#call('GET', path, ctx, null);
    return this.#parse(BackendModelsSchema, this.#json(answer, path), path);
  }

  /**
   * Asks the backend's `/healthz` once, within `timeoutMs`, bypassing retries and the breaker: a
   * health check reports the backend's state, it must not change it or wait on it.
   */
  async health(requestId: string, timeoutMs: number): Promise<BackendHealth> {
    const started = this.#now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const res = await this.#fetch(`${this.#base}${ROUTES.health.path}`, { headers: { [HEADERS.requestId]: requestId }, signal: controller.signal });
      const text = await res.text();
      const latencyMs = this.#now() - started;
      if (!res.ok) return { status: 'error', latencyMs, detail: `backend /healthz answered ${res.status}` };
      const parsed = HealthAnswerSchema.safeParse(safeJson(text));
      if (!parsed.success) return { status: 'error', latencyMs, detail: 'backend /healthz answered malformed JSON' };
      return { status: 'ok', latencyMs, testModels: parsed.data.test_models, warning: parsed.data.warning };
    } catch (err) {
      const latencyMs = this.#now() - started;
      const detail = controller.signal.aborted ? `no answer within ${timeoutMs} ms` : `cannot connect: ${errorMessage(err)}`;
      return { status: 'unreachable', latencyMs, detail };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Asks the backend's `/readyz` once, within `timeoutMs`, bypassing retries and the breaker: true
   * only when it answers 2xx (sessions loaded, not draining). What the breaker asks while open.
   */
  async ready(timeoutMs: number): Promise<boolean> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const res = await this.#fetch(`${this.#base}${ROUTES.ready.path}`, { signal: controller.signal });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One logical call: breaker admission, attempts with retries, outcome reported to the breaker. */
  async #call(
    method: 'GET' | 'POST',
    path: string,
    ctx: CallContext,
    body: CallBody | null,
    accept = 'application/json',
    maxRetries = this.#maxRetries,
  ): Promise<Answer> {
    const admission = await this.#breaker.acquire();
    if (!admission.allowed) {
      const seconds = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
      throw new ProblemError('backend_unavailable', 'the inference backend is failing; calls are paused until it is ready again (circuit open)', {
        headers: { 'retry-after': String(seconds) },
      });
    }
    let healthy = false;
    try {
      const result = await this.#attempts(method, path, ctx, body, accept, maxRetries);
      healthy = true;
      return result;
    } catch (err) {
      // Client errors (a bad image) come from a healthy backend; everything else counts against it.
      healthy = err instanceof ProblemError && err.status < 500 && err.slug !== 'rate_limited';
      throw err;
    } finally {
      if (healthy) this.#breaker.onSuccess();
      else this.#breaker.onFailure();
    }
  }

  async #attempts(
    method: 'GET' | 'POST',
    path: string,
    ctx: CallContext,
    body: CallBody | null,
    accept: string,
    maxRetries: number,
  ): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      const remaining = ctx.deadline - this.#now();
      if (remaining <= 0) throw timeoutProblem(path);
      try {
        return await this.#attempt(method, path, ctx.requestId, Math.floor(remaining), body, accept);
      } catch (err) {
        if (!(err instanceof AttemptError)) throw err;
        if (err.kind === 'timeout') throw timeoutProblem(path);
        const backoff = this.#random() * Math.min(this.#backoffCapMs, this.#backoffBaseMs * 2 ** attempt);
        const wait = Math.max(backoff, err.retryAfterMs ?? 0);
        const left = ctx.deadline - this.#now();
        if (attempt >= maxRetries || wait >= left) {
          const headers: Record<string, string> = {};
          if (err.retryAfterMs !== null) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
          const detail =
            err.kind === 'connect'
              ? `cannot reach the inference backend (${err.message})`
              : `the inference backend is overloaded (${err.message})`;
          throw new ProblemError('backend_unavailable', `${detail}; gave up after ${attempt + 1} attempt(s)`, { headers });
        }
        await this.#sleep(wait);
      }
    }
  }

  /** One HTTP attempt within `remainingMs`; retryable failures throw {@link AttemptError}. */
  async #attempt(
    method: 'GET' | 'POST',
    path: string,
    requestId: string,
    remainingMs: number,
    body: CallBody | null,
    accept: string,
  ): Promise<Answer> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), remainingMs);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      [HEADERS.requestId]: requestId,
      [HEADERS.deadlineMs]: String(remainingMs),
      accept,
    };
    const init: RequestInit = { method, headers, signal: controller.signal };
    if (body) {
      const b = body();
      init.body = b.body;
      // FormData sets its own multipart boundary.
      if (!(b.body instanceof FormData)) headers['content-type'] = b.contentType;
      Object.assign(headers, b.headers);
    }
    try {
      let res: Response;
      try {
        res = await this.#fetch(`${this.#base}${path}`, init);
      } catch (err) {
        if (controller.signal.aborted) throw new AttemptError('timeout', 'deadline passed');
        throw new AttemptError('connect', errorMessage(err));
      }
      const binary = res.ok && (res.headers.get('content-type') ?? '').startsWith(EMBEDDINGS_BINARY_CONTENT_TYPE);
      let text = '';
      let bytes: ArrayBuffer | undefined;
      try {
        if (binary) bytes = await res.arrayBuffer();
        else text = await res.text();
      } catch (err) {
        if (controller.signal.aborted) throw new AttemptError('timeout', 'deadline passed while reading');
        throw new AttemptError('connect', `connection lost while reading: ${errorMessage(err)}`);
      }
      if (bytes !== undefined) return { kind: 'binary', bytes, headers: res.headers };
      if (res.ok) {
        const json = safeJson(text);
        if (json === undefined) throw this.#contractError(path, 'the answer is not JSON');
        return { kind: 'json', value: json, headers: res.headers };
      }
      if (res.status === 503) {
        throw new AttemptError('overloaded', detailOf(backendProblem(text)) ?? 'status 503', parseRetryAfter(res.headers.get(HEADERS.retryAfter), this.#now()));
      }
      throw this.#statusProblem(path, res.status, text);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Maps a non-2xx, non-503 backend answer to the problem the client sees. */
  #statusProblem(path: string, status: number, text: string): ProblemError {
    const problem = backendProblem(text);
    const detail = detailOf(problem) ?? `status ${status}`;
    const type = problem?.type;
    // Only a body sent with a claimed digest can be refused for it: the claim was false.
    if (status === 400 && type === 'digest_mismatch') return new ProblemError('digest_mismatch', DIGEST_MISMATCH_DETAIL);
    // The images' declared pixels over the request's budget, as the edge's own check words it.
    if (status === 413 && type === 'payload_too_large') return new ProblemError('payload_too_large', detail);
    const map: Record<number, ProblemSlug> = {
      413: 'image_too_large',
      415: 'unsupported_media_type',
      422: 'invalid_image',
      504: 'backend_timeout',
    };
    const slug = map[status];
    if (slug === 'backend_timeout') return timeoutProblem(path);
    if (slug) return new ProblemError(slug, detail);
    if (status >= 500 || status === 429) {
      return new ProblemError('backend_unavailable', `the inference backend failed on ${path} (${status}: ${detail})`);
    }
    console.error(JSON.stringify({ level: 'error', message: 'backend refused a worker call', path, status, detail }));
    return new ProblemError('backend_error', `the inference backend refused the call (${status})`);
  }

  #parse<T>(schema: z.ZodType<T>, json: unknown, path: string): T {
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw this.#contractError(path, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return parsed.data;
  }

  /** The JSON of an answer; a binary body where only JSON is defined breaks the protocol. */
  #json(answer: Answer, path: string): unknown {
    if (answer.kind === 'binary') throw this.#contractError(path, `a ${EMBEDDINGS_BINARY_CONTENT_TYPE} answer where JSON was asked for`);
    return answer.value;
  }

  /** A binary embeddings answer holding `expected` rows, with its model and revision; else a contract failure. */
  #binary(answer: Answer & { kind: 'binary' }, expected: number, path: string): ReturnType<typeof decodeBinaryEmbeddings> {
    let decoded: ReturnType<typeof decodeBinaryEmbeddings>;
    try {
      decoded = decodeBinaryEmbeddings(answer.bytes, answer.headers);
    } catch (err) {
      throw this.#contractError(path, errorMessage(err));
    }
    if (decoded.embeddings.length !== expected) throw this.#contractError(path, `expected ${expected} embeddings, got ${decoded.embeddings.length}`);
    return decoded;
  }

  #vectors(rows: number[][], expected: number, dim: number, path: string): Float32Array[] {
    try {
      return decodeVectors(rows, expected, dim);
    } catch (err) {
      throw this.#contractError(path, errorMessage(err));
    }
  }

  #contractError(path: string, detail: string): ProblemError {
    console.error(JSON.stringify({ level: 'error', message: 'backend answer broke the protocol', path, detail }));
    return new ProblemError('backend_error', `the inference backend answered ${path} with an unexpected body`);
  }
}

function timeoutProblem(path: string): ProblemError {
  return new ProblemError('backend_timeout', `the inference backend did not answer ${path} before the request deadline`);
}

/** A streamed image as the body of one call, its claimed digest in `content-digest`. */
function streamBody(image: StreamedImage): CallBody {
  return () => ({ body: image.takeStream(), contentType: image.contentType, headers: { [HEADERS.contentDigest]: formatContentDigest(image.sha256) } });
}

/** The backend's confirmation of a streamed body's digest, when it sent a well-formed one. */
function verifiedSha256Of(headers: Headers): string | null {
  const value = headers.get(HEADERS.verifiedSha256);
  return value !== null && SHA256_HEX_PATTERN.test(value) ? value : null;
}

/** One image as a raw body, several as multipart parts named `image`. */
function imageBody(images: readonly BackendImage[]): { body: BodyInit; contentType: string } {
  // The runtime sends a body without copying it (and may replay it on a redirect): never reuse these buffers.
  for (const img of images) pinBody(img.bytes);
  const [only] = images;
  if (images.length === 1 && only) return { body: only.bytes, contentType: only.type };
  const form = new FormData();
  images.forEach((img, i) => form.append(IMAGE_PART_NAME, new Blob([img.bytes], { type: img.type }), `image-${i}`));
  return { body: form, contentType: 'multipart/form-data' };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A backend problem body, read loosely; undefined when the answer is not one. */
function backendProblem(text: string): z.infer<typeof BackendProblemSchema> | undefined {
  return BackendProblemSchema.safeParse(safeJson(text)).data;
}

/** The `detail` of a backend problem body, if it sent one. */
function detailOf(problem: z.infer<typeof BackendProblemSchema> | undefined): string | undefined {
  return problem === undefined ? undefined : (problem.detail ?? problem.title);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
