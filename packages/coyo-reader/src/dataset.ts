/**
 * Reads the COYO-700M metadata straight from the parquet shards in R2: the pointer names the live
 * version, its manifest maps id ranges to shards, a shard's footer maps id ranges to row groups, and
 * one range read fetches the row group a row lives in. Footers and manifests are cached in isolate
 * memory and in the Cache API, keyed by version, so a warm look-up costs one R2 read.
 */
import {
  COYO_COLUMNS,
  MAX_ID,
  NUMERIC_COLUMNS,
  POINTER_KEY,
  isNullableColumn,
  type CoyoColumn,
  type Manifest,
  type Pointer,
  type Shard,
} from '@coyo/coyo-schema';
import { parquetRead, type AsyncBuffer, type ParquetParsers } from 'hyparquet';
import { DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import { LRUCache } from 'lru-cache';
import pMap from 'p-map';
import { type CountingBucket, MissingObjectError, readRange } from './bucket';
import type { EdgeCache } from './edge-cache';
import {
  decodeCursor,
  encodeCursor,
  matchesPredicate,
  predicateFingerprint,
  predicateValue,
  rangeMayMatch,
  recordedRangeMayMatch,
  type Predicate,
} from './filter';
import { ReadableManifestSchema, ReadablePointerSchema } from './manifest';
import { decodeChunk, readsFlat, type ChunkColumn } from './group-decoder';
import { chunkCodec, chunkRange, findGroup, groupCount, groupMetadata, groupOfRow, groupSpan, indexFromLookupIndex, indexShard, type ShardIndex } from './shard-index';
import { DEFAULT_GROUP_BYTES } from './layout';
import { canonicalColumns, type PartialRecord } from './schema';

const MiB = 1024 * 1024;

/** How long an isolate trusts the pointer it read before reading it again (a new version shows up within it). */
export const DEFAULT_POINTER_TTL_MS = 30_000;
/** Parallel R2 reads per request (Workers allow six open connections). */
const READ_CONCURRENCY = 6;

/** Byte budgets of an isolate's caches (approximate bytes of the parsed objects). */
export interface CoyoMemoryOptions {
  /** Parsed manifests (default 16 MiB). */
  manifestBytes?: number;
  /** Parsed shard footers (default 32 MiB): they vary from a few KB to MBs. */
  footerBytes?: number;
}

/**
 * Caches that outlive a request: one per isolate, bounded by the weight of their entries so they
 * cannot take more than their share of the worker's 128 MB. A load in flight is cached as its promise,
 * so concurrent requests share one read.
 */
export class CoyoMemory {
  pointer: { value: Pointer; until: number } | undefined;
  pointerLoad: Promise<Pointer> | undefined;
  readonly manifests: LRUCache<string, Promise<Manifest>>;
  readonly footers: LRUCache<string, Promise<ShardIndex>>;

  constructor({ manifestBytes = 16 * MiB, footerBytes = 32 * MiB }: CoyoMemoryOptions = {}) {
    this.manifests = new LRUCache({ maxSize: manifestBytes });
    this.footers = new LRUCache({ maxSize: footerBytes });
  }

  clear(): void {
    this.pointer = undefined;
    this.pointerLoad = undefined;
    this.manifests.clear();
    this.footers.clear();
  }
}

/** The caches of this isolate. */
export const isolateMemory = new CoyoMemory();

export interface CoyoIo {
  /** The request's view of the bucket; its counters are the request's R2 cost. */
  readonly bucket: CountingBucket;
  readonly memory: CoyoMemory;
  readonly edgeCache?: EdgeCache;
  /** Lets cache writes finish after the response (ctx.waitUntil). */
  readonly waitUntil?: (promise: Promise<unknown>) => void;
  readonly now?: () => number;
  readonly pointerTtlMs?: number;
}

/** No version has been published yet. */
export class DatasetUnavailableError extends Error {
  override readonly name = 'DatasetUnavailableError';
}

/** A row with its global position in id order. */
export interface PositionedRow {
  row_idx: number;
  row: PartialRecord;
}

export interface FilterRequest {
  readonly predicates: readonly Predicate[];
  readonly columns: readonly CoyoColumn[];
  readonly limit: number;
  readonly cursor?: string;
  /** Rows whose values the scan may examine in this request. */
  readonly maxRowsScanned: number;
  /**
   * Reads (look-up indexes and row groups) this request may make, counting each row group scanned as
   * one read even where several share one R2 call: the R2 calls are at most this many.
   */
  readonly maxReads: number;
}

export interface FilterResult {
  rows: PartialRecord[];
  next_cursor: string | null;
  scanned_rows: number;
  row_groups_read: number;
  row_groups_skipped: number;
}

export interface ExportRequest {
  readonly predicates: readonly Predicate[];
  readonly columns: readonly CoyoColumn[];
  readonly cursor?: string;
  /** Rows the response may examine. */
  readonly maxRowsScanned: number;
  /** R2 reads the response may make: footers while planning, then one per planned row group. */
  readonly maxReads: number;
}

/** One row group an export response reads. */
export interface ExportStep {
  readonly shard: number;
  readonly group: number;
  readonly rows: number;
}

/** What one export response covers: every match with an id in (cursor, next_cursor]. */
export interface ExportPlan {
  readonly predicates: readonly Predicate[];
  /** Output columns, in the dataset's order. */
  readonly columns: readonly CoyoColumn[];
  /** Rows with an id ≤ this were covered by earlier responses. */
  readonly after: number;
  readonly steps: readonly ExportStep[];
  readonly scanned_rows: number;
  readonly row_groups_skipped: number;
  /** Where the next response starts; null when this one reaches the end of the data. */
  readonly next_cursor: string | null;
}

interface GroupData {
  /** Where the rows come from (`<shard key> row group <g>`), for errors. */
  readonly source: string;
  readonly rows: number;
  /**
   * A column that was read (undefined for one that was not). Decoded on first use: a scan that finds
   * no match in a group never decodes its output columns.
   */
  column(name: CoyoColumn): ChunkColumn | undefined;
}

/**
 * A shard holds a value the API cannot serve: a NULL id, a value of the wrong kind, an id beyond
 * 2^53 − 1. The ingest never writes one, so the version is corrupt or was not written by it; the
 * request fails with a logged 500 naming the shard, row group and row.
 */
export class ShardDataError extends Error {
  override readonly name = 'ShardDataError';
}

function background(io: CoyoIo, promise: Promise<unknown>): void {
  const safe = promise.catch(() => undefined);
  if (io.waitUntil) io.waitUntil(safe);
}

async function loadPointer(io: CoyoIo): Promise<Pointer> {
  const now = (io.now ?? Date.now)();
  const memory = io.memory;
  if (memory.pointer !== undefined && now < memory.pointer.until) return memory.pointer.value;
  memory.pointerLoad ??= (async () => {
    try {
      const object = await io.bucket.get(POINTER_KEY);
      if (object === null) throw new DatasetUnavailableError('no COYO dataset version has been published');
      const value = ReadablePointerSchema.parse(JSON.parse(new TextDecoder().decode(await object.arrayBuffer())));
      memory.pointer = { value, until: (io.now ?? Date.now)() + (io.pointerTtlMs ?? DEFAULT_POINTER_TTL_MS) };
      return value;
    } finally {
      memory.pointerLoad = undefined;
    }
  })();
  return memory.pointerLoad;
}

/** Approximate bytes of a parsed manifest in isolate memory. */
function manifestWeight(manifest: Manifest): number {
  return manifest.shards.length * 2048 + 4096;
}

async function loadManifest(io: CoyoIo, pointer: Pointer): Promise<Manifest> {
  const cached = io.memory.manifests.get(pointer.version);
  if (cached !== undefined) return cached;
  const load = (async () => {
    const cacheKey = `v1/${pointer.version}/manifest`;
    let bytes = await io.edgeCache?.match(cacheKey);
    if (bytes === undefined) {
      const object = await io.bucket.get(pointer.manifest_key);
      if (object === null) throw new MissingObjectError(pointer.manifest_key);
      bytes = await object.arrayBuffer();
      if (io.edgeCache) background(io, io.edgeCache.put(cacheKey, bytes));
    }
    const manifest = ReadableManifestSchema.parse(JSON.parse(new TextDecoder().decode(bytes)));
    if (manifest.dataset_version !== pointer.version) {
      throw new Error(`manifest ${pointer.manifest_key} is version ${manifest.dataset_version}, the pointer says ${pointer.version}`);
    }
    return manifest;
  })();
  io.memory.manifests.set(pointer.version, load, { size: 4096 + 2048 * 4 });
  load.then(
    (m) => {
      // Re-weigh by the real shard count (lru-cache keeps the old size when the same value is set again).
      if (io.memory.manifests.peek(pointer.version) !== load) return;
      io.memory.manifests.delete(pointer.version);
      io.memory.manifests.set(pointer.version, load, { size: manifestWeight(m) });
    },
    () => io.memory.manifests.delete(pointer.version),
  );
  return load;
}

async function loadShardIndex(io: CoyoIo, version: string, shard: Shard): Promise<ShardIndex> {
  const key = `${version}/${shard.key}`;
  const cached = io.memory.footers.get(key);
  if (cached !== undefined) return cached;
  // Layout 3 keeps a compact look-up index right before the footer; older layouts are indexed from the footer.
  const indexBytes = shard.index_bytes;
  const length = indexBytes ?? shard.footer_bytes;
  const offset = shard.bytes - shard.footer_bytes - (indexBytes ?? 0);
  const load = (async () => {
    const cacheKey = indexBytes === undefined ? `v1/${version}/footer/${shard.key}` : `v1/${version}/index/${shard.key}`;
    let bytes = await io.edgeCache?.match(cacheKey);
    if (bytes === undefined) {
      bytes = await readRange(io.bucket, shard.key, offset, length);
      if (io.edgeCache) background(io, io.edgeCache.put(cacheKey, bytes));
    }
    return indexBytes === undefined ? indexShard(shard.key, bytes) : indexFromLookupIndex(shard.key, bytes, offset);
  })();
  // A parsed footer takes several times its encoded size in objects; a look-up index about its own size.
  io.memory.footers.set(key, load, { size: Math.max(1, indexBytes === undefined ? shard.footer_bytes * 8 : indexBytes * 2) });
  load.catch(() => io.memory.footers.delete(key));
  return load;
}

/**
 * Strings stay the UTF-8 bytes the page holds until a cell is served ({@link servedValue}): a look-up
 * serves one row of a group of hundreds, a filter or export only its matches, so decoding every string
 * of every row read was most of the text work.
 */
const KEEP_STRING_BYTES: ParquetParsers = { ...DEFAULT_PARSERS, stringFromBytes: (bytes: Uint8Array) => bytes };
const UTF8 = new TextDecoder();

/**
 * The columns of row group `g` from `span` (the bytes read from `spanStart`), each decoded when first
 * asked for (group-decoder.ts); undefined when a column is not flat, which `parquetRead` then reads.
 */
function lazyGroup(index: ShardIndex, g: number, columns: readonly CoyoColumn[], span: ArrayBuffer, spanStart: number, rows: number, source: string): GroupData | undefined {
  if (!columns.every((column) => readsFlat(index.schema, column, chunkCodec(index, column), KEEP_STRING_BYTES))) return undefined;
  const decoded = new Map<CoyoColumn, ChunkColumn>();
  return {
    source,
    rows,
    column(name) {
      const known = decoded.get(name);
      if (known !== undefined) return known;
      if (!columns.includes(name)) return undefined;
      const [start, end] = chunkRange(index, g, name);
      const values = decodeChunk(index.schema, name, chunkCodec(index, name), KEEP_STRING_BYTES, new Uint8Array(span, start - spanStart, end - start), rows);
      if (values === undefined) throw new Error(`bug: ${name} was checked to be flat`);
      decoded.set(name, values);
      return values;
    },
  };
}

/** A column `parquetRead` decoded whole, as a {@link ChunkColumn}. */
function decodedColumn(values: readonly unknown[]): ChunkColumn {
  let numbers: Float64Array | undefined;
  return {
    rows: values.length,
    nulls: values.filter((v) => v === null || v === undefined).length,
    value: (i) => values[i],
    numbers: () => (numbers ??= Float64Array.from(values, predicateValue)),
  };
}

/**
 * Bytes of other row groups (or of columns not asked for) that one read may carry between two row
 * groups it serves rather than making a second read: one layout-3 row group. An R2 call costs the
 * isolate about 0.1–0.2 ms of CPU whatever its size; copying 32 KB more costs it a few µs.
 */
export const MAX_READ_GAP = DEFAULT_GROUP_BYTES;
/** Most bytes one coalesced read covers (a single row group larger than this is still read whole). */
export const MAX_READ_BYTES = 8 * DEFAULT_GROUP_BYTES;

/** Row groups of one shard that one range read covers: bytes [start, end) of the shard. */
export interface ReadRun {
  readonly shard: Shard;
  readonly index: ShardIndex;
  /** Ascending. */
  readonly groups: number[];
  start: number;
  end: number;
}

/**
 * Row groups `groups` of one shard (ascending) as range reads: a group joins the read before it when
 * the bytes between them are at most {@link MAX_READ_GAP} and the read stays within
 * {@link MAX_READ_BYTES}.
 */
export function planReads(shard: Shard, index: ShardIndex, groups: readonly number[], columns: readonly CoyoColumn[]): ReadRun[] {
  const runs: ReadRun[] = [];
  let run: ReadRun | undefined;
  for (const g of groups) {
    const [start, end] = groupSpan(index, g, columns);
    if (run !== undefined && start >= run.end && start - run.end <= MAX_READ_GAP && end - run.start <= MAX_READ_BYTES) {
      run.groups.push(g);
      run.end = end;
      continue;
    }
    run = { shard, index, groups: [g], start, end };
    runs.push(run);
  }
  return runs;
}

/** The given columns of every row group of `run`, with one R2 range read; in the run's order. */
async function readRun(io: CoyoIo, run: ReadRun, columns: readonly CoyoColumn[]): Promise<GroupData[]> {
  const span = await readRange(io.bucket, run.shard.key, run.start, run.end - run.start);
  return Promise.all(run.groups.map((g) => groupFromSpan(io, run, g, columns, span)));
}

/** Reads the given columns of one row group with a single R2 range read. */
async function readGroup(io: CoyoIo, shard: Shard, index: ShardIndex, g: number, columns: readonly CoyoColumn[]): Promise<GroupData> {
  const [group] = await readRun(io, planReads(shard, index, [g], columns)[0] as ReadRun, columns);
  if (group === undefined) throw new Error(`bug: a read of row group ${g} served no group`);
  return group;
}

/** Row group `g` of `run` from `span`, the run's bytes. */
async function groupFromSpan(io: CoyoIo, run: ReadRun, g: number, columns: readonly CoyoColumn[], span: ArrayBuffer): Promise<GroupData> {
  const { shard, index, start, end } = run;
  const rows = (index.groupStarts[g + 1] as number) - (index.groupStarts[g] as number);
  const lazy = lazyGroup(index, g, columns, span, start, rows, `${shard.key} row group ${g}`);
  if (lazy !== undefined) return lazy;
  const file: AsyncBuffer = {
    byteLength: shard.bytes,
    slice(s: number, e: number = shard.bytes) {
      // Everything hyparquet asks for lies in the span; anything else costs a (counted) read of its own.
      if (s >= start && e <= end) return span.slice(s - start, e - start);
      return readRange(io.bucket, shard.key, s, e - s);
    },
  };
  const data: Partial<Record<CoyoColumn, unknown[]>> = {};
  for (const column of columns) data[column] = new Array<unknown>(rows);
  await parquetRead({
    file,
    // Metadata of this row group alone, rebuilt from the index: the footer is never needed.
    metadata: groupMetadata(index, g, columns),
    columns: [...columns],
    rowStart: 0,
    rowEnd: rows,
    parsers: KEEP_STRING_BYTES,
    onChunk({ columnName, columnData, rowStart: chunkStart }) {
      const target = data[columnName as CoyoColumn];
      if (target === undefined) return;
      // The usual case, one chunk holding the whole column of the group: kept as it is, not copied.
      if (chunkStart === 0 && columnData.length === rows && Array.isArray(columnData)) {
        data[columnName as CoyoColumn] = columnData as unknown[];
        return;
      }
      for (let i = 0; i < columnData.length; i++) {
        const at = chunkStart + i;
        if (at >= 0 && at < rows) target[at] = columnData[i];
      }
    },
  });
  const columnsRead = new Map<CoyoColumn, ChunkColumn>();
  for (const [name, values] of Object.entries(data) as [CoyoColumn, unknown[]][]) {
    columnsRead.set(name, decodedColumn(values));
  }
  return { source: `${shard.key} row group ${g}`, rows, column: (name) => columnsRead.get(name) };
}

/**
 * A decoded parquet cell as the JSON value the API serves: int64 as a number, a NULL as `null` in the
 * columns that may hold one ({@link isNullableColumn}). A NULL anywhere else, a value of another kind
 * or an id beyond 2^53 − 1 is a {@link ShardDataError}.
 */
export function servedValue(column: CoyoColumn, value: unknown): number | string | null {
  if (typeof value === 'number' || typeof value === 'string') return value;
  // A string cell as read (see KEEP_STRING_BYTES), decoded when served.
  if (value instanceof Uint8Array) return UTF8.decode(value);
  if (typeof value === 'bigint') {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new ShardDataError(`${column} value ${value} does not fit a JSON number`);
    return n;
  }
  if (value === null) {
    if (isNullableColumn(column)) return null;
    throw new ShardDataError(`${column} is NULL, which the ingest never writes (corrupt shard, or not written by coyo-ingest)`);
  }
  if (value === undefined) throw new Error(`bug: no value was decoded for ${column}`);
  throw new ShardDataError(`${column} holds an unexpected ${typeof value}`);
}

/** Rows of row group `g`. */
function rowsOfGroup(index: ShardIndex, g: number): number {
  return (index.groupStarts[g + 1] as number) - (index.groupStarts[g] as number);
}

/** Whether row group `g` may hold a match, by its recorded min/max (the filter and the export prune alike). */
function groupMayMatch(predicates: readonly Predicate[], index: ShardIndex, g: number): boolean {
  return predicates.every((p) => rangeMayMatch(p, index.groupMin[p.column][g] as number, index.groupMax[p.column][g] as number));
}

/** {@link servedValue} of row `i` of `chunk` (the group's `column`); a failure names the shard, row group and row. */
function cellOf(group: GroupData, chunk: ChunkColumn | undefined, i: number, column: CoyoColumn): number | string | null {
  try {
    return servedValue(column, chunk?.value(i));
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    const message = `${group.source}, row ${i}: ${err.message}`;
    throw err instanceof ShardDataError ? new ShardDataError(message, { cause: err }) : new Error(message, { cause: err });
  }
}

function cellAt(group: GroupData, i: number, column: CoyoColumn): number | string | null {
  return cellOf(group, group.column(column), i, column);
}

/** Rows `rows` of a group as records of `columns`, each column looked up once, not once a cell. */
function recordsAt(group: GroupData, rows: readonly number[], columns: readonly CoyoColumn[]): PartialRecord[] {
  if (rows.length === 0) return [];
  const chunks = columns.map((column) => group.column(column));
  const out: PartialRecord[] = [];
  for (const i of rows) {
    const record: Record<string, number | string | null> = {};
    for (let k = 0; k < columns.length; k++) {
      const column = columns[k] as CoyoColumn;
      record[column] = cellOf(group, chunks[k], i, column);
    }
    out.push(record);
  }
  return out;
}

/** The id of row `i`: look-ups, scans and cursors compare ids, so a NULL or a string is refused. */
function idAt(group: GroupData, i: number): number {
  const value = cellAt(group, i, 'id');
  if (typeof value !== 'number') throw new ShardDataError(`${group.source}, row ${i}: id holds a string`);
  return value;
}

/**
 * {@link idAt} for a loop that holds the id column as numbers (`ids`, from {@link idNumbers}): the
 * usual int64 cell read in place, anything else (NULL, a string, beyond 2^53 − 1) through idAt and its
 * errors.
 */
function idFrom(group: GroupData, ids: Float64Array | undefined, i: number): number {
  const n = ids === undefined ? Number.NaN : (ids[i] as number);
  if (Number.isSafeInteger(n)) return n;
  return idAt(group, i);
}

/**
 * Whether every row of group `g` has an id after `after` that the API can serve, known without decoding
 * an id: the index's id range lies after `after` and within 2^53 − 1 (NaN, no statistics, proves
 * nothing) and the id chunk's definition levels hold no NULL. A scan then compares ids only for the
 * rows it serves, and a bad id still fails where the old check would (undecoded here, it is decoded and
 * checked in full).
 */
function idsAllAfter(index: ShardIndex, g: number, group: GroupData, after: number): boolean {
  return (index.groupMin.id[g] as number) > after && (index.groupMax.id[g] as number) <= MAX_ID && group.column('id')?.nulls === 0;
}

/** The group's ids as numbers for {@link idFrom}. */
function idNumbers(group: GroupData): Float64Array | undefined {
  return group.column('id')?.numbers();
}

/** Whether row `i` satisfies every predicate; `values` holds each predicate's column, in order. */
function rowMatches(predicates: readonly Predicate[], values: readonly (Float64Array | undefined)[], i: number): boolean {
  for (let k = 0; k < predicates.length; k++) {
    if (!matchesPredicate(predicates[k] as Predicate, values[k]?.[i] ?? Number.NaN)) return false;
  }
  return true;
}

/** Position of `id` in a row group's id column (sorted), or -1. */
function searchId(group: GroupData, id: number): number {
  const ids = idNumbers(group);
  let lo = 0;
  let hi = group.rows - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const value = idFrom(group, ids, mid);
    if (value < id) lo = mid + 1;
    else if (value > id) hi = mid - 1;
    else return mid;
  }
  return -1;
}

/** What an export reads of each planned group (the id, the predicates' and the output columns), once a plan. */
const exportReads = new WeakMap<ExportPlan, readonly CoyoColumn[]>();

function exportReadColumns(plan: ExportPlan): readonly CoyoColumn[] {
  let read = exportReads.get(plan);
  if (read === undefined) {
    read = canonicalColumns(['id', ...plan.predicates.map((p) => p.column), ...plan.columns]);
    exportReads.set(plan, read);
  }
  return read;
}

/** One version of the dataset, as seen by one request. */
export class CoyoDataset {
  private readonly shardStarts: number[];

  private constructor(
    private readonly io: CoyoIo,
    readonly pointer: Pointer,
    readonly manifest: Manifest,
  ) {
    this.shardStarts = [0];
    for (const shard of manifest.shards) this.shardStarts.push((this.shardStarts.at(-1) as number) + shard.rows);
  }

  /** Resolves the live version (pointer, then manifest). Throws DatasetUnavailableError when none is published. */
  static async open(io: CoyoIo): Promise<CoyoDataset> {
    const pointer = await loadPointer(io);
    return new CoyoDataset(io, pointer, await loadManifest(io, pointer));
  }

  get version(): string {
    return this.pointer.version;
  }

  /** Index of the shard whose id range holds `id`, or -1. */
  private findShard(id: number): number {
    const shards = this.manifest.shards;
    let lo = 0;
    let hi = shards.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const shard = shards[mid] as Shard;
      if (id < shard.min_id) hi = mid - 1;
      else if (id > shard.max_id) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  private shardIndex(s: number): Promise<ShardIndex> {
    return loadShardIndex(this.io, this.version, this.manifest.shards[s] as Shard);
  }

  /**
   * Looks ids up, answering in request order with null for ids that are absent. Ids in the same row
   * group share one read.
   */
  async lookup(ids: readonly number[], columns: readonly CoyoColumn[] = COYO_COLUMNS): Promise<(PartialRecord | null)[]> {
    const out: (PartialRecord | null)[] = ids.map(() => null);
    const output = canonicalColumns(columns);
    const read = canonicalColumns([...output, 'id']);
    const byShard = new Map<number, number[]>();
    ids.forEach((id, position) => {
      const s = this.findShard(id);
      if (s >= 0) byShard.set(s, [...(byShard.get(s) ?? []), position]);
    });
    const shardList = [...byShard.keys()];
    const indexes = await pMap(shardList, (s) => this.shardIndex(s), { concurrency: READ_CONCURRENCY });
    // Positions by shard and row group; row groups of one shard that lie close are read together.
    const positionsOf = new Map<ShardIndex, Map<number, number[]>>();
    const runs: ReadRun[] = [];
    shardList.forEach((s, k) => {
      const index = indexes[k] as ShardIndex;
      const byGroup = new Map<number, number[]>();
      for (const position of byShard.get(s) ?? []) {
        const g = findGroup(index, ids[position] as number);
        if (g < 0) continue;
        const positions = byGroup.get(g);
        if (positions === undefined) byGroup.set(g, [position]);
        else positions.push(position);
      }
      positionsOf.set(index, byGroup);
      const groups = [...byGroup.keys()].sort((a, b) => a - b);
      runs.push(...planReads(this.manifest.shards[s] as Shard, index, groups, read));
    });
    await pMap(
      runs,
      async (run) => {
        const groups = await readRun(this.io, run, read);
        run.groups.forEach((g, k) => {
          const group = groups[k] as GroupData;
          const positions = positionsOf.get(run.index)?.get(g) ?? [];
          const found = positions.map((position) => searchId(group, ids[position] as number));
          const records = recordsAt(group, found.filter((i) => i >= 0), output);
          let next = 0;
          found.forEach((i, j) => {
            if (i >= 0) out[positions[j] as number] = records[next++] ?? null;
          });
        });
      },
      { concurrency: READ_CONCURRENCY },
    );
    return out;
  }

  /** Rows `offset` … `offset + length − 1` in global id order (fewer at the end of the data). */
  async rows(offset: number, length: number, columns: readonly CoyoColumn[] = COYO_COLUMNS): Promise<PositionedRow[]> {
    const output = canonicalColumns(columns);
    const end = Math.min(offset + length, this.manifest.total_rows);
    // The row groups the page spans, in order; those of one shard are read together (planReads).
    const spans: { s: number; index: ShardIndex; g: number; from: number; to: number }[] = [];
    let row = offset;
    while (row < end) {
      let s = 0;
      while ((this.shardStarts[s + 1] as number) <= row) s++;
      const index = await this.shardIndex(s);
      const local = row - (this.shardStarts[s] as number);
      const g = groupOfRow(index, local);
      const groupStart = index.groupStarts[g] as number;
      const from = local - groupStart;
      const to = Math.min(rowsOfGroup(index, g), end - (this.shardStarts[s] as number) - groupStart);
      spans.push({ s, index, g, from, to });
      row += to - from;
    }
    const groups = new Map<ShardIndex, Map<number, GroupData>>();
    const runs: ReadRun[] = [];
    for (const s of new Set(spans.map((span) => span.s))) {
      const ofShard = spans.filter((span) => span.s === s);
      runs.push(...planReads(this.manifest.shards[s] as Shard, (ofShard[0] as (typeof spans)[number]).index, ofShard.map((span) => span.g), output));
    }
    await pMap(
      runs,
      async (run) => {
        const read = await readRun(this.io, run, output);
        const byGroup = groups.get(run.index) ?? new Map<number, GroupData>();
        run.groups.forEach((g, k) => byGroup.set(g, read[k] as GroupData));
        groups.set(run.index, byGroup);
      },
      { concurrency: READ_CONCURRENCY },
    );
    const out: PositionedRow[] = [];
    row = offset;
    for (const { index, g, from, to } of spans) {
      const group = groups.get(index)?.get(g);
      if (group === undefined) throw new Error(`bug: row group ${g} of the page was not read`);
      const wanted: number[] = [];
      for (let i = from; i < to; i++) wanted.push(i);
      for (const record of recordsAt(group, wanted, output)) out.push({ row_idx: row++, row: record });
    }
    return out;
  }

  /**
   * Scans rows in id order from the cursor, skipping shards and row groups whose statistics rule the
   * predicates out, until `limit` matches, the end of the data, or the request's budget.
   */
  async filter(request: FilterRequest): Promise<FilterResult> {
    const fingerprint = predicateFingerprint(request.predicates);
    const after = request.cursor === undefined ? -1 : decodeCursor(request.cursor, fingerprint).after;
    const output = canonicalColumns(request.columns);
    // One read a group, of what the scan and the output need: the scan's chunks (the id first, the
    // numeric columns next) already span most of a group, and a second read for the output columns of
    // a matching group cost an R2 operation for little saved. Output columns are decoded only for
    // groups with a match (GroupData decodes on first use).
    const readColumns = canonicalColumns(['id', ...request.predicates.map((p) => p.column), ...output]);
    const stats = this.io.bucket.stats;
    const readsAtStart = stats.reads;
    const result: FilterResult = { rows: [], next_cursor: null, scanned_rows: 0, row_groups_read: 0, row_groups_skipped: 0 };
    let position = after; // every id ≤ position has been dealt with
    const cursorAt = (id: number): string => encodeCursor({ v: 1, after: id, f: fingerprint });
    // The budget counts a read per row group scanned (and per look-up index read), as if each group had
    // a read of its own: groups read together ({@link readAhead}) change the R2 calls, not the answer.
    let groupReads = 0;
    const readsSpent = (): number => stats.reads - readsAtStart - groupReads + result.row_groups_read;
    const fits = (nextRows: number, nextReads: number): boolean =>
      result.scanned_rows + nextRows <= request.maxRowsScanned && readsSpent() + nextReads <= request.maxReads;
    const overBudget = (nextRows: number, nextReads: number): boolean => position > after && !fits(nextRows, nextReads);
    /** Row groups read ahead of the scan: those of the last read, of the shard `aheadOf` indexes. */
    let ahead = new Map<number, GroupData>();
    let aheadOf: ShardIndex | undefined;
    /**
     * Reads row group `g` of `shard`, and with it as many of the candidate groups after it as the
     * matches so far say the page still needs (half as many again; none before the first group is
     * scanned), within the budget and one coalesced read ({@link planReads}).
     */
    const readAhead = async (shard: Shard, index: ShardIndex, g: number): Promise<GroupData> => {
      const known = aheadOf === index ? ahead.get(g) : undefined;
      if (known !== undefined) return known;
      const wanted = request.limit - result.rows.length;
      const rowsWanted =
        result.scanned_rows === 0 ? 0 : result.rows.length === 0 ? Number.POSITIVE_INFINITY : (1.5 * wanted * result.scanned_rows) / result.rows.length;
      const groups = [g];
      let rows = rowsOfGroup(index, g);
      for (let h = g + 1; h < groupCount(index) && rows < rowsWanted; h++) {
        if (!groupMayMatch(request.predicates, index, h)) continue;
        if (!fits(rows + rowsOfGroup(index, h), groups.length + 1)) break;
        groups.push(h);
        rows += rowsOfGroup(index, h);
      }
      const run = planReads(shard, index, groups, readColumns)[0] as ReadRun;
      const read = await readRun(this.io, run, readColumns);
      groupReads += 1;
      ahead = new Map(run.groups.map((h, k) => [h, read[k] as GroupData]));
      aheadOf = index;
      const group = ahead.get(g);
      if (group === undefined) throw new Error(`bug: the read of row group ${g} did not cover it`);
      return group;
    };

    for (const [s, shard] of this.manifest.shards.entries()) {
      if (shard.max_id <= position) continue;
      const shardMayMatch = request.predicates.every((p) => recordedRangeMayMatch(p, shard.columns[p.column]));
      if (!shardMayMatch) {
        position = shard.max_id;
        continue;
      }
      const footerCached = this.io.memory.footers.get(`${this.version}/${shard.key}`) !== undefined;
      if (!footerCached && overBudget(0, 1)) return { ...result, next_cursor: cursorAt(position) };
      const index = await this.shardIndex(s);
      for (let g = 0; g + 1 < index.groupStarts.length; g++) {
        const groupMaxId = index.groupMax.id[g] as number;
        if (groupMaxId <= position) continue;
        const mayMatch = groupMayMatch(request.predicates, index, g);
        if (!mayMatch) {
          result.row_groups_skipped += 1;
          position = groupMaxId;
          continue;
        }
        const groupRows = (index.groupStarts[g + 1] as number) - (index.groupStarts[g] as number);
        if (overBudget(groupRows, 1)) return { ...result, next_cursor: cursorAt(position) };
        const scan = await readAhead(shard, index, g);
        result.row_groups_read += 1;
        result.scanned_rows += groupRows;
        const matches: number[] = [];
        let stopAt = -1;
        // Columns looked up once a group, not once a cell.
        const ids = idsAllAfter(index, g, scan, position) ? undefined : idNumbers(scan);
        const values = request.predicates.map((p) => scan.column(p.column)?.numbers());
        for (let i = 0; i < scan.rows; i++) {
          if (ids !== undefined && idFrom(scan, ids, i) <= position) continue;
          if (rowMatches(request.predicates, values, i)) {
            matches.push(i);
            if (result.rows.length + matches.length === request.limit) {
              stopAt = i;
              break;
            }
          }
        }
        result.rows.push(...recordsAt(scan, matches, output));
        if (stopAt >= 0) {
          const lastId = idAt(scan, stopAt);
          const exhausted = lastId >= (this.manifest.shards.at(-1)?.max_id ?? -1);
          return { ...result, next_cursor: exhausted ? null : cursorAt(lastId) };
        }
        position = groupMaxId;
      }
      position = Math.max(position, shard.max_id);
    }
    return result;
  }

  /**
   * Plans one export response: the row groups it reads, in id order from the cursor, skipping what
   * statistics rule out, until the end of the data or the budget (footers read here count against
   * `maxReads`, each planned group is one more read). The plan is made before any row is sent, so the
   * response can name the cursor that follows it up front; at least one row group (or skipped range) is
   * always covered, so every response makes progress.
   */
  async planExport(request: ExportRequest): Promise<ExportPlan> {
    const fingerprint = predicateFingerprint(request.predicates);
    const after = request.cursor === undefined ? -1 : decodeCursor(request.cursor, fingerprint).after;
    const stats = this.io.bucket.stats;
    const readsAtStart = stats.reads;
    const steps: ExportStep[] = [];
    let scanned = 0;
    let skipped = 0;
    let position = after; // every id ≤ position is planned or ruled out
    const overBudget = (nextRows: number, nextReads: number): boolean =>
      position > after && (scanned + nextRows > request.maxRowsScanned || stats.reads - readsAtStart + steps.length + nextReads > request.maxReads);
    const plan = (stopped: boolean): ExportPlan => ({
      predicates: request.predicates,
      columns: canonicalColumns(request.columns),
      after,
      steps,
      scanned_rows: scanned,
      row_groups_skipped: skipped,
      next_cursor: stopped ? encodeCursor({ v: 1, after: position, f: fingerprint }) : null,
    });

    for (const [s, shard] of this.manifest.shards.entries()) {
      if (shard.max_id <= position) continue;
      if (!request.predicates.every((p) => recordedRangeMayMatch(p, shard.columns[p.column]))) {
        position = shard.max_id;
        continue;
      }
      const footerCached = this.io.memory.footers.get(`${this.version}/${shard.key}`) !== undefined;
      if (!footerCached && overBudget(0, 1)) return plan(true);
      const index = await this.shardIndex(s);
      for (let g = 0; g + 1 < index.groupStarts.length; g++) {
        const groupMaxId = index.groupMax.id[g] as number;
        if (groupMaxId <= position) continue;
        const mayMatch = groupMayMatch(request.predicates, index, g);
        if (!mayMatch) {
          skipped += 1;
          position = groupMaxId;
          continue;
        }
        const groupRows = (index.groupStarts[g + 1] as number) - (index.groupStarts[g] as number);
        if (overBudget(groupRows, 1)) return plan(true);
        steps.push({ shard: s, group: g, rows: groupRows });
        scanned += groupRows;
        position = groupMaxId;
      }
      position = Math.max(position, shard.max_id);
    }
    return plan(false);
  }

  /**
   * The matching rows of one planned row group (ids after the plan's cursor), in id order: one R2 read
   * covering the predicate and output columns.
   */
  async exportRows(plan: ExportPlan, step: ExportStep): Promise<PartialRecord[]> {
    const shard = this.manifest.shards[step.shard] as Shard;
    const index = await this.shardIndex(step.shard);
    const group = await readGroup(this.io, shard, index, step.group, exportReadColumns(plan));
    const matches: number[] = [];
    const ids = idsAllAfter(index, step.group, group, plan.after) ? undefined : idNumbers(group);
    const values = plan.predicates.map((p) => group.column(p.column)?.numbers());
    for (let i = 0; i < group.rows; i++) {
      if (ids !== undefined && idFrom(group, ids, i) <= plan.after) continue;
      if (rowMatches(plan.predicates, values, i)) matches.push(i);
    }
    return recordsAt(group, matches, plan.columns);
  }

  /** The version's size and per-column ranges, from the manifest alone. */
  stats() {
    const m = this.manifest;
    const types = new Map(m.schema.map((c) => [c.name, c.type]));
    return {
      version: m.dataset_version,
      published_at: this.pointer.published_at,
      created_at: m.created_at,
      rows: m.total_rows,
      shards: m.shards.length,
      row_group_size: m.row_group_size,
      bytes: m.shards.reduce((n, s) => n + s.bytes, 0),
      columns: Object.fromEntries(
        COYO_COLUMNS.map((c) => {
          const range = m.columns[c];
          const entry: { type: string; min?: number; max?: number } = { type: types.get(c) ?? 'unknown' };
          // A column with no non-NULL value (range null) has no min or max to report.
          if (range !== undefined && range !== null && NUMERIC_COLUMNS.includes(c as (typeof NUMERIC_COLUMNS)[number])) {
            entry.min = range.min;
            entry.max = range.max;
          }
          return [c, entry];
        }),
      ),
    };
  }
}

export { MAX_ID };
