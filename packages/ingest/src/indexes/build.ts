/**
 * Builds a version's provenance tables (by URL, by domain, by pHash) from the `id`, `url` and
 * `image_phash` of its rows, in the layout `@coyo/coyo-schema` declares: records sorted by (key, id),
 * then a directory of every block's first record.
 *
 * Rows are read once into typed columns ({@link IndexRows}: a 64-bit key and an id per record and
 * table, the pHash once), which a stable radix sort orders; each table is then encoded in chunks to a
 * sink (a file, for the ingest) and its columns freed before the next. At most 64 bytes per row are held:
 * by-URL, by-domain and pHash columns (16 bytes each) plus one scratch pair for the sort. See
 * docs/coyo-storage.md ("Building.") for measurements and what full size would need.
 */
import { createHash } from 'node:crypto';
import {
  DIRECTORY_ENTRY_BYTES,
  INDEX_FORMAT_VERSION,
  IndexesSchema,
  KEY_ID_COUNT_ENTRY_BYTES,
  KEY_ID_ENTRY_BYTES,
  PHASH_PATTERN,
  PHASH_SUBSTRINGS,
  domainKey,
  indexTableKey,
  urlHost,
  urlKey,
  type IndexTable,
  type Indexes,
} from '@coyo/coyo-schema';
import { keyWords, radixSortKeyIds, sortScratch, type KeyIdArrays } from './radix-sort.js';

/** Records per directory block when the caller does not choose: 64 KB of by-URL records per read. */
export const DEFAULT_INDEX_BLOCK_ENTRIES = 4096;

/** Records encoded per chunk handed to a sink (1–1.5 MiB). */
const CHUNK_RECORDS = 65_536;

const TWO_32 = 4_294_967_296;

/** The columns of a row the indexes are made from. */
export interface IndexSourceRow {
  readonly id: number;
  readonly url: string | null;
  readonly image_phash: string | null;
}

/** The tables of a version: their manifest entry and their bytes by object key. */
export interface BuiltIndexes {
  readonly indexes: Indexes;
  readonly objects: ReadonlyMap<string, Uint8Array>;
}

/** Where one table's bytes go, in order. */
export interface TableSink {
  /** Takes the next bytes of the table; `chunk` is reused once this returns, so copy it to keep it. */
  write(chunk: Uint8Array): void;
  /** The table is complete: `table` describes the bytes written. */
  end(table: IndexTable): void;
  /** Encoding failed; nothing more will be written. */
  abort(): void;
}

/** A growable column of (key, id) records, kept in typed arrays. */
export class KeyIdColumn implements KeyIdArrays {
  keys: BigUint64Array;
  ids: Float64Array;
  length = 0;
  private words: Uint32Array;

  /** `capacity` records are allocated at once; more double it. */
  constructor(capacity = 1024) {
    this.keys = new BigUint64Array(Math.max(1, capacity));
    this.ids = new Float64Array(this.keys.length);
    this.words = keyWords(this.keys);
  }

  /** Appends a key given as its low and high 32-bit words. */
  pushWords(low: number, high: number, id: number): void {
    if (this.length === this.keys.length) this.grow();
    const i = this.length++;
    this.words[2 * i] = low;
    this.words[2 * i + 1] = high;
    this.ids[i] = id;
  }

  /** Appends a key given as a bigint (taken modulo 2^64). */
  push(key: bigint, id: number): void {
    if (this.length === this.keys.length) this.grow();
    const i = this.length++;
    this.keys[i] = key;
    this.ids[i] = id;
  }

  /** Drops the arrays, so their memory can go before the next table is built. */
  release(): void {
    this.keys = new BigUint64Array(0);
    this.ids = new Float64Array(0);
    this.words = new Uint32Array(0);
    this.length = 0;
  }

  private grow(): void {
    const keys = new BigUint64Array(this.keys.length * 2);
    keys.set(this.keys);
    const ids = new Float64Array(keys.length);
    ids.set(this.ids);
    this.keys = keys;
    this.ids = ids;
    this.words = keyWords(keys);
  }
}

/** Expected record counts, so the columns are allocated once at their size (upper bounds are fine). */
export interface IndexRowsCapacity {
  /** Rows with a URL (by-URL and, at most, by-domain). */
  readonly urls: number;
  /** Rows with a pHash (well-formed or not). */
  readonly phashes: number;
}

/**
 * The rows of a version reduced to the tables' columns, added in ascending id order (so the stable sort
 * leaves equal keys in id order). Rows without a URL are left out of by-URL and by-domain, rows without a
 * host out of by-domain, rows whose pHash is NULL or not 16 hex digits out of the pHash tables.
 */
export class IndexRows {
  readonly byUrl: KeyIdColumn;
  readonly byDomain: KeyIdColumn;
  /** The pHash itself as key: table 0's key, which every other pHash table's is a rotation of. */
  readonly phash: KeyIdColumn;
  private lastId = Number.NEGATIVE_INFINITY;

  constructor(capacity?: IndexRowsCapacity) {
    this.byUrl = new KeyIdColumn(capacity?.urls);
    this.byDomain = new KeyIdColumn(capacity?.urls);
    this.phash = new KeyIdColumn(capacity?.phashes);
  }

  /** Adds one row; ids must come in ascending order. */
  add(id: number, url: string | null, imagePhash: string | null): void {
    if (!Number.isSafeInteger(id)) throw new Error(`bug: row id ${id} is not a safe integer`);
    if (id < this.lastId) throw new Error(`bug: index rows must come in ascending id order (${id} after ${this.lastId})`);
    this.lastId = id;
    if (url !== null) {
      this.byUrl.push(urlKey(url), id);
      const host = urlHost(url);
      if (host !== null) this.byDomain.push(domainKey(host), id);
    }
    // The same test as parsePhash, without a bigint per row.
    if (imagePhash !== null && PHASH_PATTERN.test(imagePhash)) {
      this.phash.pushWords(Number.parseInt(imagePhash.slice(8), 16), Number.parseInt(imagePhash.slice(0, 8), 16), id);
    }
  }
}

/**
 * Encodes the first `length` records of `data`, already sorted by (key, id), as one table object,
 * handed to `sink` in chunks. With `withCounts`, every record also carries the number of records that
 * share its key, so one block read answers "how many rows has this host".
 */
export function encodeTable(
  key: string,
  data: KeyIdArrays,
  length: number,
  blockEntries: number,
  withCounts: boolean,
  sink: TableSink,
): IndexTable {
  if (!Number.isSafeInteger(blockEntries) || blockEntries < 1) throw new Error('block entries must be a positive integer');
  const entryBytes = withCounts ? KEY_ID_COUNT_ENTRY_BYTES : KEY_ID_ENTRY_BYTES;
  const entryWords = entryBytes / 4;
  const blocks = Math.ceil(length / blockEntries);
  const directoryOffset = length * entryBytes;
  const hash = createHash('sha256');
  const keys = keyWords(data.keys);
  const ids = data.ids;
  const chunk = new Uint32Array(Math.min(length, CHUNK_RECORDS) * entryWords);
  const chunkBytes = new Uint8Array(chunk.buffer);
  const directory = new Uint32Array((blocks * DIRECTORY_ENTRY_BYTES) / 4);
  const emit = (bytes: Uint8Array): void => {
    hash.update(bytes);
    sink.write(bytes);
  };
  let runEnd = 0;
  let runCount = 0;
  let filled = 0;
  for (let i = 0; i < length; i++) {
    const low = keys[2 * i] as number;
    const high = keys[2 * i + 1] as number;
    const id = ids[i] as number;
    // A safe integer's two's-complement words (negative ids wrap as a u64 would).
    const idLow = id >>> 0;
    const idHigh = Math.floor(id / TWO_32) >>> 0;
    const at = filled * entryWords;
    chunk[at] = low;
    chunk[at + 1] = high;
    chunk[at + 2] = idLow;
    chunk[at + 3] = idHigh;
    if (withCounts) {
      if (i === runEnd) {
        runEnd = i + 1;
        while (runEnd < length && keys[2 * runEnd] === low && keys[2 * runEnd + 1] === high) runEnd++;
        runCount = runEnd - i;
      }
      chunk[at + 4] = runCount >>> 0;
      chunk[at + 5] = Math.floor(runCount / TWO_32) >>> 0;
    }
    if (i % blockEntries === 0) {
      const d = (i / blockEntries) * (DIRECTORY_ENTRY_BYTES / 4);
      directory[d] = low;
      directory[d + 1] = high;
      directory[d + 2] = idLow;
      directory[d + 3] = idHigh;
    }
    if (++filled * entryWords === chunk.length) {
      emit(chunkBytes);
      filled = 0;
    }
  }
  if (filled > 0) emit(chunkBytes.subarray(0, filled * entryBytes));
  if (directory.length > 0) emit(new Uint8Array(directory.buffer));
  return {
    key,
    bytes: directoryOffset + directory.byteLength,
    sha256: hash.digest('hex'),
    entries: length,
    entry_bytes: entryBytes,
    block_entries: blockEntries,
    directory_offset: directoryOffset,
  };
}

/** Rotates the first `length` keys left by `bits` (0–63) within 64 bits, in place. */
function rotateKeys(keys: BigUint64Array, length: number, bits: number): void {
  if (bits === 0) return;
  const words = keyWords(keys);
  const s = bits % 32;
  const swap = bits >= 32;
  for (let i = 0; i < length; i++) {
    let low = words[2 * i] as number;
    let high = words[2 * i + 1] as number;
    if (swap) [low, high] = [high, low];
    if (s !== 0) [low, high] = [((low << s) | (high >>> (32 - s))) >>> 0, ((high << s) | (low >>> (32 - s))) >>> 0];
    words[2 * i] = low;
    words[2 * i + 1] = high;
  }
}

/**
 * Sorts and encodes the eleven tables of `rows`, one at a time, each to the sink `open` gives for its
 * object key, and returns the manifest's `indexes`. Consumes `rows`: each column is freed (or reused as
 * the next pHash table) once its table is written.
 */
export function writeTables(rows: IndexRows, version: string, blockEntries: number, open: (key: string) => TableSink): Indexes {
  const scratch = sortScratch(Math.max(rows.byUrl.length, rows.byDomain.length, rows.phash.length));
  const table = (name: string, column: KeyIdColumn, withCounts: boolean): IndexTable => {
    const key = indexTableKey(version, name);
    const sink = open(key);
    let written: IndexTable;
    try {
      written = encodeTable(key, column, column.length, blockEntries, withCounts, sink);
    } catch (error) {
      sink.abort();
      throw error;
    }
    sink.end(written);
    return written;
  };
  radixSortKeyIds(rows.byUrl, rows.byUrl.length, scratch);
  const byUrl = table('by-url', rows.byUrl, false);
  rows.byUrl.release();
  radixSortKeyIds(rows.byDomain, rows.byDomain.length, scratch);
  const byDomain = table('by-domain', rows.byDomain, true);
  rows.byDomain.release();
  // Table t's key is the pHash rotated left by substring t's start; each table is made from the one
  // before it, sorted, by the difference. Equal keys are equal pHashes, which the previous sort left in
  // id order, so stability still gives (key, id).
  const byPhash: IndexTable[] = [];
  let rotated = 0;
  for (const [t, substring] of PHASH_SUBSTRINGS.entries()) {
    rotateKeys(rows.phash.keys, rows.phash.length, substring.start - rotated);
    rotated = substring.start;
    radixSortKeyIds(rows.phash, rows.phash.length, scratch);
    byPhash.push(table(`by-phash-${t}`, rows.phash, false));
  }
  rows.phash.release();
  const indexes: Indexes = { format_version: INDEX_FORMAT_VERSION, by_url: byUrl, by_domain: byDomain, by_phash: byPhash };
  return IndexesSchema.parse(indexes);
}

/** A sink that keeps a table's bytes in memory, for {@link buildIndexes}. */
function memorySink(objects: Map<string, Uint8Array>): (key: string) => TableSink {
  return (key) => {
    const parts: Uint8Array[] = [];
    return {
      write: (chunk) => parts.push(chunk.slice()),
      end: (table) => {
        const bytes = new Uint8Array(table.bytes);
        let at = 0;
        for (const part of parts) {
          bytes.set(part, at);
          at += part.byteLength;
        }
        if (at !== table.bytes) throw new Error(`bug: table ${key} wrote ${at} bytes, not ${table.bytes}`);
        objects.set(key, bytes);
      },
      abort: () => undefined,
    };
  };
}

/**
 * The by-URL, by-domain and nine by-pHash tables of a version, in memory; `rows` in ascending id order.
 * For small versions (fixtures, tests); the ingest writes the tables to files as it builds them.
 */
export function buildIndexes(rows: Iterable<IndexSourceRow>, version: string, blockEntries = DEFAULT_INDEX_BLOCK_ENTRIES): BuiltIndexes {
  const columns = new IndexRows();
  for (const row of rows) columns.add(row.id, row.url, row.image_phash);
  const objects = new Map<string, Uint8Array>();
  const indexes = writeTables(columns, version, blockEntries, memorySink(objects));
  return { indexes, objects };
}
