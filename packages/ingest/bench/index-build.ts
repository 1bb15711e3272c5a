/**
 * Provenance table build: time and peak memory for N synthetic rows, each variant in its own process
 * (so its peak RSS, VmHWM, is its own), one after the other in one run:
 * - floor: generates the rows and drops them (the generator's own time and memory);
 * - columns: the ingest's builder (typed columns, radix sort, tables encoded one at a time to a sink
 *   that hashes and drops them, as the ingest's file sink writes them);
 * - objects: the builder it replaced (every row and record a JavaScript object, comparator sorts,
 *   every table's bytes kept until the end), when it fits (`--variants` to leave it out).
 * Prints one line per variant and checks that both builders give the same table checksums. Numbers are
 * comparable within one run only (the load average is printed).
 *
 *   pnpm --filter @coyo/ingest bench:indexes [-- --rows 5000000 --variants floor,columns,objects]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_INDEX_BLOCK_ENTRIES, IndexRows, writeTables, type IndexSourceRow } from '../src/indexes/build.js';
import { indexTables } from '../src/indexes/write.js';
import { Random } from '../src/random.js';
import { referenceIndexes } from '../test/reference-indexes.js';

const VARIANTS = ['floor', 'columns', 'objects'] as const;
type Variant = (typeof VARIANTS)[number];

interface Measured {
  variant: Variant;
  rows: number;
  /** Seconds to generate the rows and take what the tables need from them. */
  collect_s: number;
  /** Seconds to sort and encode the eleven tables. */
  tables_s: number;
  /** Resident set size after start-up, before any row, and its peak (VmHWM), in bytes. */
  start_rss: number;
  peak_rss: number;
  /** Table object key → sha256 of its bytes. */
  sha256: Record<string, string>;
}

/** Synthetic rows in ascending id order: repeated hosts, some repeated pHashes, NULLs and malformed values. */
function* syntheticRows(count: number, seed: number): Generator<IndexSourceRow> {
  const random = new Random(seed);
  const hex = (): string => random.uint32().toString(16).padStart(8, '0') + random.uint32().toString(16).padStart(8, '0');
  const common = Array.from({ length: 10_000 }, hex);
  let id = 0;
  for (let i = 0; i < count; i++) {
    id += 1 + (random.uint32() % 3);
    const u = random.uint32() % 100;
    const host = `img${random.uint32() % 50_000}.example${random.uint32() % 97}.com`;
    const url = u < 8 ? null : u < 10 ? `not a url ${i}` : `https://${host}/photos/${random.uint32().toString(36)}/${random.uint32().toString(36)}.jpg`;
    const p = random.uint32() % 100;
    const image_phash = p < 5 ? null : p < 6 ? 'not-a-phash' : p < 16 ? (common[random.uint32() % common.length] as string) : hex();
    yield { id, url, image_phash };
  }
}

/** Peak resident set size of this process (VmHWM), in bytes. */
function peakRss(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) * 1024;
}

/** Runs one variant in this process. */
function measure(variant: Variant, count: number, seed: number): Measured {
  const version = 'bench';
  const startRss = process.memoryUsage().rss;
  const sha: Record<string, string> = {};
  let t0 = performance.now();
  let collect = 0;
  switch (variant) {
    case 'floor': {
      let urls = 0;
      for (const row of syntheticRows(count, seed)) if (row.url !== null) urls++;
      if (urls < 0) throw new Error('bug: a negative count');
      collect = performance.now() - t0;
      t0 = performance.now();
      break;
    }
    case 'columns': {
      // Sized up front, as the ingest sizes them from a COUNT of the stage (here an upper bound).
      const rows = new IndexRows({ urls: count, phashes: count });
      for (const row of syntheticRows(count, seed)) rows.add(row.id, row.url, row.image_phash);
      collect = performance.now() - t0;
      t0 = performance.now();
      const indexes = writeTables(rows, version, DEFAULT_INDEX_BLOCK_ENTRIES, () => ({ write: () => undefined, end: () => undefined, abort: () => undefined }));
      for (const table of indexTables(indexes)) sha[table.key] = table.sha256;
      break;
    }
    case 'objects': {
      const rows = [...syntheticRows(count, seed)];
      collect = performance.now() - t0;
      t0 = performance.now();
      for (const table of indexTables(referenceIndexes(rows, version, DEFAULT_INDEX_BLOCK_ENTRIES).indexes)) sha[table.key] = table.sha256;
      break;
    }
  }
  const tables = performance.now() - t0;
  return { variant, rows: count, collect_s: collect / 1000, tables_s: tables / 1000, start_rss: startRss, peak_rss: peakRss(), sha256: sha };
}

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '5000000' },
    seed: { type: 'string', default: '1' },
    variants: { type: 'string', default: VARIANTS.join(',') },
    child: { type: 'string' },
  },
});
const rows = Number(values.rows);
const seed = Number(values.seed);
if (!Number.isSafeInteger(rows) || rows < 1) throw new Error(`--rows must be a positive integer, not ${values.rows}`);

const isVariant = (name: string): name is Variant => (VARIANTS as readonly string[]).includes(name);

if (values.child !== undefined) {
  if (!isVariant(values.child)) throw new Error(`unknown variant ${values.child}`);
  process.stdout.write(`${JSON.stringify(measure(values.child, rows, seed))}\n`);
} else {
  const variants = values.variants.split(',').map((name) => {
    if (!isVariant(name)) throw new Error(`--variants: unknown variant ${name} (known: ${VARIANTS.join(', ')})`);
    return name;
  });
  const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  console.log(`index build, ${rows.toLocaleString('en')} rows, Node ${process.version}, loadavg ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const results: Measured[] = [];
  for (const variant of variants) {
    // The object builder needs a larger heap than Node's default at millions of rows.
    const heap = variant === 'objects' ? ['--max-old-space-size=16384'] : [];
    const child = spawnSync(process.execPath, [...heap, ...process.execArgv, fileURLToPath(import.meta.url), '--rows', String(rows), '--seed', String(seed), '--child', variant], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    if (child.status !== 0) {
      console.log(`${variant}: failed (${child.signal ?? `exit ${child.status}`}): ${child.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      continue;
    }
    const result = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '') as Measured;
    results.push(result);
    console.log(
      `${variant.padEnd(8)} collect ${result.collect_s.toFixed(1)} s, tables ${result.tables_s.toFixed(1)} s, ` +
        `peak RSS ${mb(result.peak_rss)} (${((result.peak_rss - result.start_rss) / rows).toFixed(1)} B/row over start-up ${mb(result.start_rss)}), ` +
        `loadavg ${loadavg()[0]?.toFixed(1) ?? '?'}`,
    );
  }
  const builds = results.filter((r) => r.variant !== 'floor');
  const [first, ...rest] = builds;
  if (first !== undefined && rest.length > 0) {
    const same = rest.every((r) => JSON.stringify(r.sha256) === JSON.stringify(first.sha256));
    console.log(same ? 'tables identical across builders' : 'TABLES DIFFER between builders');
    if (!same) process.exitCode = 1;
  }
}
