/**
 * Test support (imported by tests only): the published fixture version from
 * test/fixtures/coyo-bucket.json (made by `pnpm --filter @coyo/ingest gen:fixture`), a loader that
 * seeds it into an R2 binding, and its rows read whole with hyparquet as the oracle to compare with.
 */
import { parquetReadObjects } from 'hyparquet';
import fixture from '../../test/fixtures/coyo-bucket.json';
import type { RangeReadBucket } from './bucket';
import { ManifestSchema, POINTER_KEY, type Manifest } from './manifest';
import { COYO_COLUMNS, type CoyoRecord } from './schema';

interface FixtureFile {
  version: string;
  rows: number;
  objects: Record<string, string>;
}

const data = fixture as FixtureFile;

export const FIXTURE_VERSION = data.version;

function decode(base64: string): Uint8Array {
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Key → bytes of every object of the fixture version. */
export function fixtureObjects(): Map<string, Uint8Array> {
  return new Map(Object.entries(data.objects).map(([k, v]) => [k, decode(v)]));
}

export function fixtureManifest(): Manifest {
  const objects = fixtureObjects();
  const pointer = JSON.parse(new TextDecoder().decode(objects.get(POINTER_KEY))) as { manifest_key: string };
  return ManifestSchema.parse(JSON.parse(new TextDecoder().decode(objects.get(pointer.manifest_key))));
}

/** Writes the fixture into a bucket (an R2 binding in tests). */
export async function seedFixture(bucket: R2Bucket): Promise<void> {
  for (const [key, bytes] of fixtureObjects()) await bucket.put(key, bytes);
}

/** Every fixture row in id order, read whole from the shard bytes (independent of the reader). */
export async function fixtureRows(): Promise<CoyoRecord[]> {
  const objects = fixtureObjects();
  const rows: CoyoRecord[] = [];
  for (const shard of fixtureManifest().shards) {
    const bytes = objects.get(shard.key);
    if (bytes === undefined) throw new Error(`fixture lacks ${shard.key}`);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    for (const raw of await parquetReadObjects({ file: buffer })) {
      const row: Record<string, unknown> = {};
      for (const c of COYO_COLUMNS) row[c] = typeof raw[c] === 'bigint' ? Number(raw[c]) : raw[c];
      rows.push(row as unknown as CoyoRecord);
    }
  }
  return rows;
}

/** A bucket that answers from memory and logs every get: for counting reads without R2. */
export function memoryBucket(objects: Map<string, Uint8Array>): RangeReadBucket & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    async get(key, options) {
      const bytes = objects.get(key);
      log.push(options?.range ? `${key}@${options.range.offset}+${options.range.length}` : key);
      if (bytes === undefined) return null;
      const slice = options?.range ? bytes.slice(options.range.offset, options.range.offset + options.range.length) : bytes.slice();
      return { arrayBuffer: async () => slice.buffer };
    },
  };
}
