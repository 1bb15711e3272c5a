/**
 * The objects that describe a published dataset version in the bucket: `manifest.json` under the
 * version's prefix, and `current.json`, the pointer that readers follow. The worker parses the same
 * shapes (packages/worker/src/coyo/manifest.ts); `format_version` changes when they stop being
 * compatible.
 */
import { z } from 'zod';

/**
 * Layout 1: every numeric column has a `{min, max}` range. Manifests whose ranges are all known are
 * still written in it, so workers that predate layout 2 keep reading them.
 */
export const BASE_FORMAT_VERSION = 1;
/**
 * Layout 2: a range may be `null`, for a column with no non-NULL value in the shard (or the version).
 * Readers of layout 1 cannot parse it, so only manifests with such a column carry this number.
 */
export const NULL_RANGES_FORMAT_VERSION = 2;
/** The newest layout this ingest writes. */
export const MANIFEST_FORMAT_VERSION = NULL_RANGES_FORMAT_VERSION;
export const POINTER_KEY = 'current.json';

const FormatVersionSchema = z.union([z.literal(BASE_FORMAT_VERSION), z.literal(NULL_RANGES_FORMAT_VERSION)]);
export type FormatVersion = z.infer<typeof FormatVersionSchema>;

/** A dataset version names a key prefix: keep it to URL- and path-safe characters. */
export const DatasetVersionSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" or "-", at most 64, not starting with a symbol');

const RangeSchema = z.object({ min: z.number(), max: z.number() });
export type ColumnRange = z.infer<typeof RangeSchema>;

/** Min/max of a numeric column, or null when the column holds no non-NULL value (a NULL-only column has no range). */
const ColumnRangesSchema = z.record(z.string(), RangeSchema.nullable());
export type ColumnRanges = z.infer<typeof ColumnRangesSchema>;

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
  columns: ColumnRangesSchema,
});
export type Shard = z.infer<typeof ShardSchema>;

export const ManifestSchema = z
  .object({
    format_version: FormatVersionSchema,
    dataset: z.string(),
    dataset_version: DatasetVersionSchema,
    created_at: z.string(),
    schema: z.array(z.object({ name: z.string(), type: z.string() })),
    total_rows: z.number().int().nonnegative(),
    row_group_size: z.number().int().positive(),
    columns: ColumnRangesSchema,
    shards: z.array(ShardSchema),
  })
  .superRefine((m, ctx) => {
    if (m.format_version === BASE_FORMAT_VERSION && hasNullRange(m)) {
      ctx.addIssue({
        code: 'custom',
        path: ['format_version'],
        message: `null ranges need format_version ${NULL_RANGES_FORMAT_VERSION}`,
      });
    }
  });
export type Manifest = z.infer<typeof ManifestSchema>;

export const PointerSchema = z.object({
  /** The format_version of the manifest it names, so a reader that cannot parse it stops at the pointer. */
  format_version: FormatVersionSchema,
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

interface RangesOfManifest {
  readonly columns: ColumnRanges;
  readonly shards: readonly { readonly columns: ColumnRanges }[];
}

/** True when a column has no range somewhere in the manifest (which then needs layout 2). */
export function hasNullRange(manifest: RangesOfManifest): boolean {
  const nullIn = (ranges: ColumnRanges): boolean => Object.values(ranges).some((r) => r === null);
  return nullIn(manifest.columns) || manifest.shards.some((s) => nullIn(s.columns));
}

/** The oldest layout that can express the manifest: layout 1 unless some range is null. */
export function formatVersionFor(manifest: RangesOfManifest): FormatVersion {
  return hasNullRange(manifest) ? NULL_RANGES_FORMAT_VERSION : BASE_FORMAT_VERSION;
}
