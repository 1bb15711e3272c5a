/**
 * COYO storage benchmark: generates a sample, builds shards with the real ingest, publishes them to a
 * folder and to the local R2 of `wrangler dev`, then measures:
 * - end to end: by-id look-ups through the served worker (HTTP, auth, rate limiter, R2 binding),
 *   interleaved with DuckDB answering the same ids on the same parquet files, with the R2 bytes and
 *   reads each response reports (`x-coyo-r2-*`), cold isolates, the HTTP + auth floor (a 304), and
 *   full scans through `/filter` and `/rows` (bytes read against the bytes of the row groups returned);
 * - in process: the reader alone over the folder (no HTTP, auth or Workers runtime), cold and warm,
 *   and a filtered scan.
 * Prints a table (with the load average: numbers are comparable within one run only) and writes JSON.
 *
 *   pnpm bench:coyo [-- --rows 200000 --lookups 300 --shard-rows 32768 --out bench-results/coyo.json]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { CountingBucket, CoyoDataset, CoyoMemory, type CoyoIo } from '@coyo/coyo-reader';
import { lookupIndexBytes, NUMERIC_COLUMNS, STORAGE_ORDER } from '@coyo/coyo-schema';
import { DEFAULT_ROW_GROUP_BYTES, DEFAULT_ROW_GROUP_SIZE, DEFAULT_SHARD_ROWS, buildShards } from '../src/build.js';
import { Duck } from '../src/duck.js';
import { publish } from '../src/publish.js';
import { Random } from '../src/random.js';
import { writeSample } from '../src/sample.js';
import { dirStore } from '../src/targets/dir.js';
import { fileBucket } from './file-bucket.js';
import { publishLocal, r2Cost, seedKeys, startServedWorker } from './served-worker.js';
import { mean, round, summarise, type LatencySummary } from './stats.js';

const FULL_ROWS = 746_972_269;

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    lookups: { type: 'string', default: '300' },
    'shard-rows': { type: 'string', default: '32768' },
    'row-group-size': { type: 'string', default: String(DEFAULT_ROW_GROUP_SIZE) },
    'row-group-bytes': { type: 'string', default: String(DEFAULT_ROW_GROUP_BYTES) },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: resolve(import.meta.dirname, '../../../bench-results/coyo.json') },
  },
});
const rows = Number(values.rows);
const lookups = Number(values.lookups);
const shardRows = Number(values['shard-rows']);
const rowGroupSize = Number(values['row-group-size']);
const rowGroupBytes = Number(values['row-group-bytes']);

const temp = await mkdtemp(join(tmpdir(), 'coyo-bench-'));
try {
  const t0 = performance.now();
  console.error(`generating ${rows} rows …`);
  await writeSample({ rows, outDir: join(temp, 'input'), seed: Number(values.seed) });
  const t1 = performance.now();
  console.error('building shards …');
  const built = await buildShards({ inputs: [join(temp, 'input')], workDir: join(temp, 'work'), rowGroupSize, rowGroupBytes, shardRows });
  const t2 = performance.now();
  const bucketDir = join(temp, 'bucket');
  await publish({ manifest: built.manifest, shardFiles: built.shardFiles, store: dirStore(bucketDir) });
  const manifest = built.manifest;

  // Ids to look up: a seeded random draw of stored ids, plus as many absent ids.
  const duck = await Duck.open(':memory:', { threads: 2 });
  const allIds = (await duck.all(`SELECT id FROM read_parquet('${join(temp, 'work', 'shards')}/*.parquet')`)).map((r) => Number(r['id']));
  const rng = new Random(7);
  const ids = Array.from({ length: lookups }, () => rng.pick(allIds));

  const files = fileBucket(bucketDir);
  const glob = `${join(bucketDir, 'v', manifest.dataset_version)}/*.parquet`;
  const inputGlob = `${join(temp, 'input')}/*.parquet`;
  await duck.run('SET parquet_metadata_cache = true');
  const duckShards = await duck.connection.prepare(`SELECT * FROM read_parquet('${glob}') WHERE id = $1`);
  const duckInput = await duck.connection.prepare(`SELECT * FROM read_parquet('${inputGlob}') WHERE id = $1`);
  // DuckDB's own best layout for the same rows: sorted by id, its default 2048-row groups, one file.
  const ownFile = join(temp, 'duckdb-sorted.parquet');
  await duck.run(`COPY (SELECT * FROM read_parquet('${glob}') ORDER BY id) TO '${ownFile}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 2048)`);
  const duckOwn = await duck.connection.prepare(`SELECT * FROM read_parquet('${ownFile}') WHERE id = $1`);
  type Prepared = typeof duckShards;
  const duckLookup = async (statement: Prepared, id: number): Promise<number> => {
    statement.bindBigInt(1, BigInt(id));
    const start = performance.now();
    const reader = await statement.runAndReadAll();
    const ms = performance.now() - start;
    if (reader.currentRowCount !== 1) throw new Error(`DuckDB found ${reader.currentRowCount} rows for ${id}`);
    return ms;
  };

  // End to end: the served worker. Its local R2 holds the same shard files as the folder.
  console.error('served worker: publishing to its local R2 …');
  const statePersist = join(temp, 'state');
  await publishLocal(join(statePersist, 'v3'), manifest, built.shardFiles);
  const pageRows = 1000;
  const plannedRequests = 2 * lookups + 4 * manifest.shards.length + 2 * Math.ceil(rows / pageRows) + 200;
  const keys = await seedKeys(join(statePersist, 'v3'), Math.ceil(plannedRequests / 400) + 1);
  const lookupVia = async (served: Awaited<ReturnType<typeof startServedWorker>>, id: number) => {
    const start = performance.now();
    const response = await served.get(`/v1/coyo/${id}`);
    const body = (await response.json()) as { row?: { id?: number } };
    const ms = performance.now() - start;
    if (response.status !== 200 || body.row?.id !== id) throw new Error(`served look-up of ${id}: ${response.status}`);
    return { ms, ...r2Cost(response) };
  };
  // A cold isolate with an empty Cache API, then (after a restart) a cold isolate whose data centre
  // cache holds the manifest and the shard's look-up index.
  const coldShard = manifest.shards[0];
  if (coldShard === undefined) throw new Error('bug: no shard');
  const inColdShard = allIds.filter((id) => id >= coldShard.min_id && id <= coldShard.max_id);
  let served = await startServedWorker(statePersist, keys);
  const coldColo = await lookupVia(served, inColdShard[0] as number);
  await new Promise((r) => setTimeout(r, 1000)); // the Cache API writes run after the response (waitUntil)
  await served.stop();
  served = await startServedWorker(statePersist, keys);
  const coldIsolate = await lookupVia(served, inColdShard[Math.floor(inColdShard.length / 2)] as number);

  console.error('served worker vs DuckDB, interleaved …');
  for (const shard of manifest.shards) await lookupVia(served, shard.min_id); // every index in isolate memory
  const servedMs: number[] = [];
  const servedBytes: number[] = [];
  const servedReads: number[] = [];
  const duckShardMs: number[] = [];
  const duckInputMs: number[] = [];
  const duckOwnMs: number[] = [];
  const floorMs: number[] = [];
  for (const [i, id] of ids.entries()) {
    const edge = async () => {
      const r = await lookupVia(served, id);
      servedMs.push(r.ms);
      servedBytes.push(r.bytes);
      servedReads.push(r.reads);
    };
    const peers = async () => {
      duckShardMs.push(await duckLookup(duckShards, id));
      duckInputMs.push(await duckLookup(duckInput, id));
      duckOwnMs.push(await duckLookup(duckOwn, id));
    };
    if (i % 2 === 0) {
      await edge();
      await peers();
    } else {
      await peers();
      await edge();
    }
    if (i % 3 === 0) {
      // The floor: HTTP + auth + rate limiter + pointer check, answered 304 before any shard is read.
      const start = performance.now();
      const response = await served.get(`/v1/coyo/${id}`, { 'if-none-match': `"${manifest.dataset_version}"` });
      await response.arrayBuffer();
      floorMs.push(performance.now() - start);
      if (response.status !== 304) throw new Error(`expected 304, got ${response.status}`);
    }
  }

  console.error('served worker: full scans through /filter and /rows …');
  // Bytes of every row group with all columns: what a full scan returns.
  const groupBytesTotal = manifest.shards.reduce((n, s) => n + s.bytes - s.footer_bytes - (s.index_bytes ?? 0) - 4, 0);
  const scan = { filter: { requests: 0, rows: 0, reads: 0, bytes: 0 }, rows: { requests: 0, rows: 0, reads: 0, bytes: 0 } };
  /** One page through the served worker, its rows and R2 cost added to `into`. */
  const page = async (path: string, into: (typeof scan)['filter']): Promise<{ rows: unknown[]; next_cursor?: string | null }> => {
    const response = await served.get(path);
    const body = (await response.json()) as { rows: unknown[]; next_cursor?: string | null };
    if (response.status !== 200) throw new Error(`${path.split('?')[0] ?? path} answered ${response.status}`);
    const cost = r2Cost(response);
    into.requests += 1;
    into.rows += body.rows.length;
    into.reads += cost.reads;
    into.bytes += cost.bytes;
    return body;
  };
  let scanCursor: string | null = null;
  do {
    const body = await page(`/v1/coyo/filter?limit=${pageRows}${scanCursor === null ? '' : `&cursor=${scanCursor}`}`, scan.filter);
    scanCursor = body.next_cursor ?? null;
  } while (scanCursor !== null);
  for (let offset = 0; offset < manifest.total_rows; offset += pageRows) await page(`/v1/coyo/rows?offset=${offset}&length=${pageRows}`, scan.rows);
  if (scan.filter.rows !== manifest.total_rows || scan.rows.rows !== manifest.total_rows) {
    throw new Error(`a full scan returned ${scan.filter.rows} (filter) and ${scan.rows.rows} (rows) of ${manifest.total_rows} rows`);
  }
  await served.stop();
  const servedSummary = summarise(servedMs);
  const duckShardSummary = summarise(duckShardMs);
  const duckInputSummary = summarise(duckInputMs);
  const duckOwnSummary = summarise(duckOwnMs);
  const endToEnd = {
    served_warm: { latency: servedSummary, r2_bytes_per_lookup: Math.round(mean(servedBytes)), r2_bytes_max: Math.max(...servedBytes), r2_reads_per_lookup: round(mean(servedReads), 2) },
    http_auth_floor_304: summarise(floorMs),
    cold_isolate_empty_cache_api: { r2_reads: coldColo.reads, r2_bytes: coldColo.bytes, ms: round(coldColo.ms) },
    cold_isolate_cache_api_warm: { r2_reads: coldIsolate.reads, r2_bytes: coldIsolate.bytes, ms: round(coldIsolate.ms) },
    duckdb_on_published_shards: duckShardSummary,
    duckdb_on_input_files: duckInputSummary,
    duckdb_on_its_own_sorted_file: duckOwnSummary,
    ratio_duckdb_p50_over_edge_p50: {
      published_shards: round(duckShardSummary.p50_ms / servedSummary.p50_ms, 2),
      input_files: round(duckInputSummary.p50_ms / servedSummary.p50_ms, 2),
      duckdb_sorted_file: round(duckOwnSummary.p50_ms / servedSummary.p50_ms, 2),
    },
    paging: {
      page_rows: pageRows,
      row_group_bytes_total: groupBytesTotal,
      filter: { ...scan.filter, bytes_over_row_group_bytes: round(scan.filter.bytes / groupBytesTotal, 3) },
      rows: { ...scan.rows, bytes_over_row_group_bytes: round(scan.rows.bytes / groupBytesTotal, 3) },
    },
  };

  const run = async (fresh: boolean, memory: CoyoMemory) => {
    const samples: number[] = [];
    const reads: number[] = [];
    const rangeReads: number[] = [];
    const bytes: number[] = [];
    for (const id of ids) {
      const m = fresh ? new CoyoMemory() : memory;
      const io: CoyoIo = { bucket: new CountingBucket(files), memory: m };
      const start = performance.now();
      const dataset = await CoyoDataset.open(io);
      const [row] = await dataset.lookup([id]);
      samples.push(performance.now() - start);
      if (row?.id !== id) throw new Error(`look-up of ${id} returned ${row?.id}`);
      reads.push(io.bucket.stats.reads);
      rangeReads.push(io.bucket.stats.rangeReads);
      bytes.push(io.bucket.stats.bytes);
    }
    return { latency: summarise(samples), reads: round(mean(reads), 2), range_reads: round(mean(rangeReads), 2), bytes: Math.round(mean(bytes)) };
  };
  console.error('edge reader look-ups …');
  const cold = await run(true, new CoyoMemory());
  const warmMemory = new CoyoMemory({ footerBytes: 1 << 30 });
  for (const shard of manifest.shards) await (await CoyoDataset.open({ bucket: new CountingBucket(files), memory: warmMemory })).lookup([shard.min_id]);
  const warm = await run(false, warmMemory);

  console.error('edge reader filter scan …');
  const filterIo: CoyoIo = { bucket: new CountingBucket(files), memory: warmMemory };
  const predicates = [
    { column: 'aesthetic_score_laion_v2' as const, min: 6 },
    { column: 'nsfw_score_opennsfw2' as const, max: 0.05 },
  ];
  const filterStart = performance.now();
  let scanned = 0;
  let matched = 0;
  let cursor: string | undefined;
  let pages = 0;
  const dataset = await CoyoDataset.open(filterIo);
  do {
    const page = await dataset.filter({ predicates, columns: ['id', 'url', 'aesthetic_score_laion_v2'], limit: 100, maxRowsScanned: 65_536, maxReads: 32, ...(cursor ? { cursor } : {}) });
    scanned += page.scanned_rows;
    matched += page.rows.length;
    cursor = page.next_cursor ?? undefined;
    pages += 1;
  } while (cursor !== undefined);
  const filterMs = performance.now() - filterStart;

  console.error('DuckDB, a new instance per query …');
  const duckCold: number[] = [];
  for (const id of ids.slice(0, Math.min(ids.length, 50))) {
    const start = performance.now();
    const fresh = await Duck.open(':memory:', { threads: 2 });
    await fresh.all(`SELECT * FROM read_parquet('${glob}') WHERE id = ${id}`);
    fresh.close();
    duckCold.push(performance.now() - start);
  }
  duck.close();

  // Storage shape, measured and scaled to the full dataset.
  const footerBytes = manifest.shards.map((s) => s.footer_bytes);
  const indexBytes = manifest.shards.map((s) => s.index_bytes ?? 0);
  const groups = manifest.shards.reduce((n, s) => n + s.row_groups, 0);
  const rowsPerGroup = manifest.total_rows / groups;
  const bytesPerRow = manifest.shards.reduce((n, s) => n + s.bytes, 0) / manifest.total_rows;
  const footerPerGroup = footerBytes.reduce((a, b) => a + b, 0) / groups;
  const manifestBytes = JSON.stringify(manifest).length;
  const fullShardRows = DEFAULT_SHARD_ROWS;
  const fullGroupsPerShard = Math.ceil(fullShardRows / rowsPerGroup);
  const fullShards = Math.ceil(FULL_ROWS / fullShardRows);
  const full = {
    rows: FULL_ROWS,
    shard_rows: fullShardRows,
    shards: fullShards,
    row_groups_per_shard: fullGroupsPerShard,
    footer_bytes_per_shard: Math.round(footerPerGroup * fullGroupsPerShard),
    index_bytes_per_shard: lookupIndexBytes(fullGroupsPerShard, STORAGE_ORDER.length, NUMERIC_COLUMNS.length),
    manifest_bytes: Math.round((manifestBytes / manifest.shards.length) * fullShards),
    row_group_bytes: Math.round(groupBytesTotal / groups),
    total_bytes: Math.round(bytesPerRow * FULL_ROWS),
  };

  const result = {
    generated_at: new Date().toISOString(),
    machine: { node: process.version, platform: process.platform, arch: process.arch, loadavg_at_end: loadavg().map((x) => round(x, 2)) },
    setup: { rows, lookups, row_group_max_rows: rowGroupSize, row_group_max_bytes: rowGroupBytes, shard_rows: shardRows, shards: manifest.shards.length, row_groups: groups },
    timings_s: { sample: round((t1 - t0) / 1000, 2), build: round((t2 - t1) / 1000, 2) },
    storage: {
      format_version: manifest.format_version,
      bytes_per_row: round(bytesPerRow, 1),
      rows_per_row_group_mean: round(rowsPerGroup, 1),
      row_group_bytes_mean: Math.round(groupBytesTotal / groups),
      footer_bytes_per_shard: Math.round(mean(footerBytes)),
      footer_bytes_per_row_group: Math.round(footerPerGroup),
      index_bytes_per_shard: Math.round(mean(indexBytes)),
      manifest_bytes: manifestBytes,
    },
    end_to_end: endToEnd,
    in_process_reader: {
      note: 'the reader alone in Node over a folder: no HTTP, auth, rate limiter, Workers runtime or R2 round trip',
      cold,
      warm,
    },
    edge_filter_in_process: {
      predicates,
      pages,
      scanned_rows: scanned,
      matched_rows: matched,
      seconds: round(filterMs / 1000, 3),
      rows_scanned_per_second: Math.round(scanned / (filterMs / 1000)),
      r2_reads: filterIo.bucket.stats.reads,
      r2_bytes: filterIo.bucket.stats.bytes,
    },
    duckdb_new_instance_per_query: summarise(duckCold),
    full_dataset_estimate: full,
  };

  const line = (name: string, s: LatencySummary, extra = '') =>
    `${name.padEnd(52)} ${String(s.p50_ms).padStart(8)} ${String(s.p99_ms).padStart(8)} ${String(s.per_second).padStart(8)}  ${extra}`;
  const e = endToEnd;
  console.log(
    `\nCOYO look-ups: ${rows} rows, ${manifest.shards.length} shards, ${groups} row groups of ≈ ${Math.round(rowsPerGroup)} rows ` +
      `(≤ ${rowGroupBytes} B), Node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  );
  console.log(`${'look-up'.padEnd(52)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'per s'.padStart(8)}  R2 per look-up`);
  console.log(line('END TO END: served worker (HTTP+auth+limiter+R2), warm', e.served_warm.latency, `${e.served_warm.r2_reads_per_lookup} reads, ${e.served_warm.r2_bytes_per_lookup} B (max ${e.served_warm.r2_bytes_max} B)`));
  console.log(line('  DuckDB on the same published shards (interleaved)', e.duckdb_on_published_shards));
  console.log(line('  DuckDB on the input files (interleaved)', e.duckdb_on_input_files));
  console.log(line('  DuckDB on its own sorted file, 2048-row groups', e.duckdb_on_its_own_sorted_file));
  console.log(line('  floor: HTTP + auth + limiter, 304', e.http_auth_floor_304));
  console.log(
    `  DuckDB p50 / edge p50: ${e.ratio_duckdb_p50_over_edge_p50.published_shards}× (published shards), ` +
      `${e.ratio_duckdb_p50_over_edge_p50.input_files}× (input files), ${e.ratio_duckdb_p50_over_edge_p50.duckdb_sorted_file}× (DuckDB's own sorted file)`,
  );
  console.log(
    `  cold isolate: ${e.cold_isolate_empty_cache_api.r2_reads} R2 reads, ${e.cold_isolate_empty_cache_api.r2_bytes} B with an empty Cache API; ` +
      `${e.cold_isolate_cache_api_warm.r2_reads} reads, ${e.cold_isolate_cache_api_warm.r2_bytes} B once the data centre's Cache API holds manifest and index`,
  );
  console.log(
    `  paging all ${manifest.total_rows} rows, ${pageRows} a page: /filter ${e.paging.filter.requests} requests, ${e.paging.filter.reads} R2 reads, ` +
      `${e.paging.filter.bytes} B = ${e.paging.filter.bytes_over_row_group_bytes}× the row groups' ${groupBytesTotal} B; ` +
      `/rows ${e.paging.rows.requests} requests, ${e.paging.rows.reads} reads, ${e.paging.rows.bytes} B = ${e.paging.rows.bytes_over_row_group_bytes}×`,
  );
  console.log(line('in-process reader (no HTTP/auth/runtime), cold', cold.latency, `${cold.reads} reads (${cold.range_reads} ranged), ${cold.bytes} B`));
  console.log(line('in-process reader (no HTTP/auth/runtime), warm', warm.latency, `${warm.reads} reads (${warm.range_reads} ranged), ${warm.bytes} B`));
  console.log(line('DuckDB, new instance per query', result.duckdb_new_instance_per_query));
  console.log(
    `filter in process (${predicates.map((p) => `${p.column} ${'min' in p ? `≥ ${p.min}` : `≤ ${p.max}`}`).join(', ')}): ` +
      `${scanned} rows scanned in ${pages} pages, ${matched} matches, ${result.edge_filter_in_process.rows_scanned_per_second} rows/s, ` +
      `${result.edge_filter_in_process.r2_reads} R2 reads`,
  );
  console.log(
    `storage: ${result.storage.bytes_per_row} B/row, row group ≈ ${result.storage.row_group_bytes_mean} B, ` +
      `footer ≈ ${result.storage.footer_bytes_per_row_group} B per row group, look-up index ≈ ${result.storage.index_bytes_per_shard} B per shard`,
  );
  console.log(
    `full dataset at ${fullShardRows} rows/shard: ${full.shards} shards of ${full.row_groups_per_shard} row groups, ` +
      `look-up index ≈ ${full.index_bytes_per_shard} B and footer ≈ ${full.footer_bytes_per_shard} B per shard, ` +
      `manifest ≈ ${full.manifest_bytes} B, row group ≈ ${full.row_group_bytes} B, total ≈ ${(full.total_bytes / 1e9).toFixed(1)} GB`,
  );
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${values.out}`);
} finally {
  await rm(temp, { recursive: true, force: true });
}
