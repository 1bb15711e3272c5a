/**
 * The objects that describe a published dataset version in the bucket, declared once for their
 * writer (the ingest) and their reader (the edge worker): `current.json`, the pointer that readers
 * follow, and the `manifest.json` it names, which lists the version's shards. Each side composes its
 * own rules on these schemas: the ingest chooses which format version to write, the worker checks
 * that a manifest adds up and accepts only the format versions it can serve. `format_version` changes
 * whenever an older reader could not parse what is written.
 */
import { z } from 'zod';
import { IndexesSchema } from './indexes.js';

/** Key of the pointer to the live version. Every other object of a version lives under its prefix. */
export const POINTER_KEY = 'current.json';

/**
 * Layout 1: every numeric column has a `{min, max}` range. Manifests whose ranges are all known are
 * still written in it, so readers that predate layout 2 keep reading them.
 */
export const BASE_FORMAT_VERSION = 1;
/**
 * Layout 2: a range may be `null`, for a column with no non-NULL value in the shard (or the version).
 * Readers of layout 1 cannot parse it, so only manifests with such a column carry this number.
 */
export const NULL_RANGES_FORMAT_VERSION = 2;
/** Every layout declared here, oldest first. A reader states which of them it serves. */
export const FORMAT_VERSIONS = [BASE_FORMAT_VERSION, NULL_RANGES_FORMAT_VERSION] as const;

export const FormatVersionSchema = z.literal(FORMAT_VERSIONS);
export type FormatVersion = z.infer<typeof FormatVersionSchema>;

/** A dataset version names a key prefix: keep it to URL- and path-safe characters. */
export const DatasetVersionSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" or "-", at most 64, not starting with a symbol');

export const ColumnRangeSchema = z.object({ min: z.number(), max: z.number() });
export type ColumnRange = z.infer<typeof ColumnRangeSchema>;

/**
 * Per numeric column: its min/max, or null when the column holds no non-NULL value there (a NULL-only
 * column has no range; layout 2 only). A column left out is unknown, not empty.
 */
export const ColumnRangesSchema = z.record(z.string(), ColumnRangeSchema.nullable());
export type ColumnRanges = z.infer<typeof ColumnRangesSchema>;

export const ShardSchema = z.object({
  key: z.string().min(1),
  rows: z.number().int().positive(),
  bytes: z.number().int().positive(),
  /** Lower-case hex sha256 of the shard's bytes: the ingest skips uploading a shard the bucket already holds. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /**
   * Length of the parquet footer (metadata + 8 trailing bytes), so a reader fetches it in one range
   * read. No parquet metadata is shorter than 4 bytes, hence at least 12.
   */
  footer_bytes: z.number().int().min(12),
  row_groups: z.number().int().positive(),
  min_id: z.number().int().nonnegative(),
  max_id: z.number().int().nonnegative(),
  columns: ColumnRangesSchema,
});
export type Shard = z.infer<typeof ShardSchema>;

/** The parts of a manifest that hold ranges: all that {@link hasNullRange} needs. */
export interface RangesOfManifest {
  readonly columns: ColumnRanges;
  readonly shards: readonly { readonly columns: ColumnRanges }[];
}

/** True when a column has no range somewhere in the manifest, which then needs layout 2. */
export function hasNullRange(manifest: RangesOfManifest): boolean {
  const nullIn = (ranges: ColumnRanges): boolean => Object.values(ranges).some((r) => r === null);
  return nullIn(manifest.columns) || manifest.shards.some((s) => nullIn(s.columns));
}

/**
 * A version's `manifest.json`. Refuses a null range under layout 1, which layout-1 readers cannot
 * parse. Readers add their own consistency checks with `.superRefine`.
 */
export const ManifestSchema = z
  .object({
    format_version: FormatVersionSchema,
    dataset: z.string(),
    dataset_version: DatasetVersionSchema,
    created_at: z.string(),
    /** The columns with the ingest's storage types, in the shards' column order. */
    schema: z.array(z.object({ name: z.string(), type: z.string() })),
    total_rows: z.number().int().nonnegative(),
    row_group_size: z.number().int().positive(),
    columns: ColumnRangesSchema,
    shards: z.array(ShardSchema),
    /** The provenance indexes (by URL, domain, pHash) under the version's prefix; absent in versions built without them. */
    indexes: IndexesSchema.optional(),
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

/** `current.json`: which version is live, and where its manifest is. */
export const PointerSchema = z.object({
  /** The format_version of the manifest it names, so a reader that cannot parse it stops at the pointer. */
  format_version: FormatVersionSchema,
  version: DatasetVersionSchema,
  manifest_key: z.string().min(1),
  published_at: z.string(),
});
export type Pointer = z.infer<typeof PointerSchema>;
