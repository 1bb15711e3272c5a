import { COYO_COLUMNS, STORAGE_ORDER } from '@coyo/coyo-schema';
import { parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { canonicalColumns, parquetType } from './schema';
import { fixtureManifest, fixtureObjects, nullsFixtureManifest, nullsFixtureObjects } from '../testing';

/** Column name → physical type, as the footer of every shard of a fixture version declares them. */
function footerTypes(objects: Map<string, Uint8Array>, keys: readonly string[]): Map<string, string | undefined>[] {
  return keys.map((key) => {
    const bytes = objects.get(key);
    if (bytes === undefined) throw new Error(`test setup: fixture lacks ${key}`);
    const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    return new Map(metadata.schema.slice(1).map((e) => [e.name, e.type]));
  });
}

describe('parquetType', () => {
  it('gives every column the physical type the shards declare, with or without NULLs', () => {
    const shards = [
      ...footerTypes(fixtureObjects(), fixtureManifest().shards.map((s) => s.key)),
      ...footerTypes(nullsFixtureObjects(), nullsFixtureManifest().shards.map((s) => s.key)),
    ];
    expect(shards.length).toBeGreaterThan(0);
    for (const types of shards) {
      expect([...types.keys()]).toEqual(STORAGE_ORDER);
      for (const column of COYO_COLUMNS) expect(types.get(column), column).toBe(parquetType(column));
    }
  });
});

describe('canonicalColumns', () => {
  it('puts a projection in the dataset order and drops repeats', () => {
    expect(canonicalColumns(['text', 'id', 'watermark_score', 'text', 'url'])).toEqual(['id', 'url', 'text', 'watermark_score']);
  });
});
