/**
 * "Is my image in COYO?": `/v1/coyo/by-url`, `/v1/coyo/by-domain` and `/v1/coyo/by-phash`, answered
 * from the provenance tables the ingest publishes with each version (`@coyo/coyo-reader`'s
 * CoyoProvenance). Every answer carries the version and its R2 cost like the other COYO routes.
 */
import { DATASET_CARD_ROW, MAX_PHASH_DISTANCE, normalizeDomain, PHASH_PATTERN } from '@coyo/coyo-schema';
import { CoyoProvenance, IndexUnavailableError, ScanBudgetError, type CoyoDataset, type CoyoIo } from '@coyo/coyo-reader';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { ProblemError } from '../../errors';
import { commonProblemResponses, problemResponse } from '../../schemas/problem';
import { ImageInputSchema, binaryImageBody } from '../../schemas/image';
import { readImageRequest } from '../inference/image-request';
import { bearerSecurity, inferenceProblemResponses, openapiOwnBody, requestBodyLimit } from '../shared';
import { VERSION } from './examples';
import { CoyoRowSchema } from './schemas';

/** Runs a handler with the live version open and its R2 cost in the headers (`registerCoyoRoutes`' helper). */
export type WithDataset = <R extends Response>(c: Context<AppEnv>, fn: (dataset: CoyoDataset, io: CoyoIo) => R | Promise<R>) => Promise<R>;

/** Longest URL accepted: COYO's longest URLs are a few KB; anything longer cannot be a row's. */
export const MAX_URL_LENGTH = 8192;
export const MAX_PROVENANCE_LIMIT = 100;
export const DEFAULT_PROVENANCE_LIMIT = 20;
const CACHE_CONTROL = 'private, max-age=60';

const jsonContent = <T>(schema: T, example: unknown) => ({ 'application/json': { schema, example } });
const unavailable = problemResponse('No dataset version is published yet, or the live one has no provenance indexes', ['backend_unavailable']);
const badRequest = problemResponse('Malformed URL, domain, pHash, distance, limit or cursor', ['validation_failed', 'invalid_request']);

const LimitQuery = z
  .string()
  .regex(/^\d+$/, `limit must be an integer from 1 to ${MAX_PROVENANCE_LIMIT}`)
  .transform(Number)
  .refine((n) => n >= 1 && n <= MAX_PROVENANCE_LIMIT, `limit must be an integer from 1 to ${MAX_PROVENANCE_LIMIT}`)
  .optional()
  .transform((n) => n ?? DEFAULT_PROVENANCE_LIMIT)
  .openapi({ type: 'integer', minimum: 1, maximum: MAX_PROVENANCE_LIMIT, default: DEFAULT_PROVENANCE_LIMIT });

export const ByUrlQuerySchema = z
  .object({
    url: z
      .string()
      .min(1, 'url must not be empty')
      .max(MAX_URL_LENGTH, `url must be at most ${MAX_URL_LENGTH} characters`)
      .openapi({ example: 'https://cdn.shopify.com/s/files/olive-oil.jpg', description: 'The image URL, in any spelling the normalisation maps together.' }),
  })
  .strict();

export const ByDomainQuerySchema = z
  .object({
    domain: z
      .string()
      .transform((value, ctx) => {
        const host = normalizeDomain(value);
        if (host === null) {
          ctx.addIssue({ code: 'custom', message: 'domain must be a bare host name (no scheme, port, path or user), e.g. i.pinimg.com' });
          return z.NEVER;
        }
        return host;
      })
      .openapi({ type: 'string', example: 'i.pinimg.com', description: 'A host: case, a trailing dot and an internationalised spelling do not matter.' }),
    limit: LimitQuery,
    cursor: z.string().max(512).optional().openapi({ description: 'The `next_cursor` of the previous page.' }),
  })
  .strict();

export const ByPhashQuerySchema = z
  .object({
    phash: z
      .string()
      .regex(PHASH_PATTERN, 'phash must be 16 hex digits (a 64-bit pHash, as in image_phash)')
      .openapi({ example: '9f91e133b1924e4e', description: '64-bit perceptual hash as 16 hex digits (case does not matter).' }),
    max_distance: z
      .string()
      .regex(/^\d$/, `max_distance must be an integer from 0 to ${MAX_PHASH_DISTANCE}`)
      .transform(Number)
      .refine((n) => n <= MAX_PHASH_DISTANCE, `max_distance must be an integer from 0 to ${MAX_PHASH_DISTANCE}`)
      .optional()
      .transform((n) => n ?? 0)
      .openapi({ type: 'integer', minimum: 0, maximum: MAX_PHASH_DISTANCE, default: 0, description: 'Largest Hamming distance of a match.' }),
    limit: LimitQuery,
  })
  .strict();

const BY_URL_EXAMPLE = { version: VERSION, normalized_url: DATASET_CARD_ROW.url, rows: [DATASET_CARD_ROW] };
const BY_DOMAIN_EXAMPLE = { version: VERSION, domain: 'cdn.shopify.com', count: 1, rows: [DATASET_CARD_ROW], next_cursor: null };
const BY_PHASH_EXAMPLE = { version: VERSION, phash: DATASET_CARD_ROW.image_phash, max_distance: 2, total: 1, matches: [{ distance: 0, row: DATASET_CARD_ROW }] };
const LOOKUP_IMAGE_REQUEST_EXAMPLE = { image: { url: 'https://images.example.com/olive-oil.jpg' }, max_distance: 4 };

export const ByUrlResponseSchema = z
  .object({
    version: z.string(),
    normalized_url: z.string().openapi({ description: 'The URL after normalisation: what was looked up.' }),
    rows: z.array(CoyoRowSchema).openapi({ description: 'Every row whose URL normalises to the same string (at most 100), in id order.' }),
  })
  .openapi('CoyoByUrlResponse', { example: BY_URL_EXAMPLE });

export const ByDomainResponseSchema = z
  .object({
    version: z.string(),
    domain: z.string().openapi({ description: 'The host after normalisation.' }),
    count: z.number().int().openapi({ description: 'Rows with this host in the version.' }),
    rows: z.array(CoyoRowSchema),
    next_cursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last one.' }),
  })
  .openapi('CoyoByDomainResponse', { example: BY_DOMAIN_EXAMPLE });

export const PhashMatchSchema = z
  .object({ distance: z.number().int().openapi({ description: 'Hamming distance to the query.' }), row: CoyoRowSchema })
  .openapi('CoyoPhashMatch');

export const ByPhashResponseSchema = z
  .object({
    version: z.string(),
    phash: z.string().openapi({ description: 'The query, 16 lower-case hex digits.' }),
    max_distance: z.number().int(),
    total: z.number().int().openapi({ description: 'Rows within the distance; `matches` holds the nearest `limit` of them.' }),
    matches: z.array(PhashMatchSchema).openapi({ description: 'Nearest first, then by id.' }),
  })
  .openapi('CoyoByPhashResponse', { example: BY_PHASH_EXAMPLE });

/** `max_distance` and `limit` as text (query or form field), with the by-pHash rules. */
const LookupImageFieldsSchema = z.object({
  max_distance: ByPhashQuerySchema.shape.max_distance,
  limit: LimitQuery,
});

export const LookupImageRequestSchema = z
  .object({
    image: ImageInputSchema,
    max_distance: z.number().int().min(0).max(MAX_PHASH_DISTANCE).optional().openapi({ description: 'Largest Hamming distance of a match (default 0).' }),
    limit: z.number().int().min(1).max(MAX_PROVENANCE_LIMIT).optional().openapi({ description: `Most matches returned (default ${DEFAULT_PROVENANCE_LIMIT}).` }),
  })
  .strict()
  .openapi('CoyoLookupImageRequest', { example: LOOKUP_IMAGE_REQUEST_EXAMPLE });

export const LookupImageQuerySchema = z.object({
  max_distance: z.string().optional().openapi({ description: 'With a raw image body: largest Hamming distance (0–8, default 0).' }),
  limit: z.string().optional().openapi({ description: `With a raw image body: most matches (1–${MAX_PROVENANCE_LIMIT}, default ${DEFAULT_PROVENANCE_LIMIT}).` }),
});

const COST = 'The `x-coyo-r2-reads` / `x-coyo-r2-bytes` headers give the request’s R2 cost, `x-coyo-version` the version.';

export const byUrlRoute = createRoute({
  method: 'get',
  path: '/v1/coyo/by-url',
  operationId: 'coyoByUrl',
  tags: ['coyo'],
  summary: 'The rows of an image URL',
  description:
    'Exact after normalisation (scheme and host lower-cased, default port, fragment and an empty query dropped, ' +
    'percent-encoding normalised, punycode hosts; see docs/coyo-storage.md). Warm: one index read and one row-group read. ' +
    COST,
  security: bearerSecurity,
  request: { query: ByUrlQuerySchema },
  responses: {
    200: { description: 'The matching rows (none: the URL is not in COYO-700M).', content: jsonContent(ByUrlResponseSchema, BY_URL_EXAMPLE) },
    400: badRequest,
    ...commonProblemResponses,
    503: unavailable,
  },
});

export const byDomainRoute = createRoute({
  method: 'get',
  path: '/v1/coyo/by-domain',
  operationId: 'coyoByDomain',
  tags: ['coyo'],
  summary: 'The rows of a host, paged, with their count',
  description:
    'Rows whose URL has this host, in id order; continue with `next_cursor` until it is null. `count` is the host’s row ' +
    'count in the version. Warm: one index read, then the row groups of the page’s rows. ' +
    COST,
  security: bearerSecurity,
  request: { query: ByDomainQuerySchema },
  responses: {
    200: { description: 'One page of the host’s rows.', content: jsonContent(ByDomainResponseSchema, BY_DOMAIN_EXAMPLE) },
    400: badRequest,
    ...commonProblemResponses,
    503: unavailable,
  },
});

export const byPhashRoute = createRoute({
  method: 'get',
  path: '/v1/coyo/by-phash',
  operationId: 'coyoByPhash',
  tags: ['coyo'],
  summary: 'Rows whose image pHash is within a Hamming distance',
  description:
    `Exact for \`max_distance\` 0–${MAX_PHASH_DISTANCE} (multi-index hashing over 9 substrings of the 64 bits, one R2 ` +
    'range read per probe: 1 at distance 0, 9 narrow ones at 1–4, k + 1 at 5–8; then the row groups of the matches). ' +
    'A distance whose buckets would read more than 16 MiB in one probe is refused with 400 (`invalid_request`): at the ' +
    'full dataset’s size that is 5–8. ' +
    COST,
  security: bearerSecurity,
  request: { query: ByPhashQuerySchema },
  responses: {
    200: { description: 'The nearest matches and their number.', content: jsonContent(ByPhashResponseSchema, BY_PHASH_EXAMPLE) },
    400: badRequest,
    ...commonProblemResponses,
    503: unavailable,
  },
});

export const lookupImageRoute = createRoute({
  method: 'post',
  path: '/v1/coyo/lookup-image',
  operationId: 'coyoLookupImage',
  tags: ['coyo'],
  summary: 'Is this image in COYO? Its pHash, then the by-pHash search',
  description:
    'The backend computes the image’s 64-bit pHash as Python’s `imagehash.phash` does (Pillow `L` conversion, Lanczos ' +
    '32×32, DCT-II, the 8×8 low block above its median), bit-exact; then the rows within `max_distance` are found as ' +
    'by `/v1/coyo/by-phash`. One image, as JSON (`image`: URL or base64), multipart (`image` part, `max_distance` and ' +
    '`limit` fields) or the raw body (`Content-Type: image/*`, fields in the query). ' +
    COST,
  security: bearerSecurity,
  middleware: [requestBodyLimit()] as const,
  request: {
    query: LookupImageQuerySchema,
    body: {
      content: {
        'application/json': { schema: LookupImageRequestSchema, example: LOOKUP_IMAGE_REQUEST_EXAMPLE },
        'multipart/form-data': {
          schema: {
            type: 'object' as const,
            required: ['image'],
            properties: {
              image: { type: 'string' as const, format: 'binary' },
              max_distance: { type: 'integer' as const, minimum: 0, maximum: MAX_PHASH_DISTANCE },
              limit: { type: 'integer' as const, minimum: 1, maximum: MAX_PROVENANCE_LIMIT },
            },
          },
        },
        'image/*': binaryImageBody,
        'application/octet-stream': binaryImageBody,
      },
      required: true,
    },
  },
  responses: {
    200: { description: 'The image’s pHash and the rows near it.', content: jsonContent(ByPhashResponseSchema, BY_PHASH_EXAMPLE) },
    ...inferenceProblemResponses,
  },
});

/** A version without provenance tables is a 503, as one not yet published is. */
export function provenanceProblem(err: unknown): unknown {
  if (err instanceof IndexUnavailableError) return new ProblemError('backend_unavailable', err.message, { headers: { 'retry-after': '60' } });
  if (err instanceof ScanBudgetError) {
    const detail = `max_distance is too wide for this dataset: ${err.message}; ask for a smaller distance`;
    return new ProblemError('invalid_request', detail, { errors: [{ in: 'query', path: 'max_distance', message: detail }] });
  }
  return err;
}

/** Registers the provenance look-ups (call before `/v1/coyo/{id}`). */
export function registerProvenanceRoutes(app: OpenAPIHono<AppEnv>, withDataset: WithDataset): void {
  app.openapi(byUrlRoute, (c) =>
    withDataset(c, async (dataset, io) => {
      const { url } = c.req.valid('query');
      const result = await new CoyoProvenance(io, dataset).byUrl(url);
      c.header('cache-control', CACHE_CONTROL);
      return c.json({ version: dataset.version, ...result }, 200);
    }),
  );

  app.openapi(byDomainRoute, (c) =>
    withDataset(c, async (dataset, io) => {
      const { domain, limit, cursor } = c.req.valid('query');
      const result = await new CoyoProvenance(io, dataset).byDomain(domain, limit, cursor);
      c.header('cache-control', CACHE_CONTROL);
      return c.json({ version: dataset.version, ...result }, 200);
    }),
  );

  openapiOwnBody(app, lookupImageRoute, async (c) => {
    const svc = c.var.services();
    const { images, fields } = await readImageRequest(c, svc, {
      json: LookupImageRequestSchema,
      fields: LookupImageFieldsSchema,
      collect: (source) => ({ max_distance: source.value('max_distance'), limit: source.value('limit') }),
      fromJson: ({ max_distance: maxDistance, limit }) => ({
        max_distance: maxDistance ?? 0,
        limit: limit ?? DEFAULT_PROVENANCE_LIMIT,
      }),
    });
    const [image, ...rest] = images;
    if (image === undefined || rest.length > 0) throw new ProblemError('validation_failed', 'send exactly one image per look-up');
    const [phash] = await svc.backend.phash([image], { requestId: svc.requestId, deadline: svc.deadline });
    if (phash === undefined) throw new Error('bug: the backend client returned no hash');
    return withDataset(c, async (dataset, io) => {
      const result = await new CoyoProvenance(io, dataset).byPhash(phash, fields.max_distance, fields.limit);
      c.header('cache-control', 'no-store');
      return c.json({ version: dataset.version, ...result }, 200);
    });
  });

  app.openapi(byPhashRoute, (c) =>
    withDataset(c, async (dataset, io) => {
      const { phash, max_distance: maxDistance, limit } = c.req.valid('query');
      const result = await new CoyoProvenance(io, dataset).byPhash(phash, maxDistance, limit);
      c.header('cache-control', CACHE_CONTROL);
      return c.json({ version: dataset.version, ...result }, 200);
    }),
  );
}
