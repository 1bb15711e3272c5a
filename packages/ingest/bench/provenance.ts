/**
 * Provenance look-up benchmark: generates a sample, builds shards and provenance tables with the real
 * ingest, then runs by-URL, by-domain and by-pHash (distances 0, 1, 4, 8) look-ups with the edge reader,
 * warm (directories, footers and pointer cached), counting R2 reads and bytes per query (index reads
 * apart), with DuckDB answering the same questions on the same shards as the peer, interleaved.
 * Prints a table, the tables' sizes and their extrapolation to the full dataset, and writes JSON.
 *
 *   pnpm --filter @coyo/ingest bench:provenance [-- --rows 100000 --queries 100 --out bench-results/provenance.json]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CountingBucket, CoyoDataset, CoyoMemory, CoyoProvenance, type CoyoIo, type RangeReadBucket, type RangeReadOptions } from '@coyo/coyo-reader';
import { DIRECTORY_ENTRY_BYTES, normalizeDomain, type IndexTable } from '@coyo/coyo-schema';
import { DEFAULT_ROW_GROUP_SIZE, buildShards } from '../src/build.js';
import { Duck, toSafeNumber } from '../src/duck.js';
import { indexTables } from '../src/indexes/write.js';
import { publish } from '../src/publish.js';
import { Random } from '../src/random.js';
import { writeSample } from '../src/sample.js';
import { dirStore } from '../src/targets/dir.js';
import { fileBucket } from './file-bucket.js';
import { mean, round, summarise } from './stats.js';

const FULL_ROWS = 746_972_269;

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '100' },
    'shard-rows': { type: 'string', default: '32768' },
    seed: { type: 'string', default: '3' },
    out: { type: 'string', default: resolve(import.meta.dirname, '../../../bench-results/provenance.json') },
  },
});
const rows = Number(values.rows);
const queries = Number(values.queries);

/** Counts the reads of index objects apart from the others. */
function splitCounter(inner: RangeReadBucket) {
  const stats = { indexReads: 0, indexBytes: 0 };
  const bucket: RangeReadBucket = {
    async get(key: string, options?: RangeReadOptions) {
      const object = options === undefined ? await inner.get(key) : await inner.get(key, options);
      if (object !== null && key.includes('/index/')) {
        const bytes = await object.arrayBuffer();
        stats.indexReads += 1;
        stats.indexBytes += bytes.byteLength;
        return { arrayBuffer: () => Promise.resolve(bytes) };
      }
      return object;
    },
  };
  return { bucket, stats };
}

const temp = await mkdtemp(join(tmpdir(), 'coyo-provenance-bench-'));
try {
  console.error(`generating ${rows} rows …`);
  await writeSample({ rows, outDir: join(temp, 'input'), seed: Number(values.seed) });
  console.error('building shards and provenance tables …');
  const t0 = performance.now();
  const built = await buildShards({ inputs: [join(temp, 'input')], workDir: join(temp, 'work'), rowGroupSize: DEFAULT_ROW_GROUP_SIZE, shardRows: Number(values['shard-rows']) });
  const buildMs = performance.now() - t0;
  const bucketDir = join(temp, 'bucket');
  await publish({ manifest: built.manifest, shardFiles: built.shardFiles, store: dirStore(bucketDir) });
  const indexes = built.manifest.indexes;
  if (indexes === undefined) throw new Error('bug: the build wrote no provenance tables');

  const shards = `read_parquet('${join(temp, 'work', 'shards')}/*.parquet')`;
  const duck = await Duck.open(':memory:', { threads: 2 });
  const sample = (await duck.all(`SELECT id, url, image_phash FROM ${shards}`)).map((r) => ({
    id: toSafeNumber(r['id'], 'id'),
    url: String(r['url']),
    phash: String(r['image_phash']),
  }));
  const rng = new Random(11);
  const picks = Array.from({ length: queries }, () => rng.pick(sample));

  const memory = new CoyoMemory();
  const files = fileBucket(bucketDir);
  interface Sample {
    ms: number[];
    reads: number[];
    bytes: number[];
    indexReads: number[];
    indexBytes: number[];
    peerMs: number[];
  }
  const kinds = ['by-url', 'by-domain (page of 20)', 'by-phash k=0', 'by-phash k=1', 'by-phash k=4', 'by-phash k=8'] as const;
  const emptySample = (): Sample => ({ ms: [], reads: [], bytes: [], indexReads: [], indexBytes: [], peerMs: [] });
  const results = Object.fromEntries(kinds.map((k) => [k, emptySample()])) as Record<(typeof kinds)[number], Sample>;

  const edge = async (run: (p: CoyoProvenance) => Promise<unknown>) => {
    const split = splitCounter(files);
    const bucket = new CountingBucket(split.bucket);
    const io: CoyoIo = { bucket, memory };
    const started = performance.now();
    await run(new CoyoProvenance(io, await CoyoDataset.open(io)));
    return { ms: performance.now() - started, reads: bucket.stats.reads, bytes: bucket.stats.bytes, ...split.stats };
  };
  const peer = async (sql: string, params: (string | number)[]) => {
    const started = performance.now();
    await duck.all(sql, params);
    return performance.now() - started;
  };
  const phashSql = (k: number) =>
    `SELECT * FROM ${shards} WHERE bit_count(xor(CAST(('0x' || image_phash) AS UBIGINT), CAST($1 AS UBIGINT))) <= ${k}`;

  const warmPass = async (record: boolean) => {
    for (const pick of picks) {
      const host = normalizeDomain(new URL(pick.url).hostname) ?? '';
      const cases: [(typeof kinds)[number], (p: CoyoProvenance) => Promise<unknown>, string, (string | number)[]][] = [
        ['by-url', (p) => p.byUrl(pick.url), `SELECT * FROM ${shards} WHERE url = $1`, [pick.url]],
        ['by-domain (page of 20)', (p) => p.byDomain(host, 20), `SELECT * FROM ${shards} WHERE url LIKE $1 ORDER BY id LIMIT 20`, [`https://${host}/%`]],
        ...[0, 1, 4, 8].map(
          (k) =>
            [`by-phash k=${k}` as (typeof kinds)[number], (p: CoyoProvenance) => p.byPhash(pick.phash, k, 20), phashSql(k), [`0x${pick.phash}`]] as [
              (typeof kinds)[number],
              (p: CoyoProvenance) => Promise<unknown>,
              string,
              (string | number)[],
            ],
        ),
      ];
      for (const [kind, run, sql, params] of cases) {
        const a = await edge(run);
        const peerMs = await peer(sql, params);
        if (!record) continue;
        const r = results[kind];
        r.ms.push(a.ms);
        r.reads.push(a.reads);
        r.bytes.push(a.bytes);
        r.indexReads.push(a.indexReads);
        r.indexBytes.push(a.indexBytes);
        r.peerMs.push(peerMs);
      }
    }
  };
  console.error('warming …');
  await warmPass(false);
  console.error('measuring …');
  await warmPass(true);
  duck.close();

  const tableSize = (t: IndexTable) => t.bytes;
  const fullSize = (t: IndexTable) => FULL_ROWS * t.entry_bytes + Math.ceil(FULL_ROWS / t.block_entries) * DIRECTORY_ENTRY_BYTES;
  const directoryFull = (t: IndexTable) => Math.ceil(FULL_ROWS / t.block_entries) * DIRECTORY_ENTRY_BYTES;
  const all = indexTables(indexes);
  const result = {
    node: process.version,
    loadavg: loadavg().map((x) => round(x, 2)),
    rows,
    queries,
    build_ms: Math.round(buildMs),
    shards: built.manifest.shards.length,
    per_query: Object.fromEntries(
      kinds.map((k) => {
        const r = results[k];
        return [
          k,
          {
            edge: summarise(r.ms),
            reads: round(mean(r.reads), 2),
            reads_max: Math.max(...r.reads),
            index_reads: round(mean(r.indexReads), 2),
            index_bytes: Math.round(mean(r.indexBytes)),
            bytes: Math.round(mean(r.bytes)),
            duckdb: summarise(r.peerMs),
            duckdb_over_edge_p50: round(summarise(r.peerMs).p50_ms / summarise(r.ms).p50_ms, 2),
          },
        ];
      }),
    ),
    tables: {
      sample_bytes: { by_url: tableSize(indexes.by_url), by_domain: tableSize(indexes.by_domain), by_phash: indexes.by_phash.map(tableSize) },
      at_full_size: {
        rows: FULL_ROWS,
        by_url: fullSize(indexes.by_url),
        by_domain: fullSize(indexes.by_domain),
        by_phash_each: fullSize(indexes.by_phash[0] as IndexTable),
        total: all.reduce((n, t) => n + fullSize(t), 0),
        directories_total: all.reduce((n, t) => n + directoryFull(t), 0),
      },
    },
  };
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);

  console.log(`\nProvenance look-ups, warm: ${rows} rows, ${result.shards} shards, ${queries} queries each (Node ${process.version}, loadavg ${result.loadavg.join(' ')})`);
  console.log(`${'query'.padEnd(24)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'reads'.padStart(6)} ${'max'.padStart(4)} ${'index'.padStart(6)} ${'index B'.padStart(9)} ${'all B'.padStart(9)} ${'DuckDB p50'.padStart(11)} ${'ratio'.padStart(6)}`);
  for (const k of kinds) {
    const q = result.per_query[k] as { edge: { p50_ms: number; p99_ms: number }; reads: number; reads_max: number; index_reads: number; index_bytes: number; bytes: number; duckdb: { p50_ms: number }; duckdb_over_edge_p50: number };
    console.log(
      `${k.padEnd(24)} ${q.edge.p50_ms.toFixed(2).padStart(8)} ${q.edge.p99_ms.toFixed(2).padStart(8)} ${String(q.reads).padStart(6)} ${String(q.reads_max).padStart(4)} ${String(q.index_reads).padStart(6)} ${String(q.index_bytes).padStart(9)} ${String(q.bytes).padStart(9)} ${q.duckdb.p50_ms.toFixed(2).padStart(11)} ${String(q.duckdb_over_edge_p50).padStart(6)}`,
    );
  }
  const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;
  const f = result.tables.at_full_size;
  console.log(`\ntables at ${FULL_ROWS} rows: by-url ${gb(f.by_url)}, by-domain ${gb(f.by_domain)}, by-phash ${gb(f.by_phash_each)} × 9, total ${gb(f.total)}; directories ${(f.directories_total / 1e6).toFixed(1)} MB`);
  console.log(`wrote ${values.out}`);
} finally {
  await rm(temp, { recursive: true, force: true });
}
