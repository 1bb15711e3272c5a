/**
 * The shapes of `current.json` (which version is live) and a version's `manifest.json`, as the ingest
 * writes them (packages/ingest/src/manifest.ts). Parsed with zod: the bucket is a trust boundary too.
 */
import { z } from 'zod';

export const POINTER_KEY = 'current.json';
/**
 * Layouts this reader understands: 1, where every numeric column has a `{min, max}` range, and 2, where
 * a range may be `null`. Older layout-1 manifests stay readable; a column without values in them may
 * show as 0..0, which can only make a filter read a shard it could have skipped, never return a wrong row.
 */
export const SUPPORTED_FORMAT_VERSIONS = [1, 2] as const;

const FormatVersionSchema = z.literal(SUPPORTED_FORMAT_VERSIONS);

const RangeSchema = z.object({ min: z.number(), max: z.number() });
export type ColumnRange = z.infer<typeof RangeSchema>;

/**
 * Per numeric column: its min/max, or null when the column holds no non-NULL value there. A column
 * left out is unknown, not empty.
 */
const ColumnRangesSchema = z.record(z.string(), RangeSchema.nullable());
export type ColumnRanges = z.infer<typeof ColumnRangesSchema>;

export const PointerSchema = z.object({
  format_version: FormatVersionSchema,
  version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  manifest_key: z.string().min(1),
  published_at: z.string(),
});
export type Pointer = z.infer<typeof PointerSchema>;

export const ShardSchema = z.object({
  key: z.string().min(1),
  rows: z.number().int().positive(),
  bytes: z.number().int().positive(),
  sha256: z.string(),
  footer_bytes: z.number().int().min(12),
  row_groups: z.number().int().positive(),
  min_id: z.number().int().nonnegative(),
  max_id: z.number().int().nonnegative(),
  columns: ColumnRangesSchema,
});
export type Shard = z.infer<typeof ShardSchema>;

export const ManifestSchema = z
  .object({
    format_version: FormatVersionSchema,
    dataset: z.string(),
    dataset_version: z.string(),
    created_at: z.string(),
    schema: z.array(z.object({ name: z.string(), type: z.string() })),
    total_rows: z.number().int().nonnegative(),
    row_group_size: z.number().int().positive(),
    columns: ColumnRangesSchema,
    shards: z.array(ShardSchema),
  })
  .superRefine((m, ctx) => {
    let rows = 0;
    for (const [i, shard] of m.shards.entries()) {
      rows += shard.rows;
      const next = m.shards[i + 1];
      if (shard.min_id > shard.max_id || (next !== undefined && next.min_id <= shard.max_id)) {
        ctx.addIssue({ code: 'custom', path: ['shards', i], message: 'shard id ranges must be ordered and disjoint' });
      }
    }
    if (rows !== m.total_rows) ctx.addIssue({ code: 'custom', path: ['total_rows'], message: 'does not equal the sum of shard rows' });
  });
export type Manifest = z.infer<typeof ManifestSchema>;
