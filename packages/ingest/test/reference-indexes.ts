/**
 * The simplest correct provenance-table builder, and the one the ingest used before typed columns:
 * one JavaScript object per record, a comparator sort, a DataView per table, every table's bytes kept.
 * The tests compare the ingest's builder with it byte for byte; `bench:indexes` measures it as the
 * builder that was replaced.
 */
import { createHash } from 'node:crypto';
import {
  DIRECTORY_ENTRY_BYTES,
  INDEX_FORMAT_VERSION,
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
import type { IndexSourceRow } from '../src/indexes/build.js';

interface Rec {
  key: bigint;
  id: number;
}

/** The tables of `rows` in the published layout: their manifest entry and their bytes by object key. */
export function referenceIndexes(rows: readonly IndexSourceRow[], version: string, blockEntries: number): { indexes: Indexes; objects: Map<string, Uint8Array> } {
  const objects = new Map<string, Uint8Array>();
  const encode = (name: string, records: Rec[], withCounts: boolean): IndexTable => {
    records.sort((a, b) => (a.key !== b.key ? (a.key < b.key ? -1 : 1) : a.id - b.id));
    const entryBytes = withCounts ? KEY_ID_COUNT_ENTRY_BYTES : KEY_ID_ENTRY_BYTES;
    const directoryOffset = records.length * entryBytes;
    const bytes = new Uint8Array(directoryOffset + Math.ceil(records.length / blockEntries) * DIRECTORY_ENTRY_BYTES);
    const view = new DataView(bytes.buffer);
    let runStart = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as Rec;
      view.setBigUint64(i * entryBytes, record.key, true);
      view.setBigUint64(i * entryBytes + 8, BigInt(record.id), true);
      if (withCounts) {
        if (i > 0 && (records[i - 1] as Rec).key !== record.key) runStart = i;
        if (i === runStart) {
          let end = i + 1;
          while (end < records.length && (records[end] as Rec).key === record.key) end++;
          for (let j = i; j < end; j++) view.setBigUint64(j * entryBytes + 16, BigInt(end - i), true);
        }
      }
      if (i % blockEntries === 0) {
        const d = directoryOffset + (i / blockEntries) * DIRECTORY_ENTRY_BYTES;
        view.setBigUint64(d, record.key, true);
        view.setBigUint64(d + 8, BigInt(record.id), true);
      }
    }
    const key = indexTableKey(version, name);
    objects.set(key, bytes);
    return {
      key,
      bytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      entries: records.length,
      entry_bytes: entryBytes,
      block_entries: blockEntries,
      directory_offset: directoryOffset,
    };
  };
  const byUrl: Rec[] = [];
  const byDomain: Rec[] = [];
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
  const indexes: Indexes = {
    format_version: INDEX_FORMAT_VERSION,
    by_url: encode('by-url', byUrl, false),
    by_domain: encode('by-domain', byDomain, true),
    by_phash: PHASH_SUBSTRINGS.map((_, t) => encode(`by-phash-${t}`, phashes.map(({ phash, id }) => ({ key: phashTableKey(phash, t), id })), false)),
  };
  return { indexes, objects };
}
