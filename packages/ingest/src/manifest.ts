/**
 * The writer's side of the published layout (declared in `@coyo/coyo-schema`): which format version a
 * manifest is written in, and the keys a version's objects are written under.
 */
import {
  BASE_FORMAT_VERSION,
  NULL_RANGES_FORMAT_VERSION,
  hasNullRange,
  type FormatVersion,
  type RangesOfManifest,
} from '@coyo/coyo-schema';

/** The newest layout this ingest writes. */
export const MANIFEST_FORMAT_VERSION = NULL_RANGES_FORMAT_VERSION;

/** Key of a version's manifest. */
export function manifestKey(version: string): string {
  return `v/${version}/manifest.json`;
}

/** Key of a version's n-th shard. */
export function shardKey(version: string, index: number): string {
  return `v/${version}/shard-${String(index).padStart(5, '0')}.parquet`;
}

/**
 * The oldest layout that can express the manifest: layout 1 unless some range is null, so that
 * readers which predate layout 2 keep reading every version that does not need it.
 */
export function formatVersionFor(manifest: RangesOfManifest): FormatVersion {
  return hasNullRange(manifest) ? NULL_RANGES_FORMAT_VERSION : BASE_FORMAT_VERSION;
}
