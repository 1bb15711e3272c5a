/**
 * COYO storage benchmark: generates a sample, builds shards with the real ingest, then times by-id
 * look-ups with the edge reader (cold and warm, R2 reads and bytes counted), a filter scan, and DuckDB
 * answering the same look-ups on the same parquet files. Prints a table and writes JSON.
 *
 *   pnpm bench:coyo [-- --rows 200000 --lookups 300 --shard-rows 32768 --row-group-size 2048 --out bench-results/coyo.json]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { CountingBucket, CoyoDataset, CoyoMemory, type CoyoIo } from '@coyo/coyo-reader';
import { DEFAULT_ROW_GROUP_SIZE, DEFAULT_SHARD_ROWS, buildShards } from '../src/build.js';
import { Duck } from '../src/duck.js';
import { publish } from '../src/publish.js';
import { Random } from '../src/random.js';
import { writeSample } from '../src/sample.js';
import { dirStore } from '../src/targets/dir.js';
import { fileBucket } from './file-bucket.js';
import { mean, round, summarise, type LatencySummary } from './stats.js';

const FULL_ROWS = 746_972_269;

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    lookups: { type: 'string', default: '300' },
    'shard-rows': { type: 'string', default: '32768' },
    'row-group-size': { type: 'string', default: String(DEFAULT_ROW_GROUP_SIZE) },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: resolve(import.meta.dirname, '../../../bench-results/coyo.json') },
  },
});
const rows = Number(values.rows);
const lookups = Number(values.lookups);
const shardRows = Number(values['shard-rows']);
const rowGroupSize = Number(values['row-group-size']);

const temp = await mkdtemp(join(tmpdir(), 'coyo-bench-'));
try {
  const t0 = performance.now();
  console.error(`generating ${rows} rows …`);
  await writeSample({ rows, outDir: join(temp, 'input'), seed: Number(values.seed) });
  const t1 = performance.now();
  console.error('building shards …');
  const built = await buildShards({ inputs: [join(temp, 'input')], workDir: join(temp, 'work'), rowGroupSize, shardRows });
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

  console.error('DuckDB look-ups …');
  const glob = `${join(bucketDir, 'v', manifest.dataset_version)}/*.parquet`;
  const statement = await duck.connection.prepare(`SELECT * FROM read_parquet('${glob}') WHERE id = $1`);
  const duckWarm: number[] = [];
  for (const id of ids) {
    statement.bindBigInt(1, BigInt(id));
    const start = performance.now();
    const reader = await statement.runAndReadAll();
    duckWarm.push(performance.now() - start);
    if (reader.currentRowCount !== 1) throw new Error(`DuckDB found ${reader.currentRowCount} rows for ${id}`);
  }
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
  const groups = manifest.shards.reduce((n, s) => n + s.row_groups, 0);
  const dataBytes = manifest.shards.reduce((n, s) => n + s.bytes - s.footer_bytes, 0);
  const footerPerGroup = footerBytes.reduce((a, b) => a + b, 0) / groups;
  const bytesPerRow = dataBytes / manifest.total_rows;
  const fullShardRows = Math.max(DEFAULT_SHARD_ROWS, rowGroupSize * 128);
  const manifestBytes = JSON.stringify(manifest).length;
  const full = {
    rows: FULL_ROWS,
    shard_rows: fullShardRows,
    shards: Math.ceil(FULL_ROWS / fullShardRows),
    row_groups_per_shard: Math.ceil(fullShardRows / rowGroupSize),
    footer_bytes_per_shard: Math.round(footerPerGroup * Math.ceil(fullShardRows / rowGroupSize)),
    manifest_bytes: Math.round((manifestBytes / manifest.shards.length) * Math.ceil(FULL_ROWS / fullShardRows)),
    row_group_bytes: Math.round(bytesPerRow * rowGroupSize),
    total_bytes: Math.round(bytesPerRow * FULL_ROWS),
  };

  const result = {
    generated_at: new Date().toISOString(),
    machine: { node: process.version, platform: process.platform, arch: process.arch },
    setup: { rows, lookups, row_group_size: rowGroupSize, shard_rows: shardRows, shards: manifest.shards.length, row_groups: groups },
    timings_s: { sample: round((t1 - t0) / 1000, 2), build: round((t2 - t1) / 1000, 2) },
    storage: {
      bytes_per_row: round(bytesPerRow, 1),
      row_group_bytes_mean: Math.round(dataBytes / groups),
      footer_bytes_per_shard: Math.round(mean(footerBytes)),
      footer_bytes_per_row_group: Math.round(footerPerGroup),
      manifest_bytes: manifestBytes,
    },
    edge_lookup: { cold, warm },
    edge_filter: {
      predicates,
      pages,
      scanned_rows: scanned,
      matched_rows: matched,
      seconds: round(filterMs / 1000, 3),
      rows_scanned_per_second: Math.round(scanned / (filterMs / 1000)),
      r2_reads: filterIo.bucket.stats.reads,
      r2_bytes: filterIo.bucket.stats.bytes,
    },
    duckdb_lookup: { warm: summarise(duckWarm), cold_new_instance: summarise(duckCold) },
    ratio_duckdb_over_edge: {
      warm_p50: round(summarise(duckWarm).p50_ms / warm.latency.p50_ms, 2),
      cold_p50: round(summarise(duckCold).p50_ms / cold.latency.p50_ms, 2),
    },
    full_dataset_estimate: full,
  };

  const line = (name: string, s: LatencySummary, extra = '') =>
    `${name.padEnd(34)} ${String(s.p50_ms).padStart(9)} ${String(s.p99_ms).padStart(9)} ${String(s.per_second).padStart(10)}  ${extra}`;
  console.log(`\nCOYO look-ups: ${rows} rows, ${manifest.shards.length} shards, ${groups} row groups (target ${rowGroupSize} rows) (Node ${process.version})`);
  console.log(`${'look-up'.padEnd(34)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'per s'.padStart(10)}  R2 per look-up`);
  console.log(line('edge reader, cold isolate', cold.latency, `${cold.reads} reads (${cold.range_reads} ranged), ${cold.bytes} B`));
  console.log(line('edge reader, warm (footer cached)', warm.latency, `${warm.reads} reads (${warm.range_reads} ranged), ${warm.bytes} B`));
  console.log(line('DuckDB, warm connection', result.duckdb_lookup.warm));
  console.log(line('DuckDB, new instance', result.duckdb_lookup.cold_new_instance));
  console.log(`DuckDB / edge p50: warm ${result.ratio_duckdb_over_edge.warm_p50}×, cold ${result.ratio_duckdb_over_edge.cold_p50}×`);
  console.log(
    `filter (${predicates.map((p) => `${p.column} ${'min' in p ? `≥ ${p.min}` : `≤ ${p.max}`}`).join(', ')}): ` +
      `${scanned} rows scanned in ${pages} pages, ${matched} matches, ${result.edge_filter.rows_scanned_per_second} rows/s, ` +
      `${result.edge_filter.r2_reads} R2 reads`,
  );
  console.log(
    `storage: ${result.storage.bytes_per_row} B/row, row group ≈ ${result.storage.row_group_bytes_mean} B, ` +
      `footer ≈ ${result.storage.footer_bytes_per_row_group} B per row group`,
  );
  console.log(
    `full dataset at ${fullShardRows} rows/shard: ${full.shards} shards, footer ≈ ${full.footer_bytes_per_shard} B, ` +
      `manifest ≈ ${full.manifest_bytes} B, row group ≈ ${full.row_group_bytes} B, total ≈ ${(full.total_bytes / 1e9).toFixed(1)} GB`,
  );
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${values.out}`);
} finally {
  await rm(temp, { recursive: true, force: true });
}
