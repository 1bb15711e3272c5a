import { z } from '@hono/zod-openapi';
import { PROBLEM_TYPE_BASE, defaultRetryAfterSeconds, problemBody, type FieldError, type ProblemSlug } from '../errors';

/** The RFC 9457 problem every error response carries (`application/problem+json`). */
export const ProblemSchema = z
  .object({
    type: z.url().openapi({ example: `${PROBLEM_TYPE_BASE}validation_failed`, description: 'Stable URI naming the kind of problem.' }),
    title: z.string().openapi({ example: 'Request validation failed' }),
    status: z.int().openapi({ example: 400 }),
    detail: z.string().openapi({ example: 'labels[0]: label must not be blank' }),
    request_id: z.string().openapi({ example: '0f9c2a6e-3c1b-4d3f-9f5e-2b7f1c8a4d21', description: 'Echoed in the x-request-id header; quote it when reporting a problem.' }),
    errors: z
      .array(
        z.object({
          in: z.enum(['body', 'query', 'path', 'header']),
          path: z.string().openapi({ example: 'labels[0]' }),
          message: z.string(),
        }),
      )
      .optional()
      .openapi({ description: 'Every failing field, for validation problems.' }),
    error: z
      .union([
        z.object({
        message: z.string().openapi({ description: 'The same text as `detail`.', example: 'labels[0]: label must not be blank' }),
        type: z
          .enum(['invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'rate_limit_error', 'server_error'])
          .openapi({ example: 'invalid_request_error' }),
        param: z.string().nullable().openapi({ description: 'The first failing field, or null.', example: 'labels[0]' }),
        code: z.string().openapi({ description: 'The problem slug (the last segment of `type`).', example: 'validation_failed' }),
        }),
        z.string(),
      ])
      .openapi({
        description:
          'The problem in the error shape of the clients people already use: OpenAI’s object, so OpenAI clients show the message and map the ' +
          'status to their own error classes; under `/hf/` the detail as a string, as the Hugging Face Inference API answers.',
      }),
  })
  .openapi('Problem');

/** The request id the examples quote. */
const EXAMPLE_REQUEST_ID = '0f9c2a6e-3c1b-4d3f-9f5e-2b7f1c8a4d21';

/**
 * A `detail` (and, for validation, the failing fields) each problem of the reference page's examples
 * shows, worded as the worker words it. A slug without one shows its title.
 */
export interface ProblemExample {
  detail: string;
  errors?: FieldError[];
}

const EXAMPLE_DETAILS: Partial<Record<ProblemSlug, ProblemExample>> = {
  invalid_request: { detail: 'the body is not valid JSON' },
  validation_failed: {
    detail: 'labels[0]: label must not be blank',
    errors: [{ in: 'body', path: 'labels[0]', message: 'label must not be blank' }],
  },
  image_url_not_allowed: { detail: 'image URL not allowed: 10.0.0.7 is a private address' },
  digest_mismatch: { detail: "the image body's SHA-256 differs from the one its Content-Digest states" },
  unauthorized: { detail: 'an API key is required: send Authorization: Bearer <key>' },
  forbidden: { detail: 'API key key_7Hq2 lacks the "coyo" scope this route needs' },
  not_found: { detail: 'no COYO row has id 2680060225206 in version 658fe60119ae5582' },
  payload_too_large: { detail: 'the request body exceeds 33554432 bytes' },
  image_too_large: { detail: 'images[0] is 12582912 bytes; the limit is 10485760' },
  unsupported_media_type: { detail: 'Content-Type text/plain is not accepted here' },
  image_fetch_failed: { detail: 'images.example.com answered 404 for the image URL' },
  invalid_image: { detail: 'premature end of JPEG image' },
  rate_limited: { detail: 'This API key is limited to 60 requests per 60 s (standard tier); retry after 12 s.' },
  internal: { detail: 'An unexpected error occurred; quote the request_id when reporting it.' },
  backend_error: { detail: 'the inference backend answered no classes for an image' },
  backend_unavailable: { detail: 'the inference backend is failing; calls are paused until it is ready again (circuit open)' },
  backend_timeout: { detail: 'the inference backend did not answer /v1/embed/image before the request deadline' },
  overloaded: { detail: 'this edge isolate is at its limit of 32 backend-bound requests in flight (ADMISSION_MAX_IN_FLIGHT); retry after 1 s' },
};

/** One example per problem slug a response may carry, as the error handler writes it. */
function problemExamples(slugs: readonly ProblemSlug[], own: Partial<Record<ProblemSlug, ProblemExample>>) {
  return Object.fromEntries(
    slugs.map((slug) => {
      const { detail, errors } = own[slug] ?? EXAMPLE_DETAILS[slug] ?? { detail: problemBody(slug, '', EXAMPLE_REQUEST_ID).title };
      return [slug, { summary: slug, value: problemBody(slug, detail, EXAMPLE_REQUEST_ID, errors) }];
    }),
  );
}

/** The `Retry-After` header of problems that tell the client to come back later. */
const retryAfterHeader = z.object({
  'retry-after': z
    .string()
    .regex(/^\d+$/)
    .openapi({ description: 'Seconds to wait before retrying (always sent with 429, 503 and 504).', example: '1' }),
});

/**
 * A response entry for a problem status, listing the problem slugs it may carry, with an example of
 * each (`examples` replaces the generic wording of a slug with what this route says); statuses whose
 * problems always carry `Retry-After` (429, 503, 504) declare it.
 */
export function problemResponse(description: string, slugs: readonly ProblemSlug[], examples: Partial<Record<ProblemSlug, ProblemExample>> = {}) {
  const types = slugs.map((s) => `\`${s}\``).join(', ');
  const base = {
    description: `${description} (problem types: ${types}).`,
    content: { 'application/problem+json': { schema: ProblemSchema, examples: problemExamples(slugs, examples) } },
  };
  const retries = slugs.some((s) => s === 'rate_limited' || defaultRetryAfterSeconds(s) !== undefined);
  return retries ? { ...base, headers: retryAfterHeader } : base;
}

/** Statuses every authenticated route can answer with, whatever it does. */
export const commonProblemResponses = {
  401: problemResponse('Missing, malformed or unknown API key', ['unauthorized']),
  403: problemResponse('The key is disabled or lacks the scope of this route', ['forbidden']),
  429: problemResponse('Rate limit exceeded', ['rate_limited']),
  500: problemResponse('Unexpected error', ['internal']),
} as const;

/** Statuses of routes that call the GPU backend. */
export const backendProblemResponses = {
  502: problemResponse('The backend answered something unexpected', ['backend_error']),
  503: problemResponse('The backend is down, overloaded or the circuit is open, or this edge isolate is at its admission limit', ['backend_unavailable', 'overloaded']),
  504: problemResponse('The backend did not answer before the deadline', ['backend_timeout']),
} as const;

/**
 * The 400 of routes whose raw image body may carry a `Content-Digest`: the image routes' 400s and
 * `digest_mismatch`.
 */
export const digestBadRequestResponse = problemResponse(
  'Malformed request, or a raw image body whose bytes do not have the SHA-256 its `Content-Digest` states',
  ['invalid_request', 'validation_failed', 'image_url_not_allowed', 'digest_mismatch'],
);

/** Statuses of routes that take images. */
export const imageProblemResponses = {
  400: problemResponse('Malformed request', ['invalid_request', 'validation_failed', 'image_url_not_allowed']),
  413: problemResponse('Request body or one image is too large, or the images exceed the request budget (MAX_IMAGES_PER_REQUEST, MAX_REQUEST_PIXELS)', ['payload_too_large', 'image_too_large']),
  415: problemResponse('Not a supported image format or request media type', ['unsupported_media_type']),
  422: problemResponse('An image URL could not be fetched or the image cannot be decoded', ['image_fetch_failed', 'invalid_image']),
} as const;
