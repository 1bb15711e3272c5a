/**
 * The ingest's side of the provenance tables: reads `id`, `url` and `image_phash` from the sorted stage,
 * builds the tables ({@link buildIndexes}) and writes them to the work folder, where publishing finds
 * them by key ({@link indexFilePath}).
 */
import { stat, writeFile, mkdir, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Indexes, IndexTable } from '@coyo/coyo-schema';
import { toSafeNumber, type Duck } from '../duck.js';
import { buildIndexes, type IndexSourceRow } from './build.js';

/** Every table of an index set, by-URL first. */
export function indexTables(indexes: Indexes): IndexTable[] {
  return [indexes.by_url, indexes.by_domain, ...indexes.by_phash];
}

/** Where a build keeps the table object published under `key`: beside the shards, in `folder`. */
export function indexFilePath(folder: string, key: string): string {
  return join(folder, `index-${basename(key)}`);
}

/** Reads the index columns of the stage in id order, one shard's id range at a time. */
async function sourceRows(duck: Duck, table: string, bounds: readonly bigint[]): Promise<IndexSourceRow[]> {
  const out: IndexSourceRow[] = [];
  for (const [i, lo] of bounds.entries()) {
    const hi = bounds[i + 1];
    const where = hi === undefined ? `id >= ${lo}` : `id >= ${lo} AND id < ${hi}`;
    for (const row of await duck.all(`SELECT id, url, image_phash FROM ${table} WHERE ${where} ORDER BY id`)) {
      const url = row['url'];
      const phash = row['image_phash'];
      out.push({
        id: toSafeNumber(row['id'], 'id'),
        url: typeof url === 'string' ? url : null,
        image_phash: typeof phash === 'string' ? phash : null,
      });
    }
  }
  return out;
}

/** Builds the tables of a version from the stage and writes them to `folder` (the shards' folder). */
export async function writeIndexes(
  duck: Duck,
  table: string,
  bounds: readonly bigint[],
  version: string,
  folder: string,
  blockEntries?: number,
): Promise<Indexes> {
  const built = buildIndexes(await sourceRows(duck, table, bounds), version, blockEntries);
  await mkdir(folder, { recursive: true });
  for (const [key, bytes] of built.objects) {
    const path = indexFilePath(folder, key);
    await writeFile(`${path}.partial`, bytes);
    await rename(`${path}.partial`, path);
  }
  return built.indexes;
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
