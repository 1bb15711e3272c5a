/**
 * What the routes share: the bearer security requirement, telling the accepted body kinds apart
 * (JSON, multipart, raw image), the request body cap, validating non-JSON inputs with the JSON
 * schemas, reading JSON bodies with inline images, registering a route whose body the handler reads itself, and the response metadata
 * several routes declare.
 */
import { z, type OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { Context, Handler, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../env';
import { fieldErrorsFromZod, ProblemError, validationProblem, type FieldError } from '../errors';
import { backendProblemResponses, commonProblemResponses, digestBadRequestResponse, imageProblemResponses } from '../schemas/problem';
import { parseJsonBody } from '../services/json-body';

/** The security requirement of every `/v1/*` route: an API key as a bearer token. */
export const bearerSecurity = [{ bearerAuth: [] }];

export type BodyKind = 'json' | 'multipart' | 'binary';

/** Which of the accepted body kinds a request carries, from its Content-Type. */
export function bodyKind(c: Context, acceptsRaw: boolean): BodyKind {
  const contentType = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (contentType === 'application/json' || /^application\/[\w.-]+\+json$/.test(contentType)) return 'json';
  if (acceptsRaw && contentType === 'multipart/form-data') return 'multipart';
  if (acceptsRaw && (contentType.startsWith('image/') || contentType === 'application/octet-stream')) return 'binary';
  if (contentType === '') {
    throw new ProblemError('unsupported_media_type', 'the request has no Content-Type; send application/json' + (acceptsRaw ? ', multipart/form-data or an image/* body' : ''));
  }
  throw new ProblemError('unsupported_media_type', `Content-Type ${contentType} is not accepted here`);
}

/** Caps the request body at `MAX_REQUEST_BYTES` (413 `payload_too_large`), whatever its kind. */
export function requestBodyLimit(): MiddlewareHandler<AppEnv> {
  return async function requestBodyLimitMiddleware(c, next) {
    const { config } = c.var.services();
    return bodyLimit({
      maxSize: config.maxRequestBytes,
      onError: () => {
        throw new ProblemError('payload_too_large', `the request body exceeds ${config.maxRequestBytes} bytes`);
      },
    })(c, next);
  };
}

/**
 * Makes `c.req.json()` of the request parse with {@link parseJsonBody}, so a route whose validator
 * reads the JSON body (images inline as base64) does not have `JSON.parse` scan the megabytes of an
 * image. The parsed value is the same; see json-body.ts.
 */
export function inlineImageJson(): MiddlewareHandler<AppEnv> {
  return async function inlineImageJsonMiddleware(c, next) {
    const req = c.req;
    req.json = async <T>(): Promise<T> => parseJsonBody(await req.text()) as T;
    await next();
  };
}

/** Validates non-JSON inputs with the same schemas as JSON bodies, so errors read the same. */
export function parseFields<S extends z.ZodType>(schema: S, value: unknown, location: FieldError['in']): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationProblem(fieldErrorsFromZod(parsed.error, location));
  return parsed.data;
}

/**
 * Registers a route whose body the handler reads itself (JSON, multipart or a raw image). The spec
 * gets the route as declared, `required: true` included, but the library's validators are left out:
 * they would hold multipart and raw-image bodies to the JSON schema. Such a route's query parameters
 * are strings the handler validates with the body's rules (see `parseFields`).
 */
export function openapiOwnBody(app: OpenAPIHono<AppEnv>, route: RouteConfig, handler: Handler<AppEnv>): void {
  const { middleware, ...documented } = route;
  app.openAPIRegistry.registerPath(documented);
  const chain: MiddlewareHandler[] = middleware === undefined ? [] : Array.isArray(middleware) ? middleware : [middleware];
  const path = route.path.replaceAll(/\/{(.+?)}/g, '/:$1');
  // Handlers registered for the same method and path run in registration order, middleware first.
  for (const step of [...chain, handler]) app.on(route.method, path, step);
}

/** `x-cache` of the ALIGN routes: whether the embeddings came from the cache. */
export const cacheHeader = z.object({
  'x-cache': z.enum(['hit', 'miss', 'partial']).openapi({ description: 'Whether every embedding came from the cache (`hit`), none (`miss`) or some.' }),
});

/** Every problem status an image-taking inference route can answer with. */
export const inferenceProblemResponses = {
  ...imageProblemResponses,
  ...commonProblemResponses,
  ...backendProblemResponses,
} as const;

/** Every problem status of an inference route whose raw image body may carry a `Content-Digest`. */
export const digestInferenceProblemResponses = { ...inferenceProblemResponses, 400: digestBadRequestResponse } as const;

/** The `Content-Digest` request header of the routes that take a raw image body (RFC 9530). */
export const contentDigestHeader = z.object({
  'content-digest': z
    .string()
    .optional()
    .openapi({
      description:
        'With a raw image body: the body\'s SHA-256 as `sha-256=:<base64>:` (RFC 9530; other algorithms in the field are ignored). ' +
        'The edge looks its caches up by it before reading the body. A cached answer is given only after the body is read and found ' +
        'to have that digest; an uncached image goes to the model without the edge reading it, and the model\'s side checks the ' +
        'digest. Bytes of another digest are refused with 400 `digest_mismatch`, a malformed field with 400 `invalid_request`. ' +
        'It applies to a body with a declared `Content-Length` and no `Content-Encoding`; other bodies take the usual path.',
      example: 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
    }),
});
