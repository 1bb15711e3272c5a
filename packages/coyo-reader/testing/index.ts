/**
 * Test support (`@coyo/coyo-reader/testing`, imported by tests only): the published fixture versions in
 * `fixtures/` (made by `pnpm --filter @coyo/ingest gen:fixture`, checked against it by the ingest's
 * drift test), a loader that seeds one into an R2 binding, their rows read whole with hyparquet as the
 * oracle to compare with, and an in-memory bucket and Cache API.
 *
 * - `coyo-bucket.json`: 1000 rows, three shards of 50-row groups, no NULL.
 * - `coyo-nulls-bucket.json`: 300 rows, three shards of 25-row groups, NULLs in every column but `id`
 *   (the patterns are listed in the ingest's `scripts/reader-fixture.ts`).
 * - `coyo-null-id-bucket.json`: one 20-row shard whose tenth id is NULL (which the ingest refuses).
 */
import { COYO_COLUMNS, POINTER_KEY, type Manifest } from '@coyo/coyo-schema';
import { parquetReadObjects } from 'hyparquet';
import fixture from '../fixtures/coyo-bucket.json';
import nullIdFixture from '../fixtures/coyo-null-id-bucket.json';
import nullsFixture from '../fixtures/coyo-nulls-bucket.json';
import type { RangeReadBucket } from '../src/bucket';
import type { CacheLike } from '../src/edge-cache';
import { ReadableManifestSchema } from '../src/manifest';
import type { CoyoRecord } from '../src/schema';

interface FixtureFile {
  version: string;
  rows: number;
  objects: Record<string, string>;
}

const plain = fixture as FixtureFile;
const withNulls = nullsFixture as FixtureFile;
const withNullId = nullIdFixture as FixtureFile;

export const FIXTURE_VERSION = plain.version;
export const NULLS_FIXTURE_VERSION = withNulls.version;

/** A row of the NULL-free fixture: every value present. */
export type CompleteRecord = { [K in keyof CoyoRecord]: NonNullable<CoyoRecord[K]> };

function decode(base64: string): Uint8Array {
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function objectsOf(data: FixtureFile): Map<string, Uint8Array> {
  return new Map(Object.entries(data.objects).map(([k, v]) => [k, decode(v)]));
}

function manifestOf(objects: Map<string, Uint8Array>): Manifest {
  const pointer = JSON.parse(new TextDecoder().decode(objects.get(POINTER_KEY))) as { manifest_key: string };
  return ReadableManifestSchema.parse(JSON.parse(new TextDecoder().decode(objects.get(pointer.manifest_key))));
}

async function rowsOf(data: FixtureFile): Promise<CoyoRecord[]> {
  const objects = objectsOf(data);
  const rows: CoyoRecord[] = [];
  for (const shard of manifestOf(objects).shards) {
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

/** Key → bytes of every object of the NULL-free fixture version. */
export function fixtureObjects(): Map<string, Uint8Array> {
  return objectsOf(plain);
}

export function fixtureManifest(): Manifest {
  return manifestOf(fixtureObjects());
}

/** The one call of an R2 binding that seeding uses. */
export interface WritableBucket {
  put(key: string, bytes: Uint8Array): Promise<unknown>;
}

/** Writes the NULL-free fixture into a bucket (an R2 binding in tests). */
export async function seedFixture(bucket: WritableBucket): Promise<void> {
  for (const [key, bytes] of fixtureObjects()) await bucket.put(key, bytes);
}

/** Every NULL-free fixture row in id order, read whole from the shard bytes (independent of the reader). */
export async function fixtureRows(): Promise<CompleteRecord[]> {
  const rows = await rowsOf(plain);
  for (const row of rows) {
    const empty = COYO_COLUMNS.find((c) => row[c] === null);
    if (empty !== undefined) throw new Error(`test setup: fixture row ${row.id} has a NULL ${empty}; regenerate the fixture`);
  }
  return rows as CompleteRecord[];
}

/** Key → bytes of every object of the fixture version with NULLs. */
export function nullsFixtureObjects(): Map<string, Uint8Array> {
  return objectsOf(withNulls);
}

export function nullsFixtureManifest(): Manifest {
  return manifestOf(nullsFixtureObjects());
}

/** Every row of the fixture with NULLs in id order, NULL as null, read whole from the shard bytes. */
export function nullsFixtureRows(): Promise<CoyoRecord[]> {
  return rowsOf(withNulls);
}

/** Key → bytes of every object of the corrupt version whose shard holds a NULL id. */
export function nullIdFixtureObjects(): Map<string, Uint8Array> {
  return objectsOf(withNullId);
}

/** A bucket that answers from memory and logs every get: for counting reads without R2. */
export function memoryBucket(objects: Map<string, Uint8Array>): RangeReadBucket & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    get(key, options) {
      const bytes = objects.get(key);
      log.push(options?.range ? `${key}@${options.range.offset}+${options.range.length}` : key);
      if (bytes === undefined) return Promise.resolve(null);
      const slice = options?.range ? bytes.slice(options.range.offset, options.range.offset + options.range.length) : bytes.slice();
      return Promise.resolve({ arrayBuffer: () => Promise.resolve(slice.buffer) });
    },
  };
}

/** A Cache API stand-in over a Map: what one data centre's `caches.default` holds, for Node tests. */
export function memoryCache(): CacheLike {
  const entries = new Map<string, ArrayBuffer>();
  return {
    match(key) {
      const bytes = entries.get(key);
      return Promise.resolve(bytes === undefined ? undefined : new Response(bytes.slice(0)));
    },
    async put(key, response) {
      entries.set(key, await response.arrayBuffer());
    },
  };
}

/** `items[i]`, failing the test (rather than going on with `undefined`) when there is no such element. */
export function at<T>(items: readonly T[], i: number): T {
  const item = items[i];
  if (item === undefined) throw new Error(`test setup: no element ${i} among ${items.length}`);
  return item;
}

/** `value`, failing the test when it is null or undefined; `what` names it in the message. */
export function defined<T>(value: T | null | undefined, what = 'value'): NonNullable<T> {
  if (value === null || value === undefined) throw new Error(`test setup: ${what} is ${String(value)}`);
  return value;
}
