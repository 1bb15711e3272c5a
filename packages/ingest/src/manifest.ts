/**
 * The objects that describe a published dataset version in the bucket: `manifest.json` under the
 * version's prefix, and `current.json`, the pointer that readers follow. The worker parses the same
 * shapes (packages/worker/src/coyo/manifest.ts); `format_version` changes when they stop being
 * compatible.
 */
import { z } from 'zod';

export const MANIFEST_FORMAT_VERSION = 1;
export const POINTER_KEY = 'current.json';

/** A dataset version names a key prefix: keep it to URL- and path-safe characters. */
export const DatasetVersionSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" or "-", at most 64, not starting with a symbol');

const RangeSchema = z.object({ min: z.number(), max: z.number() });
export type ColumnRange = z.infer<typeof RangeSchema>;

export const ShardSchema = z.object({
  key: z.string().min(1),
  rows: z.number().int().positive(),
  bytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Length of the parquet footer (metadata + 8 trailing bytes), so a reader fetches it in one range read. */
  footer_bytes: z.number().int().positive(),
  row_groups: z.number().int().positive(),
  min_id: z.number().int().nonnegative(),
  max_id: z.number().int().nonnegative(),
  columns: z.record(z.string(), RangeSchema),
});
export type Shard = z.infer<typeof ShardSchema>;

export const ManifestSchema = z.object({
  format_version: z.literal(MANIFEST_FORMAT_VERSION),
  dataset: z.string(),
  dataset_version: DatasetVersionSchema,
  created_at: z.string(),
  schema: z.array(z.object({ name: z.string(), type: z.string() })),
  total_rows: z.number().int().nonnegative(),
  row_group_size: z.number().int().positive(),
  columns: z.record(z.string(), RangeSchema),
  shards: z.array(ShardSchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export const PointerSchema = z.object({
  format_version: z.literal(MANIFEST_FORMAT_VERSION),
  version: DatasetVersionSchema,
  manifest_key: z.string().min(1),
  published_at: z.string(),
});
export type Pointer = z.infer<typeof PointerSchema>;

/** Key of a version's manifest. */
export function manifestKey(version: string): string {
  return `v/${version}/manifest.json`;
}

/** Key of a version's n-th shard. */
export function shardKey(version: string, index: number): string {
  return `v/${version}/shard-${String(index).padStart(5, '0')}.parquet`;
}
