/**
 * Shard rewrite on worker threads: builds the same generated sample with `--threads 1` and with more,
 * interleaved round by round, and prints the wall time of the shard phase (DuckDB's COPY of each shard,
 * the rewrite, the checksums) and of the whole build, with the load average. `threads` is DuckDB's too,
 * so the phase's DuckDB share also changes; numbers are comparable within one run only.
 *
 *   pnpm --filter @coyo/ingest bench:rewrite [-- --rows 300000 --shard-rows 32768 --threads 2 --rounds 2]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { buildShards } from '../src/build.js';
import { Progress } from '../src/progress.js';
import { writeSample } from '../src/sample.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '300000' },
    'shard-rows': { type: 'string', default: '32768' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
  },
});
const positive = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, not ${text}`);
  return n;
};
const rows = positive('rows', values.rows);
const shardRows = positive('shard-rows', values['shard-rows']);
const threads = positive('threads', values.threads);
const rounds = positive('rounds', values.rounds);

/** Builds the sample once; returns the shard phase's seconds (from its start to its last row) and the build's. */
async function build(input: string, withThreads: number): Promise<{ shardS: number; totalS: number; sha: string[] }> {
  const work = await mkdtemp(join(tmpdir(), 'coyo-rewrite-bench-'));
  let shardStart = Number.NaN;
  let shardEnd = Number.NaN;
  const progress = new Progress(
    {
      write: (chunk: string) => {
        for (const line of chunk.split('\n').filter((l) => l !== '')) {
          const event = JSON.parse(line) as { event?: string; phase?: string; done_rows?: number };
          if (event.event === 'phase' && event.phase === 'shard') shardStart = performance.now();
          if (event.event === 'progress' && event.phase === 'shard' && event.done_rows === rows) shardEnd = performance.now();
        }
      },
    },
    'json',
  );
  try {
    const t0 = performance.now();
    const { manifest } = await buildShards({ inputs: [input], workDir: work, shardRows, threads: withThreads, progress });
    return { shardS: (shardEnd - shardStart) / 1000, totalS: (performance.now() - t0) / 1000, sha: manifest.shards.map((s) => s.sha256) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const input = await mkdtemp(join(tmpdir(), 'coyo-rewrite-input-'));
try {
  await writeSample({ rows, outDir: input, seed: 3 });
  console.log(`shard rewrite, ${rows.toLocaleString('en')} rows in shards of ${shardRows.toLocaleString('en')}, Node ${process.version}, loadavg ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  let reference: string[] | undefined;
  for (let round = 1; round <= rounds; round++) {
    for (const t of [1, threads]) {
      const result = await build(input, t);
      reference ??= result.sha;
      const same = JSON.stringify(result.sha) === JSON.stringify(reference);
      console.log(
        `round ${round} threads ${t}: shard phase ${result.shardS.toFixed(1)} s, build ${result.totalS.toFixed(1)} s, ` +
          `shards ${same ? 'identical' : 'DIFFER'}, loadavg ${loadavg()[0]?.toFixed(1) ?? '?'}`,
      );
      if (!same) process.exitCode = 1;
    }
  }
} finally {
  await rm(input, { recursive: true, force: true });
}
