import { readFile } from 'node:fs/promises';
import { NULLABLE_COLUMNS } from '@coyo/coyo-schema';
import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import {
  FIXTURE_PATH,
  NULL_ID_FIXTURE_PATH,
  NULLS_FIXTURE_PATH,
  workerFixture,
  workerNullIdFixture,
  workerNullsFixture,
} from './worker-fixture.js';

const fixtures = [
  ['coyo-bucket.json', FIXTURE_PATH, workerFixture, 300],
  ['coyo-nulls-bucket.json', NULLS_FIXTURE_PATH, workerNullsFixture, 150],
  ['coyo-null-id-bucket.json', NULL_ID_FIXTURE_PATH, workerNullIdFixture, 20],
] as const;

/** Every row of a fixture file's shards, read whole. */
async function shardRows(path: string): Promise<Record<string, unknown>[]> {
  const { objects } = JSON.parse(await readFile(path, 'utf8')) as { objects: Record<string, string> };
  const rows: Record<string, unknown>[] = [];
  for (const [key, base64] of Object.entries(objects).sort(([a], [b]) => a.localeCompare(b))) {
    if (!key.endsWith('.parquet')) continue;
    const bytes = Buffer.from(base64, 'base64');
    rows.push(...(await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) })));
  }
  return rows;
}

describe.each(fixtures)('the worker fixture %s', (_name, path, build, maxKb) => {
  it('matches what gen:fixture writes (run `pnpm --filter @coyo/ingest gen:fixture` after changing the generator)', async () => {
    const { text } = await build();
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it(`stays under ${maxKb} KB`, async () => {
    expect((await readFile(path)).byteLength).toBeLessThan(maxKb * 1024);
  });
});

describe('the fixture with NULLs', () => {
  it('holds a NULL in every column the worker serves as nullable, and in no id', async () => {
    const rows = await shardRows(NULLS_FIXTURE_PATH);
    expect(rows).toHaveLength(300);
    expect(NULLABLE_COLUMNS.filter((c) => !rows.some((r) => r[c] === null))).toEqual([]);
    expect(rows.filter((r) => r['id'] === null)).toEqual([]);
  });
});
