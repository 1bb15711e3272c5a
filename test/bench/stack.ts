/**
 * `pnpm bench:stack`: the whole local stack (the worker in wrangler's Workers runtime, the GPU backend
 * on CPU with the test models, a COYO sample in local R2) at rising concurrency. Each step runs, one
 * after another, a floor (cold text embeddings sent straight to the backend, no edge) and the edge's
 * workloads: cold embeddings (a new text each time: the backend works), hot embeddings (a few texts,
 * cached at the edge) and COYO look-ups by id (R2). Per step and workload it prints p50/p99, throughput
 * and the answers by status, and checks the failure contract: no 500/502, no hang (every request has a
 * client deadline), and every 429/503/504 carrying Retry-After, answered fast. Writes
 * bench-results/stack.json. Bounded: STEP_SECONDS per cell (default 6), ≈ 4 min in all. A fifth workload sends
 * everything with one key, to show what happens past its rate limit.
 * Load is shared on this machine: compare workloads within one run, not across runs.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { runCliOk, WRANGLER_CONFIG } from '../coyo/cli.ts';
import { REPO_ROOT, startStack, type Stack } from '../harness/stack.ts';

const STEPS = (process.env.STEPS ?? '1,4,16,64,128').split(',').map(Number);
const STEP_SECONDS = Number(process.env.STEP_SECONDS ?? '6');
/** A request that takes longer than this counts as a hang. */
const CLIENT_TIMEOUT_MS = 45_000;

interface Cell {
  workload: string;
  concurrency: number;
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  by_status: Record<string, number>;
  /** 429/503/504 answers without Retry-After. */
  missing_retry_after: number;
  /** p99 of the 429/503 answers alone: refusals must be fast. */
  refusal_p99_ms: number | null;
  hangs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Runs `request` from `concurrency` loops for `seconds`; every request has a client deadline. */
async function cell(workload: string, concurrency: number, seconds: number, request: (signal: AbortSignal) => Promise<Response>): Promise<Cell> {
  const end = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  const refusals: number[] = [];
  const byStatus: Record<string, number> = {};
  let missingRetryAfter = 0;
  let hangs = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        let status: string;
        try {
          const res = await request(AbortSignal.timeout(CLIENT_TIMEOUT_MS));
          await res.arrayBuffer();
          status = String(res.status);
          if ([429, 503, 504].includes(res.status) && res.headers.get('retry-after') === null) missingRetryAfter += 1;
          if (res.status === 429 || res.status === 503) refusals.push(performance.now() - t0);
        } catch (error) {
          const timedOut = error instanceof Error && error.name === 'TimeoutError';
          if (timedOut) hangs += 1;
          status = timedOut ? 'hang' : 'conn-error';
        }
        latencies.push(performance.now() - t0);
        byStatus[status] = (byStatus[status] ?? 0) + 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  refusals.sort((a, b) => a - b);
  return {
    workload,
    concurrency,
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    by_status: byStatus,
    missing_retry_after: missingRetryAfter,
    refusal_p99_ms: refusals.length > 0 ? percentile(refusals, 99) : null,
    hangs,
  };
}

// No outbound attempt wrangler can skip (the Request.cf fetch), as under `pnpm dev`.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
console.log(`bench:stack — steps ${STEPS.join(', ')}, ${STEP_SECONDS} s per cell; loadavg at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const persistDir = mkdtempSync(join(tmpdir(), 'coyo-bench-stack-'));
const sampleDir = join(persistDir, 'sample');
await runCliOk(['sample', '--rows', '20000', '--out', sampleDir]);
await runCliOk(['ingest', sampleDir, '--target', 'local', '--config', WRANGLER_CONFIG, '--persist', join(persistDir, 'v3'), '--work-dir', join(persistDir, 'work'), '--progress', 'none']);
const ids = (await runCliOk(['dump', sampleDir])).stdout
  .trim()
  .split('\n')
  .map((line) => (JSON.parse(line) as { id: number }).id);
// Each key has its own rate-limit budget (600/min for the high tier): several keys, so the stack's
// capacity, not one key's limit, is what the higher steps find.
const stack: Stack = await startStack({ extraKeys: 7, persistDir });
const cells: Cell[] = [];
try {
  // The first key is kept for the rate-limit workload; the others share the rest.
  const spread = stack.apiKeys.slice(1);
  let keyIndex = 0;
  const nextKey = () => spread[keyIndex++ % spread.length] ?? stack.apiKey;
  const post = (path: string, body: unknown, signal: AbortSignal, key = nextKey()) =>
    fetch(`${stack.workerUrl}${path}`, {
      method: 'POST',
      signal,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const hotTexts = Array.from({ length: 8 }, (_, i) => `a hot photo number ${i}`);
  for (const text of hotTexts) await (await post('/v1/embeddings', { texts: [text] }, AbortSignal.timeout(CLIENT_TIMEOUT_MS))).arrayBuffer();
  let hot = 0;
  const workloads: [string, (signal: AbortSignal) => Promise<Response>][] = [
    [
      'floor: backend direct, cold',
      (signal) =>
        fetch(`${stack.backendUrl}/v1/embed/text`, {
          method: 'POST',
          signal,
          headers: { authorization: `Bearer ${stack.backendToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ texts: [`a photo ${randomUUID()}`] }),
        }),
    ],
    ['edge embeddings, cold', (signal) => post('/v1/embeddings', { texts: [`a photo ${randomUUID()}`] }, signal)],
    ['edge embeddings, hot', (signal) => post('/v1/embeddings', { texts: [hotTexts[hot++ % hotTexts.length]] }, signal)],
    // Past one key's limit (600/min) the edge must refuse fast: 429 with Retry-After.
    ['edge hot, one key (limit)', (signal) => post('/v1/embeddings', { texts: [hotTexts[hot++ % hotTexts.length]] }, signal, stack.apiKey)],
    [
      'edge COYO by id (R2)',
      (signal) =>
        fetch(`${stack.workerUrl}/v1/coyo/${String(ids[Math.floor(Math.random() * ids.length)])}`, { signal, headers: { authorization: `Bearer ${nextKey()}` } }),
    ],
  ];
  for (const concurrency of STEPS) {
    for (const [name, request] of workloads) {
      const result = await cell(name, concurrency, STEP_SECONDS, request);
      cells.push(result);
      console.log(
        `${name.padEnd(28)} c=${String(concurrency).padStart(3)}  ${result.rps.toFixed(1).padStart(7)} req/s  p50 ${result.p50_ms.toFixed(1).padStart(7)} ms  p99 ${result.p99_ms.toFixed(1).padStart(8)} ms  ${JSON.stringify(result.by_status)}`,
      );
    }
  }
} finally {
  await stack.stop();
}

const load = loadavg();
console.log(`\nloadavg at end ${load.map((l) => l.toFixed(2)).join(' ')} (2 cores shared: read ratios within this run)\n`);
console.log('| workload | concurrency | req/s | p50 ms | p99 ms | answers by status | 429/503 p99 ms | missing Retry-After |');
console.log('|---|---:|---:|---:|---:|---|---:|---:|');
for (const c of cells) {
  const statuses = Object.entries(c.by_status)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');
  console.log(
    `| ${c.workload} | ${c.concurrency} | ${c.rps.toFixed(1)} | ${c.p50_ms.toFixed(1)} | ${c.p99_ms.toFixed(1)} | ${statuses} | ${c.refusal_p99_ms === null ? '–' : c.refusal_p99_ms.toFixed(1)} | ${c.missing_retry_after} |`,
  );
}
// The contract the table must show: refusals carry Retry-After, the edge never answers 500/502, never hangs.
const edge = cells.filter((c) => !c.workload.startsWith('floor'));
const broken = edge.filter((c) => c.missing_retry_after > 0 || c.hangs > 0 || Object.keys(c.by_status).some((s) => ['500', '502', 'conn-error'].includes(s)));
const outDir = join(REPO_ROOT, 'bench-results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'stack.json'), `${JSON.stringify({ steps: STEPS, step_seconds: STEP_SECONDS, loadavg: load, cells }, null, 2)}\n`);
console.log(`\nwrote bench-results/stack.json`);
if (broken.length > 0) {
  console.log(`FAILED the contract (500/502, hang, connection error or a refusal without Retry-After): ${broken.map((c) => `${c.workload} c=${c.concurrency}`).join('; ')}`);
  process.exitCode = 1;
}
