/**
 * Admission control for backend-bound work, per isolate: past `ADMISSION_MAX_IN_FLIGHT` requests in
 * flight, or past `ADMISSION_MAX_BODY_BYTES` of request bodies held by them, a new request is refused at
 * once with 503 `overloaded` and `Retry-After`, before its body is read. Two steps: {@link admissionGate}
 * before auth refuses while the isolate is full, with no I/O at all (auth's KV read and the rate
 * limiter's call would each queue the refusal behind the work the isolate already holds);
 * {@link admission} after auth and the rate limit takes the permit, so only authenticated callers
 * within their quota hold one, and a key over its quota still hears 429 while there is room.
 *
 * Why: an isolate runs its requests on one thread. Without a bound, work above saturation queues in
 * the isolate (each request holding its body, its images, its share of the event loop) and every
 * answer slows down together, refusals included; the backend's own queue bound (503 `overloaded`)
 * comes too late, after the edge has read and forwarded the body. A permit taken here is the same
 * pattern as the backend's: when full, answer at once, never grow a queue.
 *
 * Bodies are counted by their declared `Content-Length` (capped at `MAX_REQUEST_BYTES`, which the body
 * limit enforces anyway); a body of unknown length counts as `MAX_REQUEST_BYTES`, the most the readers
 * accept. Images fetched from URLs are not in the count: the in-flight bound caps them (each request
 * at most `MAX_REQUEST_BYTES`). A lone request is always admitted, whatever its size.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ProblemError } from '../errors';

/** The bounds of one isolate. */
export interface AdmissionLimits {
  /** Backend-bound requests in flight at once. */
  maxInFlight: number;
  /** Bytes of request bodies those requests may hold together. */
  maxBodyBytes: number;
}

/** What the limiter has counted since the isolate started. */
export interface AdmissionStats {
  /** Requests holding a permit now. */
  inFlight: number;
  /** Body bytes charged to them now. */
  bodyBytes: number;
  /** Requests admitted since start. */
  admitted: number;
  /** Requests refused since start. */
  refused: number;
}

/** A held permit; `release` is idempotent. */
export interface AdmissionPermit {
  release(): void;
}

export type AdmissionDecision =
  | { admitted: true; permit: AdmissionPermit }
  | { admitted: false; reason: 'in_flight' | 'body_bytes'; stats: AdmissionStats };

/**
 * Counts permits for backend-bound requests. One per isolate (the app's runtime holds it), so every
 * request of the isolate draws from the same bounds.
 *
 * @example
 * const decision = limiter.tryAcquire(contentLength, { maxInFlight: 64, maxBodyBytes: 64 * 2 ** 20 });
 * if (decision.admitted) try { await work(); } finally { decision.permit.release(); }
 */
export class AdmissionLimiter {
  #inFlight = 0;
  #bodyBytes = 0;
  #admitted = 0;
  #refused = 0;

  /** Which bound a request charged with `bodyBytes` would pass now, if any. */
  #blocking(bodyBytes: number, limits: AdmissionLimits): 'in_flight' | 'body_bytes' | undefined {
    if (!Number.isFinite(bodyBytes) || bodyBytes < 0) throw new Error(`bug: admission charged ${String(bodyBytes)} body bytes`);
    if (this.#inFlight >= limits.maxInFlight) return 'in_flight';
    return this.#inFlight > 0 && this.#bodyBytes + bodyBytes > limits.maxBodyBytes ? 'body_bytes' : undefined;
  }

  /**
   * Refuses (and counts) a request the isolate has no room for now, without taking a permit: the
   * check before auth. Undefined when there is room.
   */
  refuseIfFull(bodyBytes: number, limits: AdmissionLimits): Extract<AdmissionDecision, { admitted: false }> | undefined {
    const reason = this.#blocking(bodyBytes, limits);
    if (reason === undefined) return undefined;
    this.#refused += 1;
    return { admitted: false, reason, stats: this.stats };
  }

  /** Takes a permit charged with `bodyBytes`, or says which bound refused it (and counts it). Never waits. */
  tryAcquire(bodyBytes: number, limits: AdmissionLimits): AdmissionDecision {
    const refusal = this.refuseIfFull(bodyBytes, limits);
    if (refusal !== undefined) return refusal;
    this.#inFlight += 1;
    this.#bodyBytes += bodyBytes;
    this.#admitted += 1;
    let held = true;
    return {
      admitted: true,
      permit: {
        release: () => {
          if (!held) return;
          held = false;
          this.#inFlight -= 1;
          this.#bodyBytes -= bodyBytes;
        },
      },
    };
  }

  get stats(): AdmissionStats {
    return { inFlight: this.#inFlight, bodyBytes: this.#bodyBytes, admitted: this.#admitted, refused: this.#refused };
  }
}

/**
 * The bytes a request's body is charged with: its declared `Content-Length`, at most `maxRequestBytes`;
 * `maxRequestBytes` when the length is unknown or malformed; 0 for a request without a body.
 */
export function chargedBodyBytes(request: Request, maxRequestBytes: number): number {
  const declared = request.headers.get('content-length');
  if (declared === null) return request.body === null ? 0 : maxRequestBytes;
  const n = /^\d+$/.test(declared.trim()) ? Number(declared.trim()) : Number.NaN;
  return Number.isSafeInteger(n) ? Math.min(n, maxRequestBytes) : maxRequestBytes;
}

/** The limiter's state as `/healthz` reports it. */
export function admissionReport(
  limiter: AdmissionLimiter,
  limits: AdmissionLimits,
): { in_flight: number; max_in_flight: number; body_bytes: number; admitted: number; refused: number } {
  const { inFlight, bodyBytes, admitted, refused } = limiter.stats;
  return { in_flight: inFlight, max_in_flight: limits.maxInFlight, body_bytes: bodyBytes, admitted, refused };
}

/** Seconds a refused client is told to wait. */
export const ADMISSION_RETRY_AFTER_SECONDS = 1;

/**
 * Reads what is left of a refused request's body and throws it away. A connection whose request body
 * was left unread is cut, and a proxy in front (wrangler's dev proxy: measured with bench:stack, image
 * bodies at 64–128 in flight) turns the cut into connection errors and worker restarts for its other
 * requests.
 */
async function discardBody(request: Request): Promise<void> {
  try {
    await request.body?.pipeTo(new WritableStream());
  } catch {
    // The client went away: nothing left to discard.
  }
}

/** Bodies up to this declared size are read away before the refusal is sent; larger ones after it. */
const DISCARD_BEFORE_ANSWER_BYTES = 1024 * 1024;

/**
 * Disposes of a refused request's body: a small declared one (most requests) is read away first, so
 * the answer leaves on a connection with nothing unread; a large or unknown one after the answer,
 * which must not wait for it.
 */
async function disposeOfBody(request: Request, chargedBytes: number, defer: (work: Promise<unknown>) => void): Promise<void> {
  if (request.headers.has('content-length') && chargedBytes <= DISCARD_BEFORE_ANSWER_BYTES) await discardBody(request);
  else defer(discardBody(request));
}

/** The 503 `overloaded` problem of a refusal. */
function overloaded(refusal: Extract<AdmissionDecision, { admitted: false }>, bytes: number, limits: AdmissionLimits): ProblemError {
  const detail =
    refusal.reason === 'in_flight'
      ? `this edge isolate is at its limit of ${limits.maxInFlight} backend-bound requests in flight (ADMISSION_MAX_IN_FLIGHT); retry after ${ADMISSION_RETRY_AFTER_SECONDS} s`
      : `this edge isolate holds ${refusal.stats.bodyBytes} bytes of request bodies; ${bytes} more would pass ADMISSION_MAX_BODY_BYTES (${limits.maxBodyBytes}); retry after ${ADMISSION_RETRY_AFTER_SECONDS} s`;
  return new ProblemError('overloaded', detail, { headers: { 'retry-after': String(ADMISSION_RETRY_AFTER_SECONDS) } });
}

/**
 * The check before auth on the backend-bound routes: while the isolate is full, refuses at once (503
 * `overloaded`, `Retry-After`), synchronously, before any I/O; otherwise lets the request on to auth
 * without taking a permit ({@link admission} takes it).
 *
 * @example app.on('POST', '/v1/embeddings', admissionGate()); app.use('/v1/*', auth())
 */
export function admissionGate(): MiddlewareHandler<AppEnv> {
  return async function admissionGateMiddleware(c, next) {
    const { admission: limiter, config, defer } = c.var.services();
    const bytes = chargedBodyBytes(c.req.raw, config.maxRequestBytes);
    const refusal = limiter.refuseIfFull(bytes, config.admission);
    if (refusal !== undefined) {
      await disposeOfBody(c.req.raw, bytes, defer);
      throw overloaded(refusal, bytes, config.admission);
    }
    await next();
  };
}

/**
 * Admission middleware for the backend-bound routes, after auth and the rate limit; the limiter and
 * its bounds come from the request's services (one limiter per isolate, bounds from `ADMISSION_*`).
 * Throws a 503 `overloaded` problem with `Retry-After` when the isolate is full; otherwise holds the
 * permit until the handler has produced its response.
 *
 * @example app.on('POST', '/v1/embeddings', admission())
 */
export function admission(): MiddlewareHandler<AppEnv> {
  return async function admissionMiddleware(c, next) {
    const { admission: limiter, config, defer } = c.var.services();
    const bytes = chargedBodyBytes(c.req.raw, config.maxRequestBytes);
    const decision = limiter.tryAcquire(bytes, config.admission);
    if (!decision.admitted) {
      await disposeOfBody(c.req.raw, bytes, defer);
      throw overloaded(decision, bytes, config.admission);
    }
    try {
      await next();
    } finally {
      decision.permit.release();
    }
  };
}
