/**
 * The one path every call takes: build the request, send it with retries, read and parse the body,
 * all under one deadline (`timeout`) and the caller's `signal`, so neither a stalled body nor a long
 * Retry-After can outlive them.
 */
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  CoyoError,
  InvalidResponseError,
  retryAfterSeconds,
  type Problem,
} from '../errors.js';
import type { RawImageBody } from './image.js';

/** Per-call options; each overrides the client's own. */
export interface RequestOptions {
  /** Aborts the call (waits and body reading included) with {@link APIUserAbortError}. */
  signal?: AbortSignal;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
  /** Milliseconds for the whole call, retries and waits included. */
  timeout?: number;
  /** Retries on connection errors, 408, 409, 429 and 5xx. */
  maxRetries?: number;
}

/** What a call sends, before the client adds its headers. */
export interface PreparedRequest {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | number | undefined>;
  /** A JSON value, raw bytes with their type (and `Content-Digest`), or a multipart form. */
  body?: { json: unknown } | RawImageBody | { form: FormData };
}

/** The client settings the transport needs. */
export interface TransportConfig {
  baseURL: string;
  fetch: typeof fetch;
  headers: Record<string, string>;
  timeout: number;
  maxRetries: number;
  /** Longest Retry-After honoured, in ms; a longer one is thrown at once with `retryAfter` set. */
  maxRetryAfter: number;
  /** Injected by tests so back-off is deterministic. */
  random?: () => number;
}

const RETRY_STATUSES = new Set([408, 409, 429, 500, 502, 503, 504]);
const INITIAL_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;
/** Request headers the edge's CORS policy allows; any other makes a browser's preflight fail. */
const CORS_SAFE_HEADERS = new Set(['authorization', 'content-type', 'content-digest', 'x-request-id', 'x-retry-count', 'x-coyo-client']);

/** Exponential back-off from 0.5 s to 8 s with up to 25 % jitter, so synchronised clients spread out. */
export function backoffMs(attempt: number, random: () => number): number {
  return Math.min(INITIAL_DELAY_MS * 2 ** attempt, MAX_DELAY_MS) * (1 - 0.25 * random());
}

function shouldRetry(response: Response): boolean {
  const explicit = response.headers.get('x-should-retry');
  if (explicit === 'true') return true;
  if (explicit === 'false') return false;
  return RETRY_STATUSES.has(response.status);
}

/** Why a call's signal fired: the caller, or the deadline. */
class Deadline {
  readonly controller = new AbortController();
  private timedOut = false;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly onUserAbort = () => {
    this.controller.abort();
  };

  constructor(
    readonly timeoutMs: number,
    private readonly userSignal: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, timeoutMs);
    if (userSignal?.aborted === true) this.controller.abort();
    userSignal?.addEventListener('abort', this.onUserAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The SDK error for an aborted call. */
  error(): CoyoError {
    return this.timedOut ? new APIConnectionTimeoutError(this.timeoutMs) : new APIUserAbortError();
  }

  /** Rejects with the SDK error as soon as the call is aborted. */
  race<T>(promise: Promise<T>, onAbort?: () => void): Promise<T> {
    if (this.signal.aborted) {
      onAbort?.();
      promise.catch(() => undefined);
      return Promise.reject(this.error());
    }
    return new Promise<T>((resolve, reject) => {
      const abort = () => {
        onAbort?.();
        reject(this.error());
      };
      this.signal.addEventListener('abort', abort, { once: true });
      promise.then(
        (value) => {
          this.signal.removeEventListener('abort', abort);
          resolve(value);
        },
        (error: unknown) => {
          this.signal.removeEventListener('abort', abort);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  sleep(ms: number): Promise<void> {
    return this.race(new Promise<void>((resolve) => setTimeout(resolve, ms)));
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.userSignal?.removeEventListener('abort', this.onUserAbort);
  }
}

function isBrowser(): boolean {
  return typeof window !== 'undefined' && typeof document !== 'undefined';
}

function buildURL(baseURL: string, request: PreparedRequest): string {
  const url = new URL(baseURL + request.path);
  for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
  return url.toString();
}

function buildBody(request: PreparedRequest, headers: Headers): BodyInit | undefined {
  const body = request.body;
  if (body === undefined) return undefined;
  if ('json' in body) {
    headers.set('content-type', 'application/json');
    return JSON.stringify(body.json);
  }
  if ('bytes' in body) {
    headers.set('content-type', body.type);
    if (body.digest !== undefined) headers.set('content-digest', body.digest);
    return body.bytes;
  }
  return body.form;
}

function connectionError(failure: unknown, headers: Headers): APIConnectionError {
  const blocked = [...headers.keys()].filter((name) => !CORS_SAFE_HEADERS.has(name));
  if (isBrowser() && blocked.length > 0) {
    return new APIConnectionError(
      `Connection error. In a browser this is often a CORS preflight refusing the custom header(s) ${blocked.join(', ')}: ` +
        'the API allows only Authorization, Content-Type, Content-Digest, X-Request-Id, X-Retry-Count and X-Coyo-Client.',
      { cause: failure },
    );
  }
  return new APIConnectionError(undefined, { cause: failure });
}

/** A sent request: the final response (after retries) and the deadline still bounding its body. */
export interface Sent {
  response: Response;
  deadline: Deadline;
}

/** Sends with retries; resolves with a 2xx response or rejects with an SDK error. */
export async function send(config: TransportConfig, prepare: () => Promise<PreparedRequest> | PreparedRequest, options: RequestOptions = {}): Promise<Sent> {
  const deadline = new Deadline(options.timeout ?? config.timeout, options.signal);
  try {
    const request = await deadline.race(Promise.resolve().then(prepare));
    const url = buildURL(config.baseURL, request);
    const maxRetries = options.maxRetries ?? config.maxRetries;
    const random = config.random ?? Math.random;
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers({ ...config.headers, ...options.headers });
      const body = buildBody(request, headers);
      if (attempt > 0) headers.set('x-retry-count', String(attempt));
      let response: Response;
      try {
        response = await deadline.race(config.fetch(url, { method: request.method, headers, signal: deadline.signal, ...(body === undefined ? {} : { body }) }));
      } catch (failure) {
        if (failure instanceof CoyoError) throw failure;
        if (deadline.signal.aborted) throw deadline.error();
        if (attempt >= maxRetries) throw connectionError(failure, headers);
        await deadline.sleep(backoffMs(attempt, random));
        continue;
      }
      if (response.ok) return { response, deadline };
      if (attempt < maxRetries && shouldRetry(response)) {
        const after = retryAfterSeconds(response.headers);
        if (after === undefined || after * 1000 <= config.maxRetryAfter) {
          await response.body?.cancel().catch(() => undefined);
          await deadline.sleep(after === undefined ? backoffMs(attempt, random) : after * 1000);
          continue;
        }
      }
      throw await errorFrom(response, deadline);
    }
  } catch (error) {
    deadline.dispose();
    throw error;
  }
}

/** Reads a body as text under the call's deadline, cancelling the stream when the call is aborted. */
export function readText(sent: Sent): Promise<string> {
  return sent.deadline.race(sent.response.text(), () => void sent.response.body?.cancel().catch(() => undefined));
}

async function errorFrom(response: Response, deadline: Deadline): Promise<APIError> {
  const text = await readText({ response, deadline }).catch((error: unknown) => {
    if (error instanceof CoyoError) throw error;
    return '';
  });
  let problem: Problem | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) problem = { ...parsed };
  } catch {
    problem = undefined;
  }
  return APIError.from(response.status, problem, response.headers);
}

/** Parses a 2xx JSON body; an empty or non-JSON body is an {@link InvalidResponseError}. */
export async function readJson(sent: Sent): Promise<unknown> {
  try {
    const text = await readText(sent).catch((error: unknown) => {
      if (error instanceof CoyoError) throw error;
      throw new InvalidResponseError('The response body could not be read.', sent.response, { cause: error });
    });
    if (text.trim() === '') throw new InvalidResponseError(`The API answered ${String(sent.response.status)} with an empty body.`, sent.response);
    try {
      return JSON.parse(text);
    } catch (error) {
      const type = sent.response.headers.get('content-type') ?? 'no content-type';
      throw new InvalidResponseError(`The API answered ${String(sent.response.status)} with a body that is not JSON (${type}).`, sent.response, { cause: error });
    }
  } finally {
    sent.deadline.dispose();
  }
}
