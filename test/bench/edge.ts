/**
 * `pnpm bench:edge`: the edge worker's CPU per request on every public route, against the real local
 * stack (wrangler's local Workers runtime + the GPU backend on CPU with the test models).
 *
 * CPU is the user+system time of this process's own workerd children (from /proc), divided by the
 * requests of a case. What the runtime costs every request (its proxy, request id, auth, rate limit)
 * is the floor: an authenticated request that the router answers 404. The floor is measured right
 * before every case and once more after the last one, so the machine's noise hits both; each case is
 * reported as its CPU per request minus the mean of the floors on either side of it. Inputs follow
 * the budget's terms: a camera-size JPEG (4032×3024) as JSON base64, 5 labels, one COYO id.
 *
 * Prints a table (with `os.loadavg()` before and after) and writes bench-results/edge.json.
 * `--quick` halves the request counts; `--only <substring>` runs the matching cases alone.
 * Loopback only; every loop is bounded in count and time.
 */
import { readdirSync, readFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { runCliOk, WRANGLER_CONFIG } from '../coyo/cli.ts';
import { REPO_ROOT, startStack, type Stack } from '../harness/stack.ts';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });
const SCALE = args.quick ? 0.5 : 1;

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on Linux x86-64). */
const CLK_TCK = 100;

interface Case {
  name: string;
  /** Requests per run at concurrency 1 (eight workers share twice as many at concurrency 8). */
  requests: number;
  /** Time cap of one run, in seconds. */
  seconds: number;
  expectedStatus?: number;
  /** Builds the `i`-th request of a run. */
  request: (i: number) => Promise<Response>;
}

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

async function measure(stack: Stack, pids: readonly number[], c: Case, concurrency: number): Promise<Result> {
  const maxRequests = Math.max(4, Math.round(c.requests * SCALE * (concurrency > 1 ? 2 : 1)));
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
        const response = await c.request(i);
        const body = await response.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (response.status !== (c.expectedStatus ?? 200)) {
          errors++;
          errorSample ??= `${response.status} ${new TextDecoder().decode(body.slice(0, 300))}`;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const ticks = cpuTicks(pids) - ticks0;
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
    errors,
    ...(errorSample === undefined ? {} : { error_sample: errorSample }),
  };
}

/** A smooth 4032×3024 picture with sensor-like noise: a phone camera's JPEG (about 3 MB at quality 85). */
async function cameraJpeg(): Promise<Buffer> {
  const width = 4032;
  const height = 3024;
  const raw = Buffer.alloc(width * height * 3);
  let seed = 12345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const noise = (seed >>> 24) & 15;
      const o = (y * width + x) * 3;
      raw[o] = ((x * 255) / width + noise) & 255;
      raw[o + 1] = ((y * 255) / height + noise) & 255;
      raw[o + 2] = (((x + y) * 128) / width + noise) & 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

/**
 * The same picture with a comment segment naming `n` right after the start-of-image marker: other
 * bytes (so another content key, a cache miss) at no re-encoding cost, and still a valid JPEG.
 */
function variant(jpeg: Buffer, n: number): Buffer {
  const text = Buffer.from(`bench ${n}`);
  const segment = Buffer.alloc(4 + text.length);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(2 + text.length, 2);
  text.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

// A 200,000-row COYO sample (the `pnpm dev` default) in the stack's local R2, for the COYO cases.
const persistDir = mkdtempSync(join(tmpdir(), 'coyo-bench-'));
const sampleDir = join(persistDir, 'sample');
await runCliOk(['sample', '--rows', '200000', '--out', sampleDir]);
await runCliOk(['ingest', sampleDir, '--target', 'local', '--config', WRANGLER_CONFIG, '--persist', join(persistDir, 'v3'), '--work-dir', join(persistDir, 'work'), '--progress', 'none']);
rmSync(sampleDir, { recursive: true, force: true });
// Each key may make 600 requests a minute (the "high" tier): spread the load over enough keys that the
// benchmark measures the worker, not the rate limiter.
const stack = await startStack({ extraKeys: 15, persistDir });
const loadBefore = loadavg();
try {
  let turn = 0;
  const auth = () => `Bearer ${stack.apiKeys[turn++ % stack.apiKeys.length]}`;
  const get = (path: string) => fetch(`${stack.workerUrl}${path}`, { headers: { authorization: auth() } });
  const post = (path: string, body: unknown) =>
    fetch(`${stack.workerUrl}${path}`, { method: 'POST', headers: { authorization: auth(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const labels = ['cat', 'dog', 'car', 'tree', 'people'];

  const camera = await cameraJpeg();
  const hitImage = { base64: camera.toString('base64') };
  let coldCounter = 0;
  /** A picture no request has sent before. */
  const coldImage = () => ({ base64: variant(camera, ++coldCounter).toString('base64') });
  let textCounter = 0;
  const coldTexts = () => labels.map((l) => `a photo of ${l} number ${++textCounter}`);

  // Warm every cache a "hit" case relies on (and the isolate's code paths).
  for (const [path, body] of [
    ['/v1/zero-shot', { image: hitImage, labels }],
    ['/v1/classify', { image: hitImage }],
    ['/v1/similarity', { images: [hitImage], texts: labels }],
  ] as const) {
    const res = await post(path, body);
    if (!res.ok) throw new Error(`warm-up ${path} answered ${res.status}: ${await res.text()}`);
  }

  // Ids spread over the whole dataset, so look-ups touch many row groups.
  const page = await get('/v1/coyo/filter?limit=100&min_aesthetic_score_laion_v2=6.5');
  const coyoIds = page.ok ? ((await page.json()) as { rows?: { id: number }[] }).rows?.map((r) => r.id) ?? [] : [];
  if (coyoIds.length < 20) throw new Error(`the COYO sample gave ${coyoIds.length} ids (${page.status}); the COYO cases need at least 20`);
  const idAt = (i: number) => coyoIds[i % coyoIds.length] ?? 0;
  const stats = (await (await get('/v1/coyo/stats')).json()) as { rows: number };
  let lookups = 0;

  const allCases: Case[] = [
    { name: 'zero-shot, cache hit', requests: 60, seconds: 30, request: () => post('/v1/zero-shot', { image: hitImage, labels }) },
    { name: 'zero-shot, cold image', requests: 16, seconds: 40, request: () => post('/v1/zero-shot', { image: coldImage(), labels }) },
    { name: 'classify, cache hit', requests: 60, seconds: 30, request: () => post('/v1/classify', { image: hitImage }) },
    { name: 'classify, cold image', requests: 16, seconds: 40, request: () => post('/v1/classify', { image: coldImage() }) },
    { name: 'embeddings, 5 new texts', requests: 40, seconds: 30, request: () => post('/v1/embeddings', { texts: coldTexts() }) },
    { name: 'embeddings, 1 new image', requests: 16, seconds: 40, request: () => post('/v1/embeddings', { images: [coldImage()] }) },
    { name: 'similarity, cache hit', requests: 60, seconds: 30, request: () => post('/v1/similarity', { images: [hitImage], texts: labels }) },
    { name: 'COYO by id', requests: 100, seconds: 30, request: () => get(`/v1/coyo/${idAt(lookups++)}`) },
    { name: 'COYO batch, 20 ids', requests: 60, seconds: 30, request: (i) => post('/v1/coyo/batch', { ids: Array.from({ length: 20 }, (_, j) => idAt(i * 20 + j)) }) },
    {
      name: 'COYO filter page (100)',
      requests: 40,
      seconds: 30,
      request: (i) => get(`/v1/coyo/filter?limit=100&min_aesthetic_score_laion_v2=${(5 + (i % 10) * 0.1).toFixed(1)}`),
    },
    { name: 'COYO rows page (100)', requests: 40, seconds: 30, request: (i) => get(`/v1/coyo/rows?offset=${(i * 7919) % Math.max(1, stats.rows - 100)}&length=100`) },
    { name: 'COYO export (small)', requests: 30, seconds: 30, request: () => get('/v1/coyo/export?min_aesthetic_score_laion_v2=7.9&columns=id,url,aesthetic_score_laion_v2') },
  ];
  const cases = allCases.filter((c) => args.only === undefined || c.name.includes(args.only));
  const floor: Case = { name: 'floor: authenticated 404', requests: 80, seconds: 20, expectedStatus: 404, request: () => get('/v1/nothing-here') };

  const pids = workerdPids();
  if (pids.length === 0) throw new Error('no workerd process under this one: cannot measure the worker');
  const results: Result[] = [];
  for (const concurrency of [1, 8]) {
    let before = await measure(stack, pids, floor, concurrency);
    results.push(before);
    for (const c of cases) {
      const result = await measure(stack, pids, c, concurrency);
      const after = await measure(stack, pids, floor, concurrency);
      const floorCpu = (before.worker_cpu_ms_per_request + after.worker_cpu_ms_per_request) / 2;
      result.floor_cpu_ms_per_request = floorCpu;
      result.excess_cpu_ms_per_request = result.worker_cpu_ms_per_request - floorCpu;
      results.push(result, after);
      before = after;
    }
  }
  const loadAfter = loadavg();

  const fmt = (n: number | null) => (n === null ? '' : n.toFixed(2));
  const floors = results.filter((r) => r.excess_cpu_ms_per_request === null);
  console.log('\nedge CPU per request (local Workers runtime, backend on CPU with test models)');
  console.log(`loadavg before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')} (${process.env.COYO_BENCH_NOTE ?? 'shared machine'})`);
  for (const concurrency of [1, 8]) {
    const f = floors.filter((r) => r.concurrency === concurrency).map((r) => r.worker_cpu_ms_per_request);
    console.log(`floor (authenticated 404) at concurrency ${concurrency}: ${f.map((v) => v.toFixed(2)).join(' ')} ms/req`);
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
        'CPU ms/req': fmt(r.worker_cpu_ms_per_request),
        'floor ms/req': fmt(r.floor_cpu_ms_per_request),
        'over floor ms': fmt(r.excess_cpu_ms_per_request),
        errors: r.errors,
      })),
  );
  for (const r of results) if (r.error_sample !== undefined) console.warn(`${r.name} (c=${r.concurrency}): ${r.errors} unexpected answers, e.g. ${r.error_sample}`);
  mkdirSync(join(REPO_ROOT, 'bench-results'), { recursive: true });
  writeFileSync(
    join(REPO_ROOT, 'bench-results', 'edge.json'),
    `${JSON.stringify({ date: new Date().toISOString(), loadavg_before: loadBefore, loadavg_after: loadAfter, image_bytes: camera.length, results }, null, 2)}\n`,
  );
} finally {
  await stack.stop();
}
