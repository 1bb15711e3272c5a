/**
 * `pnpm bench:stack`: the whole local stack (the worker in wrangler's Workers runtime, the GPU backend
 * on CPU with the test models, a COYO sample in local R2) at rising concurrency. Each step runs, one
 * after another, a floor (cold text embeddings sent straight to the backend, no edge) and the edge's
 * workloads: cold embeddings (a new text, or a new 640×480 JPEG, each time: the backend works), hot
 * embeddings (a few texts, cached at the edge) and COYO look-ups by id (R2). Per step and workload it
 * prints p50/p99, throughput, the answers by status and the refusals (429/503) with their own p50/p99,
 * and checks the failure contract: no 500/502, no hang (every request has a client deadline), every
 * 429/503/504 carrying Retry-After, and every 503 `overloaded` (the edge's admission limit,
 * `ADMISSION_MAX_IN_FLIGHT`, shedding what is above saturation before reading the body) counted by the
 * limiter (its `/healthz` counts, read after each cell). Writes bench-results/stack.json. Bounded:
 * STEP_SECONDS per cell (default 6), ≈ 5 min in all; STEPS picks the concurrencies (`STEPS=16,64,128`),
 * WORKLOADS the workloads whose name contains it (`WORKLOADS=image`),
 * and ADMISSION_MAX_IN_FLIGHT / ADMISSION_MAX_BODY_BYTES, when set, are given to the worker. One workload sends everything with one key, to
 * show what happens past its rate limit.
 * Load is shared on this machine: compare workloads within one run, not across runs.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { runCliOk, WRANGLER_CONFIG } from '../coyo/cli.ts';
import { REPO_ROOT, startStack, type Stack } from '../harness/stack.ts';

const STEPS = (process.env.STEPS ?? '1,4,16,64,128').split(',').map(Number);
const STEP_SECONDS = Number(process.env.STEP_SECONDS ?? '6');
/** Only the workloads whose name contains this text (default: all). */
const ONLY = process.env.WORKLOADS;
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
  /** 503 answers by problem type (`overloaded`: the edge's admission limit; `backend_unavailable`, …). */
  by_503_type: Record<string, number>;
  /** 429/503/504 answers without Retry-After. */
  missing_retry_after: number;
  /** p50 and p99 of the 429/503 answers alone: refusals must be fast. */
  refusal_p50_ms: number | null;
  refusal_p99_ms: number | null;
  /** What the edge's admission limiter counted as refused during the cell (`/healthz`), for edge cells. */
  admission_refused: number | null;
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
  const by503Type: Record<string, number> = {};
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
          const body = await res.text();
          status = String(res.status);
          if (res.status === 503) {
            // Not a problem body: keyed by its first words, so the table says who answered.
            const type = problemType(body) ?? `not a problem: ${JSON.stringify(body.slice(0, 60))}`;
            by503Type[type] = (by503Type[type] ?? 0) + 1;
          }
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
    by_503_type: by503Type,
    missing_retry_after: missingRetryAfter,
    refusal_p50_ms: refusals.length > 0 ? percentile(refusals, 50) : null,
    refusal_p99_ms: refusals.length > 0 ? percentile(refusals, 99) : null,
    admission_refused: null,
    hangs,
  };
}

/** The slug of a problem+json body (`overloaded`), or undefined when the body is not one. */
function problemType(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const type = typeof parsed === 'object' && parsed !== null && 'type' in parsed ? parsed.type : undefined;
    return typeof type === 'string' ? type.slice(type.lastIndexOf('/') + 1) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A 640×480 camera-like JPEG and variants of it: a comment segment naming `n` after the start-of-image
 * marker makes other bytes (another content key: a cache miss) without re-encoding, still a valid JPEG.
 */
async function jpegVariants(): Promise<(n: number) => Buffer> {
  const width = 640;
  const height = 480;
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 31 + (i >> 7)) & 255;
  const jpeg = await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
  return (n) => {
    const text = Buffer.from(`bench ${String(n)}`);
    const segment = Buffer.alloc(4 + text.length);
    segment.writeUInt16BE(0xfffe, 0);
    segment.writeUInt16BE(2 + text.length, 2);
    text.copy(segment, 4);
    return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
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
// ADMISSION_MAX_IN_FLIGHT / ADMISSION_MAX_BODY_BYTES in the environment are passed to the worker, to size them.
const workerVars = Object.fromEntries(
  ['ADMISSION_MAX_IN_FLIGHT', 'ADMISSION_MAX_BODY_BYTES'].flatMap((name) => {
    const value = process.env[name];
    return value === undefined ? [] : [[name, value]];
  }),
);
const stack: Stack = await startStack({ extraKeys: 7, persistDir, workerVars });
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
  const jpeg = await jpegVariants();
  let cold = 0;
  /** The edge's admission limiter counts (`/healthz`). */
  const admission = async () => ((await (await fetch(`${stack.workerUrl}/healthz`)).json()) as { admission: { refused: number; max_in_flight: number } }).admission;
  console.log(`edge admission limit: ${String((await admission()).max_in_flight)} backend-bound requests in flight`);
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
    // The edge's cheapest answer at the same concurrency (no key: 401 before any I/O), the peer to read
    // the refusals' latency by: a closed loop that re-sends at once keeps the runtime as busy as this.
    [
      'edge floor: 401, no key',
      (signal) => fetch(`${stack.workerUrl}/v1/embeddings`, { method: 'POST', signal, headers: { 'content-type': 'application/json' }, body: '{"texts":["x"]}' }),
    ],
    ['edge embeddings, cold', (signal) => post('/v1/embeddings', { texts: [`a photo ${randomUUID()}`] }, signal)],
    ['edge image embeddings, cold', (signal) => post('/v1/embeddings', { images: [{ base64: jpeg(++cold).toString('base64') }] }, signal)],
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
    for (const [name, request] of workloads.filter(([workload]) => ONLY === undefined || workload.includes(ONLY))) {
      const floor = name.startsWith('floor');
      const refusedBefore = floor ? 0 : (await admission()).refused;
      const result = await cell(name, concurrency, STEP_SECONDS, request);
      if (!floor) result.admission_refused = (await admission()).refused - refusedBefore;
      cells.push(result);
      const refusals = result.refusal_p50_ms === null ? '' : `  refusals p50 ${result.refusal_p50_ms.toFixed(1)} / p99 ${(result.refusal_p99_ms ?? Number.NaN).toFixed(1)} ms`;
      console.log(
        `${name.padEnd(28)} c=${String(concurrency).padStart(3)}  ${result.rps.toFixed(1).padStart(7)} req/s  p50 ${result.p50_ms.toFixed(1).padStart(7)} ms  p99 ${result.p99_ms.toFixed(1).padStart(8)} ms  ${JSON.stringify(result.by_status)}${refusals}`,
      );
    }
  }
} finally {
  await stack.stop();
}

const load = loadavg();
console.log(`\nloadavg at end ${load.map((l) => l.toFixed(2)).join(' ')} (2 cores shared: read ratios within this run)\n`);
console.log('| workload | concurrency | req/s | p50 ms | p99 ms | answers by status | 429/503 p50 / p99 ms | missing Retry-After |');
console.log('|---|---:|---:|---:|---:|---|---:|---:|');
const fixed = (ms: number | null) => (ms === null ? '–' : ms.toFixed(1));
for (const c of cells) {
  const statuses = Object.entries(c.by_status)
    .map(([s, n]) => (s === '503' ? `503: ${String(n)} (${Object.entries(c.by_503_type).map(([t, k]) => `${t} ${String(k)}`).join(', ')})` : `${s}: ${String(n)}`))
    .join(', ');
  console.log(
    `| ${c.workload} | ${String(c.concurrency)} | ${c.rps.toFixed(1)} | ${c.p50_ms.toFixed(1)} | ${c.p99_ms.toFixed(1)} | ${statuses} | ${c.refusal_p50_ms === null ? '–' : `${fixed(c.refusal_p50_ms)} / ${fixed(c.refusal_p99_ms)}`} | ${String(c.missing_retry_after)} |`,
  );
}
// The contract the table must show: refusals carry Retry-After, the edge never answers 500/502, never
// hangs, and every 503 overloaded is one the admission limiter counted (no other path sends it).
const edge = cells.filter((c) => !c.workload.startsWith('floor'));
const broken = edge.filter(
  (c) =>
    c.missing_retry_after > 0 ||
    c.hangs > 0 ||
    Object.keys(c.by_status).some((s) => ['500', '502', 'conn-error'].includes(s)) ||
    (c.by_503_type.overloaded ?? 0) !== c.admission_refused,
);
const outDir = join(REPO_ROOT, 'bench-results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'stack.json'), `${JSON.stringify({ steps: STEPS, step_seconds: STEP_SECONDS, loadavg: load, cells }, null, 2)}\n`);
console.log(`\nwrote bench-results/stack.json`);
if (broken.length > 0) {
  console.log(`FAILED the contract (500/502, hang, connection error, a refusal without Retry-After, or overloaded answers the limiter did not count): ${broken.map((c) => `${c.workload} c=${c.concurrency}`).join('; ')}`);
  process.exitCode = 1;
}
