/**
 * "Is my image in COYO?": rows by normalised URL, by host (paged, with the host's row count) and by
 * pHash within a Hamming distance, through the version's provenance tables. Each answer is checked
 * against the rows themselves (their URL, host or pHash), so a hash collision in a table costs a read,
 * never a wrong row.
 */
import {
  MAX_PHASH_DISTANCE,
  domainKey,
  hammingDistance,
  normalizeUrl,
  parsePhash,
  phashProbes,
  phashFromTableKey,
  phashHex,
  urlHost,
  urlKey,
  type Indexes,
} from '@coyo/coyo-schema';
import pMap from 'p-map';
import type { CoyoDataset, CoyoIo } from '../dataset';
import { decodeCursor, encodeCursor } from '../filter';
import type { PartialRecord } from '../schema';
import { scanTable, type TableRecord } from './table';

/** The version was published without provenance tables (an ingest that predates them). */
export class IndexUnavailableError extends Error {
  override readonly name = 'IndexUnavailableError';
}

/**
 * Most bytes one pHash probe may read: a Worker has 128 MB, and at full size a 7-bit bucket is ≈ 93 MB.
 * Distances whose buckets are wider are refused (ScanBudgetError) rather than run out of memory.
 */
export const MAX_PHASH_PROBE_BYTES = 16 * 1024 * 1024;

/** Most rows one by-URL answer holds (a URL is in a handful of rows at most). */
export const MAX_URL_ROWS = 100;

export interface ByUrlResult {
  /** The URL after normalisation: what was looked up. */
  readonly normalized_url: string;
  readonly rows: PartialRecord[];
}

export interface ByDomainResult {
  readonly domain: string;
  /** Rows with this host in the version. */
  readonly count: number;
  readonly rows: PartialRecord[];
  readonly next_cursor: string | null;
}

export interface PhashMatch {
  readonly distance: number;
  readonly row: PartialRecord;
}

export interface ByPhashResult {
  readonly phash: string;
  readonly max_distance: number;
  /** Rows within the distance, all of them (the answer holds the first `limit`). */
  readonly total: number;
  readonly matches: PhashMatch[];
}

function indexesOf(dataset: CoyoDataset): Indexes {
  const indexes = dataset.manifest.indexes;
  if (indexes === undefined) throw new IndexUnavailableError(`version ${dataset.version} has no provenance indexes`);
  return indexes;
}

async function rowsOf(dataset: CoyoDataset, ids: readonly number[]): Promise<PartialRecord[]> {
  const rows = await dataset.lookup(ids);
  return rows.filter((r): r is PartialRecord => r !== null);
}

/** The fingerprint a domain cursor carries, so a cursor replayed for another host is refused. */
function domainFingerprint(domain: string): string {
  return (domainKey(domain) & 0xffffffffn).toString(16).padStart(8, '0');
}

/** Provenance look-ups over one version. */
export class CoyoProvenance {
  constructor(
    private readonly io: CoyoIo,
    readonly dataset: CoyoDataset,
  ) {}

  /** Rows whose URL normalises to the same string as `url` ({@link normalizeUrl}), in id order. */
  async byUrl(url: string): Promise<ByUrlResult> {
    const indexes = indexesOf(this.dataset);
    const normalized = normalizeUrl(url);
    const key = urlKey(url);
    const records = await scanTable(this.io, this.dataset.version, indexes.by_url, key, key);
    const rows = await rowsOf(
      this.dataset,
      records.slice(0, MAX_URL_ROWS * 2).map((r) => r.id),
    );
    const matching = rows.filter((row) => typeof row['url'] === 'string' && normalizeUrl(row['url']) === normalized);
    return { normalized_url: normalized, rows: matching.slice(0, MAX_URL_ROWS) };
  }

  /**
   * A page of the rows whose URL has host `domain` (already normalised, {@link normalizeDomain}), in
   * id order from the cursor, and the host's row count. The cursor names the last id served, so it holds
   * across versions; it is the filter's cursor format, fingerprinted with the host.
   */
  async byDomain(domain: string, limit: number, cursor?: string): Promise<ByDomainResult> {
    const indexes = indexesOf(this.dataset);
    const key = domainKey(domain);
    const afterId = cursor === undefined ? undefined : decodeCursor(cursor, domainFingerprint(domain)).after;
    const table = indexes.by_domain;
    const version = this.dataset.version;
    const records = await scanTable(this.io, version, table, key, key, {
      ...(afterId !== undefined ? { afterId } : {}),
      maxRecords: limit + 1,
    });
    let count = records[0]?.count;
    if (count === undefined && afterId !== undefined) {
      // Past the host's last row: its count is in any of its records, the first one will do.
      count = (await scanTable(this.io, version, table, key, key, { maxRecords: 1 }))[0]?.count;
    }
    const page = records.slice(0, limit);
    const more = records.length > limit;
    const rows = (await rowsOf(this.dataset, page.map((r) => r.id))).filter(
      (row) => typeof row['url'] === 'string' && urlHost(row['url']) === domain,
    );
    const last = page.at(-1);
    return {
      domain,
      count: count ?? 0,
      rows,
      next_cursor: more && last !== undefined ? encodeCursor({ v: 1, after: last.id, f: domainFingerprint(domain) }) : null,
    };
  }

  /**
   * Rows whose pHash lies within Hamming distance `maxDistance` (0..8) of `phash`, nearest first (then
   * by id), at most `limit` of them, with the number of all such rows. One range read per probe of
   * {@link phashProbes}: 1 for distance 0, 9 narrow ones for 1–4, k + 1 wide ones for 5–8.
   */
  async byPhash(phash: string, maxDistance: number, limit: number, maxProbeBytes = MAX_PHASH_PROBE_BYTES): Promise<ByPhashResult> {
    const indexes = indexesOf(this.dataset);
    const query = parsePhash(phash);
    if (query === null) throw new Error(`bug: ${phash} reached the pHash search unvalidated`);
    if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > MAX_PHASH_DISTANCE)
      throw new Error(`bug: max_distance ${maxDistance} reached the pHash search unvalidated`);
    const found = new Map<number, number>();
    const probes = await pMap(
      phashProbes(query, maxDistance),
      async ({ table: t, lo, hi }) => {
        const table = indexes.by_phash[t];
        if (table === undefined) throw new Error(`bug: no pHash table ${t}`);
        const records = await scanTable(this.io, this.dataset.version, table, lo, hi, { maxBytes: maxProbeBytes });
        return records.map((r: TableRecord) => ({ id: r.id, distance: hammingDistance(phashFromTableKey(r.key, t), query) }));
      },
      { concurrency: 6 },
    );
    for (const probe of probes) for (const { id, distance } of probe) if (distance <= maxDistance) found.set(id, distance);
    const ordered = [...found.entries()].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    const rows = await rowsOf(this.dataset, ordered.slice(0, limit).map(([id]) => id));
    const matches: PhashMatch[] = [];
    for (const row of rows) {
      const stored = typeof row['image_phash'] === 'string' ? parsePhash(row['image_phash']) : null;
      if (stored === null) continue;
      const distance = hammingDistance(stored, query);
      if (distance <= maxDistance) matches.push({ distance, row });
    }
    matches.sort((a, b) => a.distance - b.distance || (a.row['id'] as number) - (b.row['id'] as number));
    return { phash: phashHex(query), max_distance: maxDistance, total: found.size, matches };
  }
}
