import { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError } from '../errors.js';

/** Options of the retrying fetch that sits under every SDK call. */
export interface RetryingFetchOptions {
  fetch: typeof fetch;
  maxRetries: number;
  timeoutMs: number;
  /** Injected for tests; defaults to a real timer. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const RETRY_STATUSES = new Set([408, 409, 429, 500, 502, 503, 504]);
const INITIAL_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;

/**
 * Delay before retry `attempt` (0-based): the server's Retry-After when it gives one (≤ 60 s), else
 * exponential back-off from 0.5 s to 8 s with up to 25 % jitter, so synchronised clients spread out.
 */
export function retryDelayMs(attempt: number, headers: Headers | undefined, random: () => number): number {
  const retryAfterMs = headers?.get('retry-after-ms');
  if (retryAfterMs !== null && retryAfterMs !== undefined && /^\d+(\.\d+)?$/.test(retryAfterMs)) {
    const ms = Number(retryAfterMs);
    if (ms <= 60_000) return ms;
  }
  const retryAfter = headers?.get('retry-after');
  if (retryAfter !== null && retryAfter !== undefined) {
    const seconds = /^\d+(\.\d+)?$/.test(retryAfter) ? Number(retryAfter) : (Date.parse(retryAfter) - Date.now()) / 1000;
    if (Number.isFinite(seconds) && seconds >= 0 && seconds <= 60) return seconds * 1000;
  }
  const base = Math.min(INITIAL_DELAY_MS * 2 ** attempt, MAX_DELAY_MS);
  return base * (1 - 0.25 * random());
}

function shouldRetry(response: Response): boolean {
  const explicit = response.headers.get('x-should-retry');
  if (explicit === 'true') return true;
  if (explicit === 'false') return false;
  return RETRY_STATUSES.has(response.status);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Wraps `fetch` with a per-attempt timeout and retries on connection errors, 408, 409, 429 and 5xx.
 * The request body is buffered once so every attempt can resend it.
 */
export function createRetryingFetch(options: RetryingFetchOptions): (input: Request) => Promise<Response> {
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  return async function retryingFetch(input: Request): Promise<Response> {
    const body = input.body === null ? undefined : await input.arrayBuffer();
    const userSignal = input.signal;
    for (let attempt = 0; ; attempt++) {
      if (userSignal.aborted) throw new APIUserAbortError();
      const controller = new AbortController();
      const onAbort = () => controller.abort();
      userSignal.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => controller.abort(), options.timeoutMs);
      const headers = new Headers(input.headers);
      if (attempt > 0) headers.set('x-retry-count', String(attempt));
      let response: Response | undefined;
      let failure: unknown;
      try {
        response = await options.fetch(input.url, {
          method: input.method,
          headers,
          ...(body === undefined ? {} : { body }),
          signal: controller.signal,
          redirect: input.redirect,
        });
      } catch (error) {
        failure = error;
      } finally {
        clearTimeout(timer);
        userSignal.removeEventListener('abort', onAbort);
      }
      if (response !== undefined) {
        if (!shouldRetry(response) || attempt >= options.maxRetries) return response;
        await response.body?.cancel();
        await sleep(retryDelayMs(attempt, response.headers, random));
        continue;
      }
      if (userSignal.aborted) throw new APIUserAbortError();
      const timedOut = controller.signal.aborted;
      if (attempt >= options.maxRetries) {
        if (timedOut) throw new APIConnectionTimeoutError(options.timeoutMs);
        throw new APIConnectionError(undefined, { cause: failure });
      }
      await sleep(retryDelayMs(attempt, undefined, random));
    }
  };
}
