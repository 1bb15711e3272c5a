/**
 * `pnpm bench:edge`: latency and throughput of the edge worker against the real local stack
 * (wrangler's local Workers runtime + the GPU backend on CPU with the test models).
 * Measures a cache-hit zero-shot, a cold zero-shot (a new image each time), a COYO by-id look-up, the
 * backend calls each one makes (from the backend's /metrics) and the worker's CPU time per request
 * (user+system time of the workerd processes, from /proc). Prints a table and writes
 * bench-results/edge.json. Loopback only; every loop is bounded in count and time.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runCliOk, WRANGLER_CONFIG } from '../coyo/cli.ts';
import { REPO_ROOT, startStack, type Stack } from '../harness/stack.ts';

interface Result {
  name: string;
  concurrency: number;
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  backend_calls_per_request: number;
  worker_cpu_ms_per_request: number | null;
  errors: number;
}

const CLK_TCK = 100;

function workerdPids(): number[] {
  try {
    return execFileSync('pgrep', ['-f', 'workerd'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function cpuTicks(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // process gone
    }
  }
  return ticks;
}

async function backendRequests(stack: Stack): Promise<number> {
  const text = await (await fetch(`${stack.backendUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (/^coyo_backend_requests_total\{[^}]*route="\/v1\//.test(line)) total += Number(line.split(' ').pop());
  }
  return total;
}

/** The `i`-th item of a non-empty list, round robin. */
function pick<T>(items: readonly T[], i: number): T {
  const item = items[i % items.length];
  if (item === undefined) throw new Error('bug: nothing to pick from');
  return item;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function measure(
  stack: Stack,
  name: string,
  concurrency: number,
  maxRequests: number,
  maxSeconds: number,
  makeRequest: (i: number) => Promise<Response>,
  expectedStatus = 200,
): Promise<Result> {
  const pids = workerdPids();
  const ticks0 = cpuTicks(pids);
  const backend0 = await backendRequests(stack);
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const deadline = performance.now() + maxSeconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < maxRequests && performance.now() < deadline) {
        const i = issued++;
        const t0 = performance.now();
        const response = await makeRequest(i);
        await response.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (response.status !== expectedStatus) errors++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const ticks = cpuTicks(pids) - ticks0;
  const backendCalls = (await backendRequests(stack)) - backend0;
  latencies.sort((a, b) => a - b);
  return {
    name,
    concurrency,
    requests: latencies.length,
    rps: latencies.length / seconds,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    backend_calls_per_request: backendCalls / latencies.length,
    worker_cpu_ms_per_request: pids.length > 0 ? ((ticks / CLK_TCK) * 1000) / latencies.length : null,
    errors,
  };
}

// Each key may make 600 requests a minute (the "high" tier): spread the load over enough keys that the
// benchmark measures the worker, not the rate limiter.
// A 200,000-row COYO sample (the `pnpm dev` default) in the stack's local R2, for the by-id case.
const persistDir = mkdtempSync(join(tmpdir(), 'coyo-bench-'));
const sampleDir = join(persistDir, 'sample');
await runCliOk(['sample', '--rows', '200000', '--out', sampleDir]);
await runCliOk(['ingest', sampleDir, '--target', 'local', '--config', WRANGLER_CONFIG, '--persist', join(persistDir, 'v3'), '--work-dir', join(persistDir, 'work'), '--progress', 'none']);
rmSync(sampleDir, { recursive: true, force: true });
const stack = await startStack({ extraKeys: 15, persistDir });
try {
  let turn = 0;
  const auth = () => `Bearer ${stack.apiKeys[turn++ % stack.apiKeys.length]}`;
  const headers = { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' };
  const labels = ['cat', 'dog', 'car', 'tree', 'people'];
  const png = async (i: number) =>
    (await sharp({ create: { width: 256, height: 256, channels: 3, background: { r: i % 256, g: (i >> 8) % 256, b: 77 } } }).png().toBuffer()).toString('base64');
  const hitImage = await png(123456);
  const zeroShot = (base64: string) =>
    fetch(`${stack.workerUrl}/v1/zero-shot`, { method: 'POST', headers: { ...headers, authorization: auth() }, body: JSON.stringify({ image: { base64 }, labels }) });
  await zeroShot(hitImage); // warm the caches
  const coldImages = await Promise.all(Array.from({ length: 120 }, (_, i) => png(i + 1)));

  let coyoIds: number[] = [];
  // Ids spread over the whole dataset, so look-ups touch many row groups.
  const rows = await fetch(`${stack.workerUrl}/v1/coyo/filter?limit=100&min_aesthetic_score_laion_v2=6.5`, { headers });
  if (rows.ok) {
    const body = (await rows.json()) as { rows?: { id: number }[] };
    coyoIds = (body.rows ?? []).map((r) => r.id);
  }

  const results: Result[] = [];
  // The floor: an authenticated request that the router answers with a 404 problem — runtime, request id,
  // auth and rate limit, nothing else. A cache-hit zero-shot adds parsing, hashing and the cache reads.
  for (const c of [1, 8]) {
    results.push(await measure(stack, 'floor: authenticated 404', c, 400, 20, () => fetch(`${stack.workerUrl}/v1/nothing-here`, { headers: { authorization: auth() } }), 404));
  }
  for (const c of [1, 8]) {
    results.push(await measure(stack, 'zero-shot, cache hit', c, 400, 20, () => zeroShot(hitImage)));
  }
  for (const c of [1, 8]) {
    let next = c === 1 ? 0 : 60;
    results.push(await measure(stack, 'zero-shot, cold image', c, 60, 60, () => zeroShot(pick(coldImages, next++))));
  }
  if (coyoIds.length > 0) {
    for (const c of [1, 8]) {
      results.push(await measure(stack, 'COYO by id', c, 400, 20, (i) => fetch(`${stack.workerUrl}/v1/coyo/${coyoIds[i % coyoIds.length]}`, { headers: { authorization: auth() } })));
    }
  } else {
    console.warn('no COYO data in the local R2 of this stack: skipping the by-id benchmark (run `pnpm bench:coyo` for the reader)');
  }

  console.log('\nedge benchmark (local Workers runtime, backend on CPU with test models)');
  console.table(
    results.map((r) => ({
      case: r.name,
      conc: r.concurrency,
      n: r.requests,
      'req/s': r.rps.toFixed(1),
      'p50 ms': r.p50_ms.toFixed(2),
      'p99 ms': r.p99_ms.toFixed(2),
      'backend calls/req': r.backend_calls_per_request.toFixed(2),
      'worker CPU ms/req': r.worker_cpu_ms_per_request?.toFixed(2) ?? 'n/a',
      errors: r.errors,
    })),
  );
  mkdirSync(join(REPO_ROOT, 'bench-results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'bench-results', 'edge.json'), `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
} finally {
  await stack.stop();
}
