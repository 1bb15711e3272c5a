import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { NULLABLE_COLUMNS } from '@coyo/coyo-schema';
import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { NULLS_FIXTURE_PATH, READER_FIXTURES } from './reader-fixture.js';

/** Size limit per fixture file, in KB: the reader's and the worker's tests load them whole. */
const MAX_KB: Readonly<Record<string, number>> = {
  // 235 KB of it are the eleven provenance tables (16 KB each, base64).
  'coyo-bucket.json': 560,
  'coyo-nulls-bucket.json': 150,
  'coyo-null-id-bucket.json': 20,
};

const fixtures = READER_FIXTURES.map(({ path, build }) => [basename(path), path, build] as const);

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

describe.each(fixtures)('the reader fixture %s', (name, path, build) => {
  const maxKb = MAX_KB[name];
  it('matches what gen:fixture writes (run `pnpm --filter @coyo/ingest gen:fixture` after changing the generator)', async () => {
    const { text } = await build();
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it(`stays under ${maxKb ?? '(no limit set)'} KB`, async () => {
    expect(maxKb, `give ${name} a size limit in MAX_KB`).toBeDefined();
    expect((await readFile(path)).byteLength).toBeLessThan((maxKb ?? 0) * 1024);
  });
});

describe('the fixture with NULLs', () => {
  it('holds a NULL in every column the reader serves as nullable, and in no id', async () => {
    const rows = await shardRows(NULLS_FIXTURE_PATH);
    expect(rows).toHaveLength(300);
    expect(NULLABLE_COLUMNS.filter((c) => !rows.some((r) => r[c] === null))).toEqual([]);
    expect(rows.filter((r) => r['id'] === null)).toEqual([]);
  });
});
