/**
 * Routes, headers, model revisions and limits of the protocol: the names both sides must spell alike.
 */

/** Every route of the backend, by name. `/v1/*` routes need `Authorization: Bearer <token>`. */
export const ROUTES = {
  embedImage: { method: 'POST', path: '/v1/embed/image' },
  embedText: { method: 'POST', path: '/v1/embed/text' },
  classify: { method: 'POST', path: '/v1/classify' },
  phash: { method: 'POST', path: '/v1/phash' },
  models: { method: 'GET', path: '/v1/models' },
  health: { method: 'GET', path: '/healthz' },
  ready: { method: 'GET', path: '/readyz' },
  metrics: { method: 'GET', path: '/metrics' },
} as const satisfies Record<string, { method: 'GET' | 'POST'; path: `/${string}` }>;

export type RouteName = keyof typeof ROUTES;
export type RoutePath = (typeof ROUTES)[RouteName]['path'];

/** Header names (lower case, as `Headers` reports them). */
export const HEADERS = {
  /** Both ways: the correlation id, echoed back. */
  requestId: 'x-request-id',
  /** Request: remaining time budget, whole milliseconds; work not started before it elapses is dropped (504). */
  deadlineMs: 'x-deadline-ms',
  /** Answer of the embed and classify routes: the revision of the weights that answered. */
  modelRevision: 'x-model-revision',
  /** Answer: ms the request's items waited for a batch (one decimal). */
  queueTime: 'x-queue-time',
  /** Answer: ms its batches spent in the model (one decimal). */
  inferenceTime: 'x-inference-time',
  /** Answer of a 503: seconds to wait before retrying. */
  retryAfter: 'retry-after',
  /**
   * Request of `/v1/embed/image` and `/v1/classify` with a raw image body: the body's SHA-256 as
   * `sha-256=:<base64>:` (RFC 9530). The backend checks it before using the bytes (digest.ts).
   */
  contentDigest: 'content-digest',
  /** Answer to a request that sent `content-digest`: the SHA-256 (hex) the backend computed and found equal. */
  verifiedSha256: 'x-coyo-verified-sha256',
} as const;

/** The `x-deadline-ms` value: a whole number of milliseconds, at most ten digits. */
export const DEADLINE_MS_PATTERN = /^\d{1,10}$/;

/** Hex digits of a revision the backend sends: 64 bits of SHA-256, ample to tell weight sets apart. */
export const REVISION_HEX_DIGITS = 16;

/**
 * The revision format callers accept: lowercase hex, 8 to 64 digits (room for a longer hash later
 * without breaking callers; hex only because it becomes part of cache keys).
 */
export const REVISION_PATTERN = /^[0-9a-f]{8,64}$/;

/** A revision in the format the backend sends, from a hex SHA-256 digest. */
export function revisionOfDigest(hexDigest: string): string {
  const revision = hexDigest.slice(0, REVISION_HEX_DIGITS);
  if (!/^[0-9a-f]{16}$/.test(revision)) throw new Error(`bug: ${hexDigest} is not a lowercase hex SHA-256 digest`);
  return revision;
}

/** Limits both sides hold to (the backend's configurable caps are at most these where it matters). */
export const LIMITS = {
  /** Most texts one `/v1/embed/text` call may carry. */
  maxTextsPerCall: 256,
  /** Longest text, in UTF-16 code units. */
  maxTextLength: 2048,
  /** Tokens ALIGN's text tower reads per text, `[CLS]` and `[SEP]` included; longer texts are truncated. */
  maxTextTokens: 64,
  /** `top_k` of `/v1/classify` when none is given (the image-classification pipeline's default). */
  defaultTopK: 5,
} as const;

/** The `top_k` query value: a whole number ≥ 1 of at most six digits. */
export const TOP_K_PATTERN = /^\d{1,6}$/;

/** The multipart part name of each image on the image routes. */
export const IMAGE_PART_NAME = 'image';
