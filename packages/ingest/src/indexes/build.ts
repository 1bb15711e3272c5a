/**
 * Builds a version's provenance tables (by URL, by domain, by pHash) from the `id`, `url` and
 * `image_phash` of its rows, in the layout `@coyo/coyo-schema` declares: records sorted by (key, id),
 * then a directory of every block's first record. The tables are built in memory (16–24 bytes per
 * record and table); see docs/coyo-storage.md for what that means at full size.
 */
import { createHash } from 'node:crypto';
import {
  DIRECTORY_ENTRY_BYTES,
  INDEX_FORMAT_VERSION,
  IndexesSchema,
  KEY_ID_COUNT_ENTRY_BYTES,
  KEY_ID_ENTRY_BYTES,
  PHASH_SUBSTRINGS,
  domainKey,
  indexTableKey,
  parsePhash,
  phashTableKey,
  urlHost,
  urlKey,
  type IndexTable,
  type Indexes,
} from '@coyo/coyo-schema';

/** Records per directory block when the caller does not choose: 64 KB of by-URL records per read. */
export const DEFAULT_INDEX_BLOCK_ENTRIES = 4096;

/** The columns of a row the indexes are made from. */
export interface IndexSourceRow {
  readonly id: number;
  readonly url: string | null;
  readonly image_phash: string | null;
}

interface TableRecord {
  key: bigint;
  id: number;
}

/** The tables of a version: their manifest entry and their bytes by object key. */
export interface BuiltIndexes {
  readonly indexes: Indexes;
  readonly objects: ReadonlyMap<string, Uint8Array>;
}

function compareRecords(a: TableRecord, b: TableRecord): number {
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  return a.id - b.id;
}

/**
 * Encodes records (sorted here) as one table object. With `withCounts`, every record also carries the
 * number of records that share its key, so one block read answers "how many rows has this host".
 */
export function encodeTable(key: string, records: TableRecord[], blockEntries: number, withCounts: boolean): { table: IndexTable; bytes: Uint8Array } {
  if (!Number.isSafeInteger(blockEntries) || blockEntries < 1) throw new Error('block entries must be a positive integer');
  records.sort(compareRecords);
  const entryBytes = withCounts ? KEY_ID_COUNT_ENTRY_BYTES : KEY_ID_ENTRY_BYTES;
  const blocks = Math.ceil(records.length / blockEntries);
  const directoryOffset = records.length * entryBytes;
  const bytes = new Uint8Array(directoryOffset + blocks * DIRECTORY_ENTRY_BYTES);
  const view = new DataView(bytes.buffer);
  let runStart = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as TableRecord;
    const at = i * entryBytes;
    view.setBigUint64(at, record.key, true);
    view.setBigUint64(at + 8, BigInt(record.id), true);
    if (withCounts) {
      if (i > 0 && (records[i - 1] as TableRecord).key !== record.key) runStart = i;
      if (i === runStart) {
        let end = i + 1;
        while (end < records.length && (records[end] as TableRecord).key === record.key) end++;
        for (let j = i; j < end; j++) view.setBigUint64(j * entryBytes + 16, BigInt(end - i), true);
      }
    }
    if (i % blockEntries === 0) {
      const d = directoryOffset + (i / blockEntries) * DIRECTORY_ENTRY_BYTES;
      view.setBigUint64(d, record.key, true);
      view.setBigUint64(d + 8, BigInt(record.id), true);
    }
  }
  const table: IndexTable = {
    key,
    bytes: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    entries: records.length,
    entry_bytes: entryBytes,
    block_entries: blockEntries,
    directory_offset: directoryOffset,
  };
  return { table, bytes };
}

/**
 * The by-URL, by-domain and nine by-pHash tables of a version. Rows without a URL are left out of the
 * first two, rows without a host out of by-domain, rows whose pHash is NULL or not 16 hex digits out of
 * the pHash tables.
 */
export function buildIndexes(rows: Iterable<IndexSourceRow>, version: string, blockEntries = DEFAULT_INDEX_BLOCK_ENTRIES): BuiltIndexes {
  const byUrl: TableRecord[] = [];
  const byDomain: TableRecord[] = [];
  const phashes: { phash: bigint; id: number }[] = [];
  for (const row of rows) {
    if (row.url !== null) {
      byUrl.push({ key: urlKey(row.url), id: row.id });
      const host = urlHost(row.url);
      if (host !== null) byDomain.push({ key: domainKey(host), id: row.id });
    }
    const phash = parsePhash(row.image_phash);
    if (phash !== null) phashes.push({ phash, id: row.id });
  }
  const objects = new Map<string, Uint8Array>();
  const add = (name: string, records: TableRecord[], withCounts: boolean): IndexTable => {
    const { table, bytes } = encodeTable(indexTableKey(version, name), records, blockEntries, withCounts);
    objects.set(table.key, bytes);
    return table;
  };
  const indexes: Indexes = {
    format_version: INDEX_FORMAT_VERSION,
    by_url: add('by-url', byUrl, false),
    by_domain: add('by-domain', byDomain, true),
    by_phash: PHASH_SUBSTRINGS.map((_, t) =>
      add(
        `by-phash-${t}`,
        phashes.map(({ phash, id }) => ({ key: phashTableKey(phash, t), id })),
        false,
      ),
    ),
  };
  return { indexes: IndexesSchema.parse(indexes), objects };
}
