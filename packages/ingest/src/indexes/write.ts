/**
 * The ingest's side of the provenance tables: streams `id`, `url` and `image_phash` from the sorted stage
 * into typed columns ({@link IndexRows}), then sorts and writes each table to the work folder in turn
 * ({@link writeTables}), where publishing finds them by key ({@link indexFilePath}).
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Indexes, IndexTable } from '@coyo/coyo-schema';
import { toSafeNumber, type Duck } from '../duck.js';
import { DEFAULT_INDEX_BLOCK_ENTRIES, IndexRows, writeTables, type IndexRowsCapacity, type TableSink } from './build.js';

/** Every table of an index set, by-URL first. */
export function indexTables(indexes: Indexes): IndexTable[] {
  return [indexes.by_url, indexes.by_domain, ...indexes.by_phash];
}

/** Where a build keeps the table object published under `key`: beside the shards, in `folder`. */
export function indexFilePath(folder: string, key: string): string {
  return join(folder, `index-${basename(key)}`);
}

/** The id range of shard `i` of `bounds` as a WHERE clause. */
function rangeWhere(bounds: readonly bigint[], i: number): string {
  const lo = bounds[i];
  const hi = bounds[i + 1];
  if (lo === undefined) throw new Error(`bug: no shard bound ${i}`);
  return hi === undefined ? `id >= ${lo}` : `id >= ${lo} AND id < ${hi}`;
}

/** Rows with a URL and with a pHash in the stage: the columns' sizes, so they are allocated once. */
async function capacity(duck: Duck, table: string): Promise<IndexRowsCapacity> {
  const [row] = await duck.all(`SELECT count(url) AS urls, count(image_phash) AS phashes FROM ${table}`);
  return { urls: toSafeNumber(row?.['urls'], 'url count'), phashes: toSafeNumber(row?.['phashes'], 'pHash count') };
}

/**
 * Reads the index columns of the stage in id order, one shard's id range at a time and one DuckDB chunk
 * (2,048 rows) at a time, so no JavaScript object outlives its chunk.
 */
async function readRows(duck: Duck, table: string, bounds: readonly bigint[]): Promise<IndexRows> {
  const rows = new IndexRows(await capacity(duck, table));
  for (let i = 0; i < bounds.length; i++) {
    const result = await duck.connection.stream(`SELECT id, url, image_phash FROM ${table} WHERE ${rangeWhere(bounds, i)} ORDER BY id`);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const ids = chunk.getColumnValues(0);
      const urls = chunk.getColumnValues(1);
      const phashes = chunk.getColumnValues(2);
      for (let r = 0; r < chunk.rowCount; r++) {
        const url = urls[r];
        const phash = phashes[r];
        rows.add(toSafeNumber(ids[r], 'id'), typeof url === 'string' ? url : null, typeof phash === 'string' ? phash : null);
      }
    }
  }
  return rows;
}

/** A sink writing a table to `<path>.partial`, renamed to `path` once complete. */
function fileSink(folder: string): (key: string) => TableSink {
  return (key) => {
    const path = indexFilePath(folder, key);
    const partial = `${path}.partial`;
    const fd = openSync(partial, 'w');
    let written = 0;
    return {
      write: (chunk) => {
        let at = 0;
        while (at < chunk.byteLength) at += writeSync(fd, chunk, at);
        written += chunk.byteLength;
      },
      end: (table) => {
        closeSync(fd);
        if (written !== table.bytes) throw new Error(`bug: table ${key} wrote ${written} bytes, not ${table.bytes}`);
        renameSync(partial, path);
      },
      abort: () => {
        closeSync(fd);
        rmSync(partial, { force: true });
      },
    };
  };
}

/** Builds the tables of a version from the stage and writes them to `folder` (the shards' folder). */
export async function writeIndexes(
  duck: Duck,
  table: string,
  bounds: readonly bigint[],
  version: string,
  folder: string,
  blockEntries = DEFAULT_INDEX_BLOCK_ENTRIES,
): Promise<Indexes> {
  const rows = await readRows(duck, table, bounds);
  await mkdir(folder, { recursive: true });
  return writeTables(rows, version, blockEntries, fileSink(folder));
}

/** True when every table a reused build names is still in `folder` at its size. */
export async function indexFilesPresent(folder: string, indexes: Indexes | undefined): Promise<boolean> {
  if (indexes === undefined) return true;
  for (const table of indexTables(indexes)) {
    const info = await stat(indexFilePath(folder, table.key)).catch(() => undefined);
    if (info === undefined || info.size !== table.bytes) return false;
  }
  return true;
}
