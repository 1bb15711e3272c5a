/**
 * The reader's side of the published layout (declared in `@coyo/coyo-schema`): which format versions
 * this worker serves, and the consistency checks a manifest must pass before a look-up trusts it. The
 * bucket is a trust boundary too.
 */
import {
  BASE_FORMAT_VERSION,
  LOOKUP_INDEX_FORMAT_VERSION,
  ManifestSchema,
  NULL_RANGES_FORMAT_VERSION,
  PointerSchema,
  type FormatVersion,
} from '@coyo/coyo-schema';
import { z } from 'zod';

/**
 * Layouts this reader understands: 1, where every numeric column has a `{min, max}` range, 2, where
 * a range may be `null`, and 3, whose shards carry a look-up index before their footer (read instead of
 * the footer). Older layout-1 manifests stay readable; a column without values in them may
 * show as 0..0, which can only make a filter read a shard it could have skipped, never return a wrong row.
 * A layout declared later in `@coyo/coyo-schema` is refused until this reader is taught it.
 */
export const SUPPORTED_FORMAT_VERSIONS = [
  BASE_FORMAT_VERSION,
  NULL_RANGES_FORMAT_VERSION,
  LOOKUP_INDEX_FORMAT_VERSION,
] as const satisfies readonly FormatVersion[];

const SupportedFormatVersionSchema = z.literal(SUPPORTED_FORMAT_VERSIONS);

/** `current.json` as this reader accepts it: a pointer to a manifest in a layout it can read. */
export const ReadablePointerSchema = PointerSchema.extend({ format_version: SupportedFormatVersionSchema });

/**
 * A manifest this reader can serve from: a supported layout, shards whose id ranges are ordered and
 * disjoint (look-ups binary-search them), and a row count that is the sum of the shards' (paging by
 * offset relies on it).
 */
export const ReadableManifestSchema = ManifestSchema
  // safeExtend keeps the shared rules (a null range needs layout 2); extend refuses to replace a field of a refined schema.
  .safeExtend({ format_version: SupportedFormatVersionSchema })
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
