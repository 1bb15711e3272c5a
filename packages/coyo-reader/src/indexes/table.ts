/**
 * Reads a provenance table (layout in `@coyo/coyo-schema`): its directory once per isolate and version
 * (isolate memory, then the Cache API), then the blocks that can hold a key range with one range read.
 */
import type { IndexTable } from '@coyo/coyo-schema';
import { DIRECTORY_ENTRY_BYTES } from '@coyo/coyo-schema';
import { LRUCache } from 'lru-cache';
import { readRange } from '../bucket';
import type { CoyoIo, CoyoMemory } from '../dataset';

/** A table's directory: the (key, id) of every block's first record. */
export interface TableDirectory {
  readonly keys: readonly bigint[];
  readonly ids: readonly number[];
}

/** One record of a table. `count` is set in tables that carry the number of records sharing the key. */
export interface TableRecord {
  readonly key: bigint;
  readonly id: number;
  readonly count?: number;
}

/** Parsed directories by isolate cache set, bounded like the footers (estimated parsed bytes). */
const directories = new WeakMap<CoyoMemory, LRUCache<string, Promise<TableDirectory>>>();
const DIRECTORY_BUDGET_BYTES = 32 * 1024 * 1024;

function directoryCache(memory: CoyoMemory): LRUCache<string, Promise<TableDirectory>> {
  let cache = directories.get(memory);
  if (cache === undefined) {
    cache = new LRUCache({ maxSize: DIRECTORY_BUDGET_BYTES });
    directories.set(memory, cache);
  }
  return cache;
}

/** Whether this isolate holds the table's directory (a warm look-up reads only blocks). */
export function directoryCached(io: CoyoIo, version: string, table: IndexTable): boolean {
  return directoryCache(io.memory).get(`${version}/${table.key}`) !== undefined;
}

function parseDirectory(bytes: ArrayBuffer): TableDirectory {
  const view = new DataView(bytes);
  const keys: bigint[] = [];
  const ids: number[] = [];
  for (let at = 0; at + DIRECTORY_ENTRY_BYTES <= bytes.byteLength; at += DIRECTORY_ENTRY_BYTES) {
    keys.push(view.getBigUint64(at, true));
    ids.push(Number(view.getBigUint64(at + 8, true)));
  }
  return { keys, ids };
}

/** The table's directory, from isolate memory, the Cache API or one range read. */
export function loadDirectory(io: CoyoIo, version: string, table: IndexTable): Promise<TableDirectory> {
  const cache = directoryCache(io.memory);
  const key = `${version}/${table.key}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const length = table.bytes - table.directory_offset;
  const load = (async () => {
    if (length === 0) return { keys: [], ids: [] };
    const cacheKey = `v1/${version}/index-directory/${table.key}`;
    let bytes = await io.edgeCache?.match(cacheKey);
    if (bytes === undefined) {
      bytes = await readRange(io.bucket, table.key, table.directory_offset, length);
      if (io.edgeCache && io.waitUntil) io.waitUntil(io.edgeCache.put(cacheKey, bytes).catch(() => undefined));
    }
    return parseDirectory(bytes);
  })();
  cache.set(key, load, { size: Math.max(1, length * 4) });
  load.catch(() => cache.delete(key));
  return load;
}

/** (key, id) ordering of records. */
function before(keyA: bigint, idA: number, keyB: bigint, idB: number): boolean {
  return keyA < keyB || (keyA === keyB && idA < idB);
}

/** A scan would read more than its budget allows (a pHash bucket too wide for the dataset's size). */
export class ScanBudgetError extends Error {
  override readonly name = 'ScanBudgetError';
}

export interface ScanOptions {
  /** Refuse (ScanBudgetError) a read of more bytes than this, before making it. */
  readonly maxBytes?: number;
  /** Only records with an id above this (within the first key) — a cursor. */
  readonly afterId?: number;
  /** Read no more blocks than needed for this many records from the start (default: the whole range). */
  readonly maxRecords?: number;
}

/**
 * The records with keys in [lo, hi] (after `afterId` in key `lo`), in (key, id) order, read with one
 * range read of the blocks that can hold them (none when the directory rules the range out). With
 * `maxRecords`, the read stops after enough blocks to hold that many; fewer records then means the range
 * is exhausted.
 */
export async function scanTable(io: CoyoIo, version: string, table: IndexTable, lo: bigint, hi: bigint, options: ScanOptions = {}): Promise<TableRecord[]> {
  if (table.entries === 0 || hi < lo) return [];
  const dir = await loadDirectory(io, version, table);
  const startId = options.afterId === undefined ? 0 : options.afterId + 1;
  // Last block whose first record is ≤ (lo, startId): the first one that can hold the start.
  let a = 0;
  let b = dir.keys.length - 1;
  let first = 0;
  while (a <= b) {
    const mid = (a + b) >> 1;
    if (!before(lo, startId, dir.keys[mid] as bigint, dir.ids[mid] as number)) {
      first = mid;
      a = mid + 1;
    } else b = mid - 1;
  }
  // Last block whose first key is ≤ hi.
  a = first;
  b = dir.keys.length - 1;
  let last = -1;
  while (a <= b) {
    const mid = (a + b) >> 1;
    if ((dir.keys[mid] as bigint) <= hi) {
      last = mid;
      a = mid + 1;
    } else b = mid - 1;
  }
  if (last < first) return [];
  if (options.maxRecords !== undefined) last = Math.min(last, first + Math.ceil(options.maxRecords / table.block_entries));
  const startRecord = first * table.block_entries;
  const endRecord = Math.min((last + 1) * table.block_entries, table.entries);
  const length = (endRecord - startRecord) * table.entry_bytes;
  if (options.maxBytes !== undefined && length > options.maxBytes)
    throw new ScanBudgetError(`the look-up would read ${length} bytes of ${table.key}, more than the ${options.maxBytes} one read may take`);
  const bytes = await readRange(io.bucket, table.key, startRecord * table.entry_bytes, length);
  const view = new DataView(bytes);
  const out: TableRecord[] = [];
  for (let at = 0; at < bytes.byteLength; at += table.entry_bytes) {
    const key = view.getBigUint64(at, true);
    if (key > hi) break;
    const id = Number(view.getBigUint64(at + 8, true));
    if (before(key, id, lo, startId)) continue;
    out.push(table.entry_bytes > 16 ? { key, id, count: Number(view.getBigUint64(at + 16, true)) } : { key, id });
  }
  return out;
}
