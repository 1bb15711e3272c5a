/**
 * `/v1/coyo/*`: COYO-700M metadata read from the parquet shards in R2 (by `@coyo/coyo-reader`).
 * Every answer names the dataset version in its ETag, so clients revalidate with If-None-Match and
 * get 304 without any shard being read.
 */
import { COYO_COLUMNS, NUMERIC_COLUMNS } from '@coyo/coyo-schema';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import {
  cacheApiEdgeCache,
  CountingBucket,
  DEFAULT_GROUP_ROWS,
  CoyoDataset,
  CursorError,
  DatasetUnavailableError,
  EXPORT_CONTENT_TYPES,
  exportBody,
  isolateMemory,
  MissingObjectError,
  type CoyoIo,
  type CoyoMemory,
  type EdgeCache,
  type Predicate,
} from '@coyo/coyo-reader';
import { loadEdgeConfig, type AppEnv } from '../../env';
import { ProblemError } from '../../errors';
import { waitUntilOf } from '../../context';
import { commonProblemResponses, problemResponse } from '../../schemas/problem';
import { bearerSecurity } from '../shared';
import { provenanceProblem, registerProvenanceRoutes } from './provenance';
import {
  batchRequestExample,
  batchResponseExample,
  exportCsvExample,
  exportJsonlExample,
  filterResponseExample,
  lookupResponseExample,
  rowsResponseExample,
  statsResponseExample,
} from './examples';
import {
  BatchRequestSchema,
  BatchResponseSchema,
  ExportHeadersSchema,
  ExportQuerySchema,
  ID_PATH_RULE,
  FilterQuerySchema,
  FilterResponseSchema,
  IdParamSchema,
  LookupQuerySchema,
  LookupResponseSchema,
  RowsQuerySchema,
  RowsResponseSchema,
  StatsResponseSchema,
} from './schemas';

export interface CoyoRouteOptions {
  /** Isolate caches (default: this isolate's). */
  memory?: CoyoMemory;
  /** Second cache tier (default: the Cache API's `caches.default`; null to disable). */
  edgeCache?: EdgeCache | null;
  /** Rows one filter request may examine (default: `COYO_FILTER_MAX_ROWS_SCANNED`, see `env.ts`). */
  filterMaxRowsScanned?: number;
  /** R2 reads one filter request may make, footers included (default: `COYO_FILTER_MAX_READS`). */
  filterMaxReads?: number;
  /** R2 reads one export response may make, footers included (default: `COYO_EXPORT_MAX_READS`, {@link EXPORT_MAX_READS}). */
  exportMaxReads?: number;
  /** Rows one export response may examine (default: the rows that many row groups hold). */
  exportMaxRowsScanned?: number;
  /** How long an isolate trusts the version pointer, in ms (default 30,000). */
  pointerTtlMs?: number;
}

/** By-id answers may be reused for five minutes, then revalidated by ETag (a 304 reads only the pointer). */
const LOOKUP_CACHE_CONTROL = 'private, max-age=300';
const LIST_CACHE_CONTROL = 'private, max-age=60';

/** A JSON body with the example the API reference page shows for it. */
const jsonContent = <T>(schema: T, example: unknown) => ({ 'application/json': { schema, example } });
const notModified = { description: 'Not modified: the dataset version equals If-None-Match.' };
const unavailable = problemResponse('No dataset version is published yet', ['backend_unavailable']);

/**
 * Largest `POST /v1/coyo/batch` body. 100 ids and every column name take under 4 KB; the cap keeps
 * a client from making the isolate buffer and parse megabytes of JSON that no valid batch needs.
 */
export const MAX_BATCH_BODY_BYTES = 64 * 1024;

const batchBodyLimit: MiddlewareHandler<AppEnv> = bodyLimit({
  maxSize: MAX_BATCH_BODY_BYTES,
  onError: () => {
    throw new ProblemError('payload_too_large', `the request body exceeds ${MAX_BATCH_BODY_BYTES} bytes`);
  },
});
const badRequest = problemResponse('Malformed id, column, cursor or parameter', ['validation_failed', 'invalid_request'], {
  validation_failed: {
    detail: `columns: unknown column(s): caption; known: ${COYO_COLUMNS.join(', ')}`,
    errors: [{ in: 'query', path: 'columns', message: `unknown column(s): caption; known: ${COYO_COLUMNS.join(', ')}` }],
  },
  invalid_request: {
    detail: 'cursor belongs to a different filter: repeat the predicates it was issued for',
    errors: [{ in: 'query', path: 'cursor', message: 'cursor belongs to a different filter: repeat the predicates it was issued for' }],
  },
});

export const lookupRoute = createRoute({
  method: 'get',
  path: '/v1/coyo/{id}',
  operationId: 'coyoRetrieve',
  tags: ['coyo'],
  summary: 'One COYO-700M row by id',
  description:
    'One R2 range read when the shard footer is cached, two when cold. A value the row lacks (NULL in the source, e.g. a ' +
    'missing score) is `null`; `id` never is. A 404 carries the version (`x-coyo-version`) and the R2 cost ' +
    '(`x-coyo-r2-reads`, `x-coyo-r2-bytes`) like a 200. The id: ' + ID_PATH_RULE,
  security: bearerSecurity,
  request: { params: IdParamSchema, query: LookupQuerySchema },
  responses: {
    200: { description: 'The row.', content: jsonContent(LookupResponseSchema, lookupResponseExample) },
    304: notModified,
    400: badRequest,
    404: problemResponse('No row has this id', ['not_found']),
    ...commonProblemResponses,
    503: unavailable,
  },
});

export const batchRoute = createRoute({
  method: 'post',
  path: '/v1/coyo/batch',
  operationId: 'coyoBatch',
  tags: ['coyo'],
  summary: 'Up to 100 COYO-700M rows by id',
  description:
    'Answers in request order, null for absent ids. Ids in the same row group share one read. Inside a row, a value ' +
    'the row lacks (NULL in the source) is `null`.',
  security: bearerSecurity,
  middleware: [batchBodyLimit] as const,
  request: { body: { content: jsonContent(BatchRequestSchema, batchRequestExample), required: true } },
  responses: {
    200: { description: 'The rows.', content: jsonContent(BatchResponseSchema, batchResponseExample) },
    400: badRequest,
    413: problemResponse(`The body is larger than ${MAX_BATCH_BODY_BYTES} bytes`, ['payload_too_large']),
    415: problemResponse('The body is not application/json', ['unsupported_media_type']),
    ...commonProblemResponses,
    503: unavailable,
  },
});

export const rowsRoute = createRoute({
  method: 'get',
  path: '/v1/coyo/rows',
  operationId: 'coyoRows',
  tags: ['coyo'],
  summary: 'A page of rows in id order',
  description:
    'Like the dataset viewer’s /rows: `offset` counts rows in global id order, `length` ≤ 1000 (default 100). A value the row lacks ' +
    '(NULL in the source) is `null`.',
  security: bearerSecurity,
  request: { query: RowsQuerySchema },
  responses: {
    200: { description: 'The rows.', content: jsonContent(RowsResponseSchema, rowsResponseExample) },
    304: notModified,
    400: badRequest,
    ...commonProblemResponses,
    503: unavailable,
  },
});

export const filterRoute = createRoute({
  method: 'get',
  path: '/v1/coyo/filter',
  operationId: 'coyoFilter',
  tags: ['coyo'],
  summary: 'Rows whose numeric columns lie in ranges',
  description:
    'Inclusive `min_<column>` / `max_<column>` on every numeric column. Scans in id order, skipping row groups whose ' +
    'statistics cannot match, and stops at `limit` matches or a per-request budget of rows scanned and R2 reads; ' +
    'continue with `next_cursor` until it is null. A page may hold fewer than `limit` rows while `next_cursor` is set. ' +
    'NULL (a missing value, served as `null`) satisfies no bound, as in SQL: `min_watermark_score=0` leaves out rows ' +
    'without a watermark score, while a filter with no bound on a column returns rows whose value there is null. ' +
    'On the float32 columns a bound is compared as SQL compares it with a FLOAT column: cast to float32 first ' +
    '(`col >= CAST(min AS FLOAT)`), so `min_clip_similarity_vitb32=0.3&max_clip_similarity_vitb32=0.3` returns the rows ' +
    'that store 0.3; a bound beyond the float32 range acts as ±Infinity. Bounds must be finite (`1e309` is a 400).',
  security: bearerSecurity,
  request: { query: FilterQuerySchema },
  responses: {
    200: { description: 'One page of matches.', content: jsonContent(FilterResponseSchema, filterResponseExample) },
    304: notModified,
    400: badRequest,
    ...commonProblemResponses,
    503: unavailable,
  },
});

/**
 * What one export response may cost, in row groups read: each is an R2 range read whose binding call
 * alone costs the isolate about 0.2 ms, then its decoding and encoding, so 4 of them (look-up indexes
 * read while planning included) keep a response within 3 ms of isolate CPU over the floor
 * (`pnpm bench:edge`, docs/architecture.md). The client continues with the cursor the response names;
 * the rows across responses are the same whatever the budget.
 */
export const EXPORT_MAX_READS = 4;
/** Rows one export response may examine: the most that {@link EXPORT_MAX_READS} layout-3 row groups hold. */
export const EXPORT_MAX_ROWS_SCANNED = EXPORT_MAX_READS * DEFAULT_GROUP_ROWS;
/** Rows an export response reading `reads` row groups may examine. */
const exportRowsScanned = (reads: number): number => reads * DEFAULT_GROUP_ROWS;

const binary = { schema: { type: 'string' as const, format: 'binary' } };

export const exportRoute = createRoute({
  method: 'get',
  path: '/v1/coyo/export',
  operationId: 'coyoExport',
  tags: ['coyo'],
  summary: 'Every row of a filter result, streamed as JSON Lines, CSV or Parquet',
  description:
    'The same predicates as `/v1/coyo/filter` (float bounds cast to float32 likewise), no `limit`: the body streams every ' +
    'match in id order, read one row group at a time as the client consumes it, so memory stays constant. `columns` ' +
    'selects the output columns (dataset order); `columns=url,text&format=csv` suits img2dataset. NULL is `null` in JSON ' +
    'Lines, an empty field in CSV (an empty string is `""`), a null in Parquet.\n\n' +
    `**Resuming.** One response covers a bounded part of the id range (by default at most ${EXPORT_MAX_READS} R2 reads, ` +
    `that is ${EXPORT_MAX_READS} row groups, and ${EXPORT_MAX_ROWS_SCANNED} rows examined; small, so that a response stays within a few ms ` +
    'of Worker CPU; a deployment sets it with `COYO_EXPORT_MAX_READS`), planned before the body starts: it holds every match with an id after ' +
    '`cursor` and up to where the next response starts. While more remains, the `x-coyo-next-cursor` header (and a ' +
    '`Link: <…>; rel="next"` header with the full URL) names that start; pass it as `cursor` with the same predicates ' +
    'until a response has no such header. Cursors are ids, so they hold across versions and are interchangeable with ' +
    "`/filter`'s `next_cursor`. If a transfer breaks, repeat the same request: for the same version (`x-coyo-version`) it " +
    'returns the same bytes. A Parquet body also carries `coyo.version` and `coyo.next_cursor` in its key-value ' +
    'metadata. The `x-coyo-r2-*` headers count the reads made before the body (footers); the body makes one read per ' +
    'row group in `x-coyo-export-row-groups`.',
  security: bearerSecurity,
  request: { query: ExportQuerySchema },
  responses: {
    200: {
      description: 'The rows this response covers.',
      headers: ExportHeadersSchema,
      content: {
        'application/jsonl': { ...binary, example: exportJsonlExample },
        'text/csv': { ...binary, example: exportCsvExample },
        'application/vnd.apache.parquet': binary,
      },
    },
    400: badRequest,
    ...commonProblemResponses,
    503: unavailable,
  },
});

export const statsRoute = createRoute({
  method: 'get',
  path: '/v1/coyo/stats',
  operationId: 'coyoStats',
  tags: ['coyo'],
  summary: 'The live dataset version, its size and per-column ranges',
  description: 'Ranges cover the non-NULL values; a column with no value in the version has no `min` or `max`.',
  security: bearerSecurity,
  responses: {
    200: { description: 'Statistics from the manifest.', content: jsonContent(StatsResponseSchema, statsResponseExample) },
    304: notModified,
    ...commonProblemResponses,
    503: unavailable,
  },
});

function etagOf(version: string): string {
  return `"${version}"`;
}

/** True when If-None-Match names this version (or is `*`). */
function notModifiedFor(c: Context<AppEnv>, version: string): boolean {
  const header = c.req.header('if-none-match');
  if (header === undefined) return false;
  const tags = header.split(',').map((t) => t.trim().replace(/^W\//, ''));
  return tags.includes('*') || tags.includes(etagOf(version));
}

/**
 * Maps reader failures to problems; anything else goes to the app's error handler as a logged 500 —
 * a ShardDataError (a NULL id, a value of the wrong kind) among them, since the ingest never writes one.
 */
function toProblem(err: unknown): unknown {
  if (err instanceof DatasetUnavailableError) return new ProblemError('backend_unavailable', err.message, { headers: { 'retry-after': '60' } });
  if (err instanceof CursorError) {
    return new ProblemError('invalid_request', err.message, { errors: [{ in: 'query', path: 'cursor', message: err.message }] });
  }
  if (err instanceof MissingObjectError) return new Error(`dataset storage is inconsistent: ${err.message}`);
  return err;
}

function predicatesOf(query: Record<string, unknown>): Predicate[] {
  const out: Predicate[] = [];
  for (const column of NUMERIC_COLUMNS) {
    const min = query[`min_${column}`];
    const max = query[`max_${column}`];
    if (typeof min !== 'number' && typeof max !== 'number') continue;
    out.push({ column, ...(typeof min === 'number' ? { min } : {}), ...(typeof max === 'number' ? { max } : {}) });
  }
  return out;
}

/**
 * Registers the COYO routes on the app. The auth middleware of `/v1/*` applies (scope `coyo`).
 */
export function registerCoyoRoutes(app: OpenAPIHono<AppEnv>, options: CoyoRouteOptions = {}): void {
  const memory = options.memory ?? isolateMemory;

  /** Opens the live version for one request and reports its R2 cost in response headers. */
  async function withDataset<R extends Response>(c: Context<AppEnv>, fn: (dataset: CoyoDataset, io: CoyoIo) => R | Promise<R>): Promise<R> {
    const bucket = new CountingBucket(c.env.COYO_BUCKET);
    const edgeCache = options.edgeCache === undefined ? cacheApiEdgeCache(caches.default) : (options.edgeCache ?? undefined);
    const waitUntil = waitUntilOf(c);
    const io: CoyoIo = {
      bucket,
      memory,
      ...(edgeCache ? { edgeCache } : {}),
      ...(waitUntil ? { waitUntil } : {}),
      ...(options.pointerTtlMs !== undefined ? { pointerTtlMs: options.pointerTtlMs } : {}),
    };
    let version: string | undefined;
    /** The request's R2 cost and the version it read: on every answer, a 404 or 400 after opening included. */
    const costHeaders = (): Record<string, string> => ({
      'x-coyo-r2-reads': String(bucket.stats.reads),
      'x-coyo-r2-bytes': String(bucket.stats.bytes),
      ...(version === undefined ? {} : { 'x-coyo-version': version }),
    });
    try {
      const dataset = await CoyoDataset.open(io);
      version = dataset.version;
      c.header('etag', etagOf(dataset.version));
      const response = await fn(dataset, io);
      for (const [name, value] of Object.entries(costHeaders())) response.headers.set(name, value);
      return response;
    } catch (err) {
      const problem = toProblem(provenanceProblem(err));
      if (problem instanceof ProblemError) Object.assign(problem.headers, costHeaders());
      throw problem;
    }
  }

  // Registered before /v1/coyo/{id} so that "batch", "rows", "filter" and "stats" are not taken for ids.
  app.openapi(statsRoute, (c) =>
    withDataset(c, (dataset) => {
      if (notModifiedFor(c, dataset.version)) return c.body(null, 304);
      c.header('cache-control', LIST_CACHE_CONTROL);
      return c.json(dataset.stats(), 200);
    }),
  );

  app.openapi(rowsRoute, (c) =>
    withDataset(c, async (dataset) => {
      const { offset, length, columns } = c.req.valid('query');
      if (notModifiedFor(c, dataset.version)) return c.body(null, 304);
      const rows = await dataset.rows(offset, length, columns ?? COYO_COLUMNS);
      c.header('cache-control', LIST_CACHE_CONTROL);
      return c.json({ version: dataset.version, offset, length, num_rows_total: dataset.manifest.total_rows, rows }, 200);
    }),
  );

  app.openapi(filterRoute, (c) =>
    withDataset(c, async (dataset) => {
      const query = c.req.valid('query');
      if (notModifiedFor(c, dataset.version)) return c.body(null, 304);
      const budgets = loadEdgeConfig(c.env);
      const result = await dataset.filter({
        predicates: predicatesOf(query),
        columns: query.columns ?? COYO_COLUMNS,
        limit: query.limit,
        ...(typeof query.cursor === 'string' ? { cursor: query.cursor } : {}),
        maxRowsScanned: options.filterMaxRowsScanned ?? budgets.coyoFilterMaxRowsScanned,
        maxReads: options.filterMaxReads ?? budgets.coyoFilterMaxReads,
      });
      c.header('cache-control', LIST_CACHE_CONTROL);
      return c.json({ version: dataset.version, ...result }, 200);
    }),
  );

  app.openapi(exportRoute, (c) =>
    withDataset(c, async (dataset) => {
      const query = c.req.valid('query');
      const maxReads = options.exportMaxReads ?? loadEdgeConfig(c.env).coyoExportMaxReads;
      const plan = await dataset.planExport({
        predicates: predicatesOf(query),
        columns: query.columns ?? COYO_COLUMNS,
        ...(typeof query.cursor === 'string' ? { cursor: query.cursor } : {}),
        maxReads,
        maxRowsScanned: options.exportMaxRowsScanned ?? exportRowsScanned(maxReads),
      });
      const format = query.format;
      const headers = new Headers({
        'content-type': EXPORT_CONTENT_TYPES[format],
        'content-disposition': `attachment; filename="coyo-${dataset.version}.${format}"`,
        'cache-control': 'no-store',
        'x-coyo-export-row-groups': String(plan.steps.length),
      });
      if (plan.next_cursor !== null) {
        const next = new URL(c.req.url);
        next.searchParams.set('cursor', plan.next_cursor);
        headers.set('x-coyo-next-cursor', plan.next_cursor);
        headers.set('link', `<${next.toString()}>; rel="next"`);
      }
      const keyValue = { 'coyo.version': dataset.version, 'coyo.next_cursor': plan.next_cursor ?? '' };
      return c.body(exportBody(dataset, plan, format, { keyValue }), 200, Object.fromEntries(headers));
    }),
  );

  app.openapi(batchRoute, (c) =>
    withDataset(c, async (dataset) => {
      const { ids, columns } = c.req.valid('json');
      const rows = await dataset.lookup(ids, columns ?? COYO_COLUMNS);
      c.header('cache-control', 'no-store');
      return c.json({ version: dataset.version, rows }, 200);
    }),
  );

  // Before /v1/coyo/{id}, which would take "by-url" for a malformed id.
  registerProvenanceRoutes(app, withDataset);

  app.openapi(lookupRoute, (c) =>
    withDataset(c, async (dataset) => {
      const { id } = c.req.valid('param');
      const { columns } = c.req.valid('query');
      if (notModifiedFor(c, dataset.version)) {
        c.header('cache-control', LOOKUP_CACHE_CONTROL);
        return c.body(null, 304);
      }
      const [row] = await dataset.lookup([id], columns ?? COYO_COLUMNS);
      if (row === null || row === undefined) throw new ProblemError('not_found', `no COYO row has id ${id} in version ${dataset.version}`);
      c.header('cache-control', LOOKUP_CACHE_CONTROL);
      return c.json({ version: dataset.version, row }, 200);
    }),
  );
}
