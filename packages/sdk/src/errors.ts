/** A problem+json body as the coyo-edge API returns it (RFC 9457). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  request_id?: string;
  [extension: string]: unknown;
}

/** Base class of every error the SDK throws: `catch (e) { if (e instanceof CoyoError) … }` covers them all. */
export class CoyoError extends Error {
  override name = 'CoyoError';
}

/** An argument the SDK cannot send (an image it cannot read, a missing `baseURL`, an API key in a browser). */
export class CoyoInputError extends CoyoError {
  override name = 'CoyoInputError';
}

/** Seconds to wait before retrying, from `Retry-After-Ms` / `Retry-After` (seconds or an HTTP date). */
export function retryAfterSeconds(headers: Headers): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms) / 1000;
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.max(0, seconds) : undefined;
}

/** The API answered with a non-2xx status. Subclasses narrow it by status. */
export class APIError extends CoyoError {
  override name = 'APIError';
  /** HTTP status code. */
  readonly status: number;
  /** Response headers. */
  readonly headers: Headers;
  /** The `x-request-id` of the failed request: quote it when reporting a problem. */
  readonly requestId: string | undefined;
  /** The parsed problem+json body (or `undefined` when the body was not JSON). */
  readonly problem: Problem | undefined;
  /** The problem's stable `type`, e.g. `https://coyo-edge.dev/problems/rate_limited`. */
  readonly type: string | undefined;
  /** The server's `Retry-After`, in seconds, when it sent one. */
  readonly retryAfter: number | undefined;

  constructor(status: number, problem: Problem | undefined, headers: Headers, message?: string) {
    super(message ?? APIError.describe(status, problem));
    this.status = status;
    this.headers = headers;
    this.problem = problem;
    this.type = problem?.type;
    this.requestId = headers.get('x-request-id') ?? problem?.request_id ?? undefined;
    this.retryAfter = retryAfterSeconds(headers);
  }

  private static describe(status: number, problem: Problem | undefined): string {
    const what = problem?.detail ?? problem?.title ?? 'request failed';
    return `${String(status)} ${what}`;
  }

  /** Builds the most specific error class for a status. */
  static from(status: number, problem: Problem | undefined, headers: Headers): APIError {
    const Ctor = STATUS_ERRORS[status] ?? (status >= 500 ? InternalServerError : APIError);
    return new Ctor(status, problem, headers);
  }
}

export class BadRequestError extends APIError { override name = 'BadRequestError'; }
export class AuthenticationError extends APIError { override name = 'AuthenticationError'; }
export class PermissionDeniedError extends APIError { override name = 'PermissionDeniedError'; }
export class NotFoundError extends APIError { override name = 'NotFoundError'; }
export class PayloadTooLargeError extends APIError { override name = 'PayloadTooLargeError'; }
export class UnsupportedMediaTypeError extends APIError { override name = 'UnsupportedMediaTypeError'; }
export class UnprocessableEntityError extends APIError { override name = 'UnprocessableEntityError'; }
export class RateLimitError extends APIError { override name = 'RateLimitError'; }
export class InternalServerError extends APIError { override name = 'InternalServerError'; }

const STATUS_ERRORS: Partial<Record<number, typeof APIError>> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  413: PayloadTooLargeError,
  415: UnsupportedMediaTypeError,
  422: UnprocessableEntityError,
  429: RateLimitError,
};

/** A 2xx answer whose body is not the JSON the API promises (empty, truncated, an HTML page from a proxy). */
export class InvalidResponseError extends CoyoError {
  override name = 'InvalidResponseError';
  readonly status: number;
  readonly headers: Headers;
  readonly requestId: string | undefined;

  constructor(message: string, response: Response, options?: { cause?: unknown }) {
    super(message, options);
    this.status = response.status;
    this.headers = response.headers;
    this.requestId = response.headers.get('x-request-id') ?? undefined;
  }
}

/** The request never got an answer (DNS, refused connection, reset, a browser's CORS refusal). */
export class APIConnectionError extends CoyoError {
  override name = 'APIConnectionError';
  constructor(message = 'Connection error.', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The call took longer than its `timeout` (retries, Retry-After waits and reading the body included). */
export class APIConnectionTimeoutError extends APIConnectionError {
  override name = 'APIConnectionTimeoutError';
  constructor(timeoutMs: number) {
    super(`Request timed out after ${String(timeoutMs)} ms.`);
  }
}

/** The caller aborted the request through its own `signal`. */
export class APIUserAbortError extends CoyoError {
  override name = 'APIUserAbortError';
  constructor() {
    super('Request was aborted.');
  }
}
