/**
 * The writer's side of the published layout (declared in `@coyo/coyo-schema`): which format version a
 * manifest is written in, and the keys a version's objects are written under.
 */
import {
  BASE_FORMAT_VERSION,
  LOOKUP_INDEX_FORMAT_VERSION,
  NULL_RANGES_FORMAT_VERSION,
  hasNullRange,
  type FormatVersion,
  type RangesOfManifest,
} from '@coyo/coyo-schema';

/** The layout this ingest writes: small row groups with a look-up index in every shard. */
export const MANIFEST_FORMAT_VERSION = LOOKUP_INDEX_FORMAT_VERSION;

/** Key of a version's manifest. */
export function manifestKey(version: string): string {
  return `v/${version}/manifest.json`;
}

/** Key of a version's n-th shard. */
export function shardKey(version: string, index: number): string {
  return `v/${version}/shard-${String(index).padStart(5, '0')}.parquet`;
}

/** The parts of a manifest {@link formatVersionFor} looks at. */
export interface IndexedRanges extends RangesOfManifest {
  readonly shards: readonly { readonly columns: RangesOfManifest['columns']; readonly index_bytes?: number | undefined }[];
}

/**
 * The layout a manifest is written in: layout 3 when its shards carry look-up indexes (every shard this
 * ingest writes does), else the oldest that can express it, layout 1 unless some range is null.
 */
export function formatVersionFor(manifest: IndexedRanges): FormatVersion {
  if (manifest.shards.length > 0 && manifest.shards.every((s) => s.index_bytes !== undefined)) return LOOKUP_INDEX_FORMAT_VERSION;
  return hasNullRange(manifest) ? NULL_RANGES_FORMAT_VERSION : BASE_FORMAT_VERSION;
}
