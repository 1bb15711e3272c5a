/**
 * Checks a published version in a folder laid out like the bucket against the parquet files it was
 * built from, the way the edge reads it: a seeded sample of input rows (DuckDB's reservoir sample) is
 * looked up by id, by URL and by exact pHash through the edge reader over the folder, every answer
 * compared field by field with DuckDB's row, and the reads and bytes of each look-up counted. Meant for
 * versions too large for the end-to-end benchmark (the scale run in docs/coyo-storage.md):
 *
 *   pnpm --filter @coyo/ingest exec tsx bench/verify-folder.ts --dir <bucket folder> [--samples 300] [--seed 7] <inputs>…
 *
 * Exits 1 on the first mismatch.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { CountingBucket, CoyoDataset, CoyoMemory, CoyoProvenance, type CoyoIo, type PartialRecord } from '@coyo/coyo-reader';
import { COYO_COLUMNS } from '@coyo/coyo-schema';
import { Duck } from '../src/duck.js';
import { toApiRow } from '../src/dump.js';
import { expandInputs } from '../src/inputs.js';
import { quoteIdent, quoteLiteral } from '../src/schema.js';
import { fileBucket } from './file-bucket.js';
import { mean, round, summarise } from './stats.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string' },
    samples: { type: 'string', default: '300' },
    seed: { type: 'string', default: '7' },
  },
});
if (values.dir === undefined || positionals.length === 0) {
  console.error('usage: verify-folder.ts --dir <bucket folder> [--samples N] [--seed S] <parquet files | folders | globs>…');
  process.exit(2);
}
const samples = Number(values.samples);
const seed = Number(values.seed);
if (!Number.isSafeInteger(samples) || samples < 1 || !Number.isSafeInteger(seed)) throw new Error('--samples and --seed must be integers');

const files = fileBucket(values.dir);
const duck = await Duck.open(':memory:', { threads: 2 });
const inputs = await expandInputs(duck, positionals);
const source = `read_parquet([${inputs.map(quoteLiteral).join(', ')}])`;
const load0 = loadavg()[0] ?? 0;

const t0 = performance.now();
const [{ n }] = (await duck.all(`SELECT count(*) AS n FROM ${source}`)) as [{ n: bigint }];
const expectedRows = Number(n);
const sample = (
  await duck.all(`SELECT ${COYO_COLUMNS.map(quoteIdent).join(', ')} FROM ${source} USING SAMPLE reservoir(${samples} ROWS) REPEATABLE (${seed})`)
).map(toApiRow);
duck.close();
const sampleSeconds = (performance.now() - t0) / 1000;

function differs(expected: Record<string, unknown>, got: PartialRecord | null | undefined): string | null {
  if (got === null || got === undefined) return 'missing';
  for (const column of COYO_COLUMNS) {
    const a = JSON.stringify(expected[column]);
    const b = JSON.stringify(got[column]);
    if (a !== b) return `${column}: expected ${a}, got ${b}`;
  }
  return null;
}

// A cold isolate with an empty cache: every object read from the folder.
const coldIo: CoyoIo = { bucket: new CountingBucket(files), memory: new CoyoMemory() };
const coldStart = performance.now();
const coldDataset = await CoyoDataset.open(coldIo);
const firstId = sample[0]?.['id'] as number;
await coldDataset.lookup([firstId]);
const cold = { ms: performance.now() - coldStart, reads: coldIo.bucket.stats.reads, bytes: coldIo.bucket.stats.bytes };
if (coldDataset.manifest.total_rows !== expectedRows) throw new Error(`manifest says ${coldDataset.manifest.total_rows} rows, the inputs hold ${expectedRows}`);

// Warm: one isolate's memory (pointer, manifest, shard indexes, table directories) shared by every look-up.
const memory = new CoyoMemory({ footerBytes: 1 << 30 });
const measure = async <T>(run: (io: CoyoIo, dataset: CoyoDataset) => Promise<T>) => {
  const io: CoyoIo = { bucket: new CountingBucket(files), memory };
  const dataset = await CoyoDataset.open(io);
  const start = performance.now();
  const value = await run(io, dataset);
  return { value, ms: performance.now() - start, reads: io.bucket.stats.reads, bytes: io.bucket.stats.bytes };
};
for (const row of sample) await measure((_, d) => d.lookup([row['id'] as number])); // fill the isolate's memory
for (const row of sample) if (typeof row['url'] === 'string') await measure((io, d) => new CoyoProvenance(io, d).byUrl(row['url'] as string));

interface Tally {
  ms: number[];
  reads: number[];
  bytes: number[];
}
const tally = (into: Tally, m: { ms: number; reads: number; bytes: number }): void => {
  into.ms.push(m.ms);
  into.reads.push(m.reads);
  into.bytes.push(m.bytes);
};
const byId: Tally = { ms: [], reads: [], bytes: [] };
const byUrl: Tally = { ms: [], reads: [], bytes: [] };
const byPhash: Tally = { ms: [], reads: [], bytes: [] };
for (const row of sample) {
  const id = row['id'] as number;
  const r = await measure((_, d) => d.lookup([id]));
  const problem = differs(row, r.value[0]);
  if (problem !== null) throw new Error(`id ${id}: ${problem}`);
  tally(byId, r);
  const url = row['url'];
  if (typeof url === 'string') {
    const u = await measure((io, d) => new CoyoProvenance(io, d).byUrl(url));
    const found = u.value.rows.find((x) => x['id'] === id);
    if (differs(row, found) !== null) throw new Error(`by-url ${url}: row ${id} ${differs(row, found) ?? ''}`);
    tally(byUrl, u);
  }
  const phash = row['image_phash'];
  if (typeof phash === 'string' && /^[0-9a-fA-F]{16}$/.test(phash)) {
    const p = await measure((io, d) => new CoyoProvenance(io, d).byPhash(phash, 0, 100));
    if (!p.value.matches.some((m) => m.row['id'] === id && m.distance === 0)) throw new Error(`by-phash ${phash}: row ${id} not among the exact matches`);
    tally(byPhash, p);
  }
}

const row = (name: string, m: Tally) => {
  const s = summarise(m.ms);
  return `| ${name} | ${m.ms.length} | ${s.p50_ms} | ${s.p99_ms} | ${round(mean(m.reads), 2)} | ${Math.round(mean(m.bytes))} (max ${Math.max(...m.bytes)}) |`;
};
console.log(`${expectedRows.toLocaleString('en')} rows in the inputs = the manifest's; ${sample.length} sampled rows (seed ${seed}) in ${round(sampleSeconds, 1)} s; loadavg ${load0.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`);
console.log(`cold isolate, empty cache, first look-up: ${cold.reads} reads, ${cold.bytes} B, ${round(cold.ms, 1)} ms`);
console.log('| warm look-up (edge reader over the folder, no HTTP) | exact answers | p50 ms | p99 ms | reads | bytes |');
console.log('|---|---|---|---|---|---|');
console.log(row('by id', byId));
console.log(row('by URL', byUrl));
console.log(row('by pHash, distance 0', byPhash));
