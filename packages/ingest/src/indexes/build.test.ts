import { readFile } from 'node:fs/promises';
import type { Indexes } from '@coyo/coyo-schema';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { referenceIndexes } from '../../test/reference-indexes.js';
import { Duck } from '../duck.js';
import { Random } from '../random.js';
import { IndexRows, buildIndexes, type IndexSourceRow } from './build.js';
import { indexFilePath, indexTables, writeIndexes } from './write.js';

const HOSTS = ['example.com', 'Example.COM', 'shop.example.com', 'bücher.de', 'xn--bcher-kva.de', '127.0.0.1', '[::1]', 'a.b.c.d.e'];
const ODD_URLS = ['not a url', 'mailto:someone@example.com', 'file:///etc/passwd', '', '   ', 'http://', 'data:,x'];
const BAD_PHASHES = ['', '0123', '0123456789abcdef0', '0123456789abcdeg', ' 0123456789abcdef', '0x23456789abcdef', 'ＡＢＣＤ０１２３４５６７８９ａｂ'];

function hex16(random: Random): string {
  return random.uint32().toString(16).padStart(8, '0') + random.uint32().toString(16).padStart(8, '0');
}

/** Rows in ascending id order with gaps, repeated URLs, hosts and pHashes, NULLs and malformed pHashes. */
function randomRows(seed: number, count: number, firstId: number): IndexSourceRow[] {
  const random = new Random(seed);
  const pick = <T>(items: readonly T[]): T => items[random.uint32() % items.length] as T;
  const urls = Array.from({ length: 40 }, (_, i) => `http${i % 2 === 0 ? 's' : ''}://${pick(HOSTS)}/p/${i % 7}?q=${i % 5}`);
  const phashes = ['0000000000000000', 'ffffffffffffffff', 'FFFFFFFF00000000', ...Array.from({ length: 30 }, () => hex16(random))];
  const rows: IndexSourceRow[] = [];
  let id = firstId;
  for (let i = 0; i < count; i++) {
    id += 1 + (random.uint32() % 4 === 0 ? random.uint32() % 100_000 : 0);
    const u = random.uint32() % 10;
    const url = u === 0 ? null : u === 1 ? pick(ODD_URLS) : u < 6 ? pick(urls) : `https://${pick(HOSTS)}/r/${random.uint32()}`;
    const p = random.uint32() % 10;
    const image_phash = p === 0 ? null : p === 1 ? pick(BAD_PHASHES) : p < 5 ? pick(phashes) : p === 5 ? hex16(random).toUpperCase() : hex16(random);
    rows.push({ id, url, image_phash });
  }
  return rows;
}

function expectSameTables(actual: { indexes: Indexes; objects: ReadonlyMap<string, Uint8Array> }, expected: ReturnType<typeof referenceIndexes>): void {
  expect(actual.indexes).toEqual(expected.indexes);
  for (const table of indexTables(expected.indexes)) {
    const bytes = actual.objects.get(table.key);
    expect(bytes, table.key).toBeDefined();
    expect(Buffer.compare(Buffer.from(bytes ?? []), Buffer.from(expected.objects.get(table.key) ?? [])), table.key).toBe(0);
  }
}

describe('buildIndexes', () => {
  it('writes the bytes of a comparator-sorted build for rows with repeats, NULLs, malformed pHashes and sparse ids', () => {
    for (const [seed, count, firstId, blockEntries] of [
      [1, 3000, 0, 4096],
      [2, 3000, 2 ** 53 - 1 - 3000 * 100_001, 7],
      [3, 500, -10_000_000, 1],
      [4, 1, 5, 3],
      [5, 0, 0, 16],
    ] as const) {
      const rows = randomRows(seed, count, firstId);
      expectSameTables(buildIndexes(rows, 'v1', blockEntries), referenceIndexes(rows, 'v1', blockEntries));
    }
  });

  it('writes the same bytes when a table spans several encoding chunks', () => {
    const rows = randomRows(6, 70_000, 100);
    expectSameTables(buildIndexes(rows, 'v2', 4096), referenceIndexes(rows, 'v2', 4096));
  });

  it('refuses rows out of id order', () => {
    const rows = new IndexRows();
    rows.add(5, null, null);
    expect(() => { rows.add(4, null, null); }).toThrow(/ascending id order/);
  });
});

describe('writeIndexes', () => {
  it('streams the stage range by range into table files with the reference bytes', async () => {
    const rows = randomRows(8, 5000, 1000);
    const duck = await Duck.open();
    try {
      await duck.run('CREATE TABLE staged (id BIGINT, url VARCHAR, image_phash VARCHAR)');
      const appender = await duck.connection.createAppender('staged');
      for (const row of rows) {
        appender.appendBigInt(BigInt(row.id));
        if (row.url === null) appender.appendNull();
        else appender.appendVarchar(row.url);
        if (row.image_phash === null) appender.appendNull();
        else appender.appendVarchar(row.image_phash);
        appender.endRow();
      }
      appender.closeSync();
      const ids = rows.map((r) => BigInt(r.id));
      const bounds = [0n, ids[1200] ?? 0n, ids[1201] ?? 0n, ids[4000] ?? 0n];
      const folder = await tempDir();
      const indexes = await writeIndexes(duck, 'staged', bounds, 'v3', folder, 64);
      const objects = new Map<string, Uint8Array>();
      for (const table of indexTables(indexes)) objects.set(table.key, await readFile(indexFilePath(folder, table.key)));
      expectSameTables({ indexes, objects }, referenceIndexes(rows, 'v3', 64));
    } finally {
      duck.close();
    }
  });
});
