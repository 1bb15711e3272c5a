/** Request and response schemas of the `/v1/coyo/*` routes (zod, exported into the OpenAPI spec). */
import { COYO_COLUMNS, MAX_ID, NUMERIC_COLUMNS, isCoyoColumn, type CoyoColumn } from '@coyo/coyo-schema';
import { z } from '@hono/zod-openapi';

export const MAX_BATCH_IDS = 100;
/** Largest `/rows` page: a few row groups of about 220 rows, so partial groups at its ends cost little. */
export const MAX_ROWS_LENGTH = 1000;
export const DEFAULT_ROWS_LENGTH = 100;
/** Largest `/filter` page, for the same reason. */
export const MAX_FILTER_LIMIT = 1000;
export const DEFAULT_FILTER_LIMIT = 20;

const ID_MESSAGE = `id must be an integer from 0 to ${MAX_ID}`;
const PATH_ID_MESSAGE = `id must be written in canonical decimal (digits, no sign, no leading zero) from 0 to ${MAX_ID}`;

/** The one rule for an id in a path: canonical decimal (`0` or digits without a leading zero), 0 … 2^53 − 1. */
export const ID_PATH_RULE =
  `Canonical decimal: \`0\` or digits without a leading zero, no sign, from 0 to ${MAX_ID} (2^53 − 1; the ingest refuses ` +
  'larger ids). Anything else, `007` or a larger number among them, is a 400; a well-formed id that no row has is a 404.';

/** A decimal id in a path: see {@link ID_PATH_RULE}. */
export const IdStringSchema = z
  .string()
  .refine((s) => /^(0|[1-9]\d{0,15})$/.test(s) && Number(s) <= MAX_ID, PATH_ID_MESSAGE)
  .transform(Number);

export const IdParamSchema = z.object({
  id: IdStringSchema.openapi({
    param: { name: 'id', in: 'path' },
    example: '2680060225205',
    type: 'string',
    pattern: '^(0|[1-9][0-9]{0,15})$',
    description: ID_PATH_RULE,
  }),
});

/** `columns=url,text,…`: a projection; unknown names are refused with their name. */
export const ColumnsQuerySchema = z
  .string()
  .optional()
  .transform((value, ctx): CoyoColumn[] | undefined => {
    if (value === undefined) return undefined;
    const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const columns = names.filter(isCoyoColumn);
    const unknown = names.filter((n) => !isCoyoColumn(n));
    if (unknown.length > 0 || names.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: unknown.length > 0 ? `unknown column(s): ${unknown.join(', ')}; known: ${COYO_COLUMNS.join(', ')}` : 'name at least one column',
      });
      return z.NEVER;
    }
    return columns;
  })
  .openapi({ type: 'string', description: `Comma-separated columns to return (default all): ${COYO_COLUMNS.join(', ')}.`, example: 'id,url,text' });

export const LookupQuerySchema = z.object({ columns: ColumnsQuerySchema }).strict();

const IntegerQuery = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be an integer from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be an integer from ${min} to ${max}`)
    .optional()
    .transform((n) => n ?? fallback)
    .openapi({ type: 'integer', minimum: min, maximum: max, default: fallback });

export const RowsQuerySchema = z
  .object({
    offset: IntegerQuery('offset', 0, Number.MAX_SAFE_INTEGER, 0),
    length: IntegerQuery('length', 1, MAX_ROWS_LENGTH, DEFAULT_ROWS_LENGTH).openapi({ example: 2 }),
    columns: ColumnsQuerySchema,
  })
  .strict();

const NUMBER_RE = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
/**
 * A bound: a finite decimal number. One that overflows a double (`1e309`) is refused like `Infinity`.
 * On a float32 column it is compared as SQL does, after a cast to float32 (see the filter route).
 */
const NumberQuery = (name: string) =>
  z
    .string()
    .regex(NUMBER_RE, `${name} must be a finite number`)
    .transform(Number)
    .refine(Number.isFinite, `${name} must be a finite number`)
    .optional()
    .openapi({ type: 'number' });

const predicateShape: Record<string, ReturnType<typeof NumberQuery>> = {};
for (const column of NUMERIC_COLUMNS) {
  predicateShape[`min_${column}`] = NumberQuery(`min_${column}`);
  predicateShape[`max_${column}`] = NumberQuery(`max_${column}`);
}

export const FilterQuerySchema = z
  .object({
    ...predicateShape,
    columns: ColumnsQuerySchema,
    limit: IntegerQuery('limit', 1, MAX_FILTER_LIMIT, DEFAULT_FILTER_LIMIT).openapi({ example: 2 }),
    cursor: z
      .string()
      .max(512)
      .optional()
      .openapi({ description: 'The `next_cursor` of the previous page, unchanged, with the same predicates.' }),
  })
  .strict();

export const ExportQuerySchema = z
  .object({
    ...predicateShape,
    columns: ColumnsQuerySchema,
    format: z
      .enum(['jsonl', 'csv', 'parquet'])
      .optional()
      .transform((f) => f ?? 'jsonl')
      .openapi({ description: 'Body format: JSON Lines (default), CSV (RFC 4180, with a header) or Parquet.', default: 'jsonl' }),
    cursor: z
      .string()
      .max(512)
      .optional()
      .openapi({ description: 'The `x-coyo-next-cursor` of the previous response (or a `/filter` `next_cursor`), unchanged, with the same predicates.' }),
  })
  .strict();

/** The headers of an export response that tell where it stands. */
export const ExportHeadersSchema = z.object({
  'x-coyo-next-cursor': z.string().optional().openapi({ description: 'Where the next response starts; absent when this one reaches the end.' }),
  'x-coyo-version': z.string().openapi({ description: 'The dataset version read.' }),
  'x-coyo-export-row-groups': z.string().openapi({ description: 'Row groups this response reads.' }),
});

/**
 * A value the source row lacks (NULL) is served as `null`. The ingest refuses NULL ids only, so every
 * other column is nullable here (`NULLABLE_COLUMNS` of `@coyo/coyo-schema`; a test keeps the two in step).
 */
export const CoyoRowSchema = z
  .object({
    id: z.number().int().openapi({ example: 2680060225205, description: 'int64 id, exact as a JSON number (every COYO id is below 2^53). Never null.' }),
    url: z.string().nullable(),
    text: z.string().nullable(),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    image_phash: z.string().nullable(),
    text_length: z.number().int().nullable(),
    word_count: z.number().int().nullable(),
    num_tokens_bert: z.number().int().nullable(),
    num_tokens_gpt: z.number().int().nullable(),
    num_faces: z.number().int().nullable(),
    clip_similarity_vitb32: z.number().nullable(),
    clip_similarity_vitl14: z.number().nullable(),
    nsfw_score_opennsfw2: z.number().nullable(),
    nsfw_score_gantman: z.number().nullable(),
    watermark_score: z.number().nullable(),
    aesthetic_score_laion_v2: z.number().nullable(),
  })
  .partial()
  .openapi('CoyoRow', {
    description:
      'One COYO-700M row; with `columns`, only those keys. float32 scores are the exact values stored. Every column but `id` ' +
      'may be null: the source row has no value there (NULL), e.g. a missing score.',
  });

export const LookupResponseSchema = z.object({ version: z.string(), row: CoyoRowSchema }).openapi('CoyoLookupResponse');

export const BatchRequestSchema = z
  .object({
    ids: z
      .array(z.number().int(ID_MESSAGE).min(0, ID_MESSAGE).max(MAX_ID, ID_MESSAGE))
      .min(1, 'give at least one id')
      .max(MAX_BATCH_IDS, `at most ${MAX_BATCH_IDS} ids per request`)
      .openapi({ example: [2680060225205, 1] }),
    columns: z
      .array(z.string().refine(isCoyoColumn, { error: 'unknown column' }))
      .min(1)
      .optional()
      .openapi({ description: 'Columns to return (default all).' }),
  })
  .strict()
  .openapi('CoyoBatchRequest');

export const BatchResponseSchema = z
  .object({
    version: z.string(),
    // A union, not `.nullable()`: the latter documents `allOf: [CoyoRow, {type: [object, null]}]`, which no null satisfies.
    rows: z.array(z.union([CoyoRowSchema, z.null()])).openapi({ description: 'One entry per requested id, in request order; null when absent.' }),
  })
  .openapi('CoyoBatchResponse');

export const RowsResponseSchema = z
  .object({
    version: z.string(),
    offset: z.number().int(),
    length: z.number().int(),
    num_rows_total: z.number().int(),
    rows: z.array(z.object({ row_idx: z.number().int(), row: CoyoRowSchema })),
  })
  .openapi('CoyoRowsResponse');

export const FilterResponseSchema = z
  .object({
    version: z.string(),
    rows: z.array(CoyoRowSchema),
    next_cursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null when the scan reached the end.' }),
    scanned_rows: z.number().int().openapi({ description: 'Rows examined by this request.' }),
    row_groups_read: z.number().int(),
    row_groups_skipped: z.number().int().openapi({ description: 'Row groups skipped by their min/max statistics.' }),
  })
  .openapi('CoyoFilterResponse');

const ColumnStatsSchema = z.object({ type: z.string(), min: z.number().optional(), max: z.number().optional() });

export const StatsResponseSchema = z
  .object({
    version: z.string(),
    published_at: z.string(),
    created_at: z.string(),
    rows: z.number().int(),
    shards: z.number().int(),
    row_group_size: z.number().int(),
    bytes: z.number().int(),
    columns: z.record(z.string(), ColumnStatsSchema),
  })
  .openapi('CoyoStatsResponse');
