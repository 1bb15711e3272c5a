/**
 * `pnpm bench:edge`: the edge worker's CPU per request on every public route, against the real local
 * stack (wrangler's local Workers runtime + the GPU backend on CPU with the test models).
 *
 * CPU is the user+system time of this process's own workerd children (from /proc), divided by the
 * requests of a case. What the runtime costs every request (its proxy, request id, auth, rate limit)
 * is the floor: an authenticated request that the router answers 404. The floor is measured right
 * before every case and once more after the last one, so the machine's noise hits both; each case is
 * reported as its CPU per request minus the mean of the floors on either side of it. Inputs follow
 * the budget's terms: a camera-size JPEG (4032×3024), 5 labels, one COYO id. The image and text routes
 * travel as `@coyo/sdk` sends them (a raw body with its `Content-Digest` for one image, multipart for
 * several, JSON for texts); rows named `extra:` add other forms, such as the curl form of JSON base64 and
 * the cold images without the digest. The SDK is taken from its build: run `pnpm --filter @coyo/sdk
 * build` after changing it.
 *
 * Two columns, each minus its own floor: `process` is the workerd processes' CPU, which locally also
 * holds Miniflare's KV and R2 simulators, the local proxy hop and the runtime's body plumbing; `isolate`
 * is the worker isolate's own CPU from a V8 CPU profile taken over the inspector during the same run
 * (edge-isolate.ts says what it counts and what it cannot see). Cloudflare bills the isolate's CPU, so
 * the per-route target is judged on the isolate column. `--process-only` leaves the profiler off.
 *
 * Prints a table (with `os.loadavg()` before and after) and writes bench-results/edge.json.
 * `--quick` halves the request counts; `--only <substring>` (repeatable) runs the matching cases alone.
 * Loopback only; every loop is bounded in count and time.
 */
import { readdirSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, REPO_ROOT, type Stack } from '../harness/stack.ts';
import { startEdgeBench, type Case } from './edge-cases.ts';
import { isolateCpu, IsolateProfiler } from './edge-isolate.ts';

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string', multiple: true }, 'process-only': { type: 'boolean', default: false } },
  strict: true,
});
const SCALE = args.quick ? 0.5 : 1;

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on Linux x86-64). */
const CLK_TCK = 100;

interface Result {
  name: string;
  concurrency: number;
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  backend_calls_per_request: number;
  worker_cpu_ms_per_request: number;
  /** Mean of the floor runs on either side of this one (null for floor runs). */
  floor_cpu_ms_per_request: number | null;
  /** CPU per request above the floor (null for floor runs). */
  excess_cpu_ms_per_request: number | null;
  /** The worker isolate's own CPU per request, from its V8 profile (edge-isolate.ts); null with --process-only. */
  isolate_cpu_ms_per_request: number | null;
  /** Of the isolate CPU: native runtime work with the isolate entered (`(program)` samples). */
  isolate_program_ms_per_request: number | null;
  isolate_floor_ms_per_request: number | null;
  isolate_excess_ms_per_request: number | null;
  errors: number;
  /** First unexpected answer, for the log. */
  error_sample?: string;
}

/** Pids of every workerd under this process (never another user's or worktree's workerd). */
function workerdPids(): number[] {
  const parent = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
      parent.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = parent.get(pid), hops = 0; p !== undefined && p > 1 && hops < 32; p = parent.get(p), hops++) if (p === process.pid) return true;
    return false;
  };
  return [...names].filter(([pid, name]) => name.startsWith('workerd') && ours(pid)).map(([pid]) => pid);
}

function cpuTicks(pids: readonly number[]): number {
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

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/**
 * Requests of a case sent before it is measured, answers read and not counted: the first requests of a
 * route in an isolate compile its code (V8's baseline and optimising tiers), once per isolate, which is
 * not what a request of that route costs afterwards. Without them the first case of a run carried the
 * compilation of the code paths it was the first to use.
 */
const WARMUP_REQUESTS = 3;
/** Warm-up requests get indices of their own, so they never repeat a measured request's input. */
const WARMUP_INDEX = 1_000_000;

async function measure(stack: Stack, pids: readonly number[], profiler: IsolateProfiler | null, c: Case, concurrency: number): Promise<Result> {
  const maxRequests = Math.max(4, Math.round(c.requests * SCALE * (concurrency > 1 ? 2 : 1)));
  for (let w = 0; w < WARMUP_REQUESTS; w++) {
    try {
      await (await c.request(WARMUP_INDEX + w)).arrayBuffer();
    } catch {
      // A warm-up that fails is not counted either; the measured requests report errors.
    }
  }
  await profiler?.start();
  const ticks0 = cpuTicks(pids);
  const backend0 = await backendRequests(stack);
  const latencies: number[] = [];
  let errors = 0;
  let errorSample: string | undefined;
  let issued = 0;
  const deadline = performance.now() + c.seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < maxRequests && performance.now() < deadline) {
        const i = issued++;
        const t0 = performance.now();
        try {
          const response = await c.request(i);
          const body = await response.arrayBuffer();
          latencies.push(performance.now() - t0);
          if (response.status !== (c.expectedStatus ?? 200)) {
            errors++;
            errorSample ??= `${response.status} ${new TextDecoder().decode(body.slice(0, 300))}`;
          }
        } catch (err) {
          // A connection the local runtime dropped: counted, and the run goes on.
          latencies.push(performance.now() - t0);
          errors++;
          errorSample ??= `no answer: ${err instanceof Error ? `${err.message} (${String((err.cause as Error | undefined)?.message)})` : String(err)}`;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const ticks = cpuTicks(pids) - ticks0;
  const profile = profiler === null ? null : await profiler.stop();
  if (profiler !== null && profile === null) console.warn(`${c.name} (c=${concurrency}): the worker restarted during the run; no isolate profile`);
  const isolate = profile === null ? null : isolateCpu(profile);
  const backendCalls = (await backendRequests(stack)) - backend0;
  latencies.sort((a, b) => a - b);
  return {
    name: c.name,
    concurrency,
    requests: latencies.length,
    rps: latencies.length / seconds,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    backend_calls_per_request: backendCalls / latencies.length,
    worker_cpu_ms_per_request: ((ticks / CLK_TCK) * 1000) / latencies.length,
    floor_cpu_ms_per_request: null,
    excess_cpu_ms_per_request: null,
    isolate_cpu_ms_per_request: isolate === null ? null : isolate.total / latencies.length,
    isolate_program_ms_per_request: isolate === null ? null : isolate.program / latencies.length,
    isolate_floor_ms_per_request: null,
    isolate_excess_ms_per_request: null,
    errors,
    ...(errorSample === undefined ? {} : { error_sample: errorSample }),
  };
}

const inspectorPort = args['process-only'] ? undefined : await freePort();
const bench = await startEdgeBench(inspectorPort === undefined ? {} : { workerInspectorPort: inspectorPort });
const { stack, floor } = bench;
const only = args.only ?? [];
const cases = bench.cases.filter((c) => only.length === 0 || only.some((o) => c.name.includes(o)));
const loadBefore = loadavg();
try {
  const pids = workerdPids();
  if (pids.length === 0) throw new Error('no workerd process under this one: cannot measure the worker');
  const profiler = inspectorPort === undefined ? null : new IsolateProfiler(inspectorPort);
  const results: Result[] = [];
  for (const concurrency of [1, 8]) {
    let before = await measure(stack, pids, profiler, floor, concurrency);
    results.push(before);
    for (const c of cases) {
      const result = await measure(stack, pids, profiler, c, concurrency);
      const after = await measure(stack, pids, profiler, floor, concurrency);
      const floorCpu = (before.worker_cpu_ms_per_request + after.worker_cpu_ms_per_request) / 2;
      result.floor_cpu_ms_per_request = floorCpu;
      result.excess_cpu_ms_per_request = result.worker_cpu_ms_per_request - floorCpu;
      if (result.isolate_cpu_ms_per_request !== null && before.isolate_cpu_ms_per_request !== null && after.isolate_cpu_ms_per_request !== null) {
        const isolateFloor = (before.isolate_cpu_ms_per_request + after.isolate_cpu_ms_per_request) / 2;
        result.isolate_floor_ms_per_request = isolateFloor;
        result.isolate_excess_ms_per_request = result.isolate_cpu_ms_per_request - isolateFloor;
      }
      results.push(result, after);
      before = after;
    }
  }
  profiler?.close();
  const loadAfter = loadavg();

  const fmt = (n: number | null) => (n === null ? '' : n.toFixed(2));
  const floors = results.filter((r) => r.excess_cpu_ms_per_request === null);
  console.log('\nedge CPU per request (local Workers runtime, backend on CPU with test models)');
  console.log('process: user+system CPU of the workerd processes (/proc): the worker, Miniflare\'s KV and R2 simulators, the local proxy, body plumbing');
  if (profiler !== null) console.log('isolate: the worker isolate\'s own CPU from V8 profile samples (JS, GC, native calls in the isolate lock): what Cloudflare bills; the target is judged on it');
  console.log(`loadavg before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')} (${process.env.COYO_BENCH_NOTE ?? 'shared machine'})`);
  for (const concurrency of [1, 8]) {
    const f = floors.filter((r) => r.concurrency === concurrency);
    console.log(`floor (authenticated 404) at concurrency ${concurrency}, process: ${f.map((r) => r.worker_cpu_ms_per_request.toFixed(2)).join(' ')} ms/req`);
    if (profiler !== null) console.log(`  isolate: ${f.map((r) => fmt(r.isolate_cpu_ms_per_request)).join(' ')} ms/req`);
  }
  console.table(
    results
      .filter((r) => r.excess_cpu_ms_per_request !== null)
      .map((r) => ({
        case: r.name,
        conc: r.concurrency,
        n: r.requests,
        'req/s': r.rps.toFixed(1),
        'p50 ms': r.p50_ms.toFixed(1),
        'backend calls/req': r.backend_calls_per_request.toFixed(2),
        'process ms/req': fmt(r.worker_cpu_ms_per_request),
        'process floor': fmt(r.floor_cpu_ms_per_request),
        'process over floor': fmt(r.excess_cpu_ms_per_request),
        ...(profiler === null
          ? {}
          : {
              'isolate ms/req': fmt(r.isolate_cpu_ms_per_request),
              'isolate floor': fmt(r.isolate_floor_ms_per_request),
              'ISOLATE OVER FLOOR': fmt(r.isolate_excess_ms_per_request),
            }),
        errors: r.errors,
      })),
  );
  for (const r of results) if (r.error_sample !== undefined) console.warn(`${r.name} (c=${r.concurrency}): ${r.errors} unexpected answers, e.g. ${r.error_sample}`);
  mkdirSync(join(REPO_ROOT, 'bench-results'), { recursive: true });
  writeFileSync(
    join(REPO_ROOT, 'bench-results', 'edge.json'),
    `${JSON.stringify({ date: new Date().toISOString(), loadavg_before: loadBefore, loadavg_after: loadAfter, image_bytes: bench.imageBytes, results }, null, 2)}\n`,
  );
} finally {
  await bench.stop();
}
