/** A problem+json body as the coyo-edge API returns it (RFC 9457). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  request_id?: string;
  [extension: string]: unknown;
}

/** Base class of every error the SDK throws. */
export class CoyoError extends Error {
  override name = 'CoyoError';
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

  constructor(status: number, problem: Problem | undefined, headers: Headers, message?: string) {
    super(message ?? APIError.describe(status, problem));
    this.status = status;
    this.headers = headers;
    this.problem = problem;
    this.type = problem?.type;
    this.requestId = headers.get('x-request-id') ?? problem?.request_id ?? undefined;
  }

  private static describe(status: number, problem: Problem | undefined): string {
    const what = problem?.detail ?? problem?.title ?? 'request failed';
    return `${status} ${what}`;
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

const STATUS_ERRORS: Record<number, typeof APIError> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  413: PayloadTooLargeError,
  415: UnsupportedMediaTypeError,
  422: UnprocessableEntityError,
  429: RateLimitError,
};

/** The request never got an answer (DNS, refused connection, reset). */
export class APIConnectionError extends CoyoError {
  override name = 'APIConnectionError';
  constructor(message = 'Connection error.', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The request took longer than the client's `timeout`. */
export class APIConnectionTimeoutError extends APIConnectionError {
  override name = 'APIConnectionTimeoutError';
  constructor(timeoutMs: number) {
    super(`Request timed out after ${timeoutMs} ms.`);
  }
}

/** The caller aborted the request through its own `signal`. */
export class APIUserAbortError extends CoyoError {
  override name = 'APIUserAbortError';
  constructor() {
    super('Request was aborted.');
  }
}
