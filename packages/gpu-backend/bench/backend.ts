/**
 * `pnpm bench:backend` (or `pnpm --filter @coyo/gpu-backend bench`): throughput and latency of the real
 * backend process under a bounded closed-loop load, with dynamic batching on and with MAX_BATCH_SIZE=1, for
 * text embeddings (ALIGN's BERT tower) and ViT classification, beside a per-request transformers.js server
 * over the same ViT folder. Prints a table and writes JSON (default <repo>/bench-results/backend.json).
 * Loopback only; every run is bounded in time and in requests. Never part of the test suite.
 *
 * Options:
 *   --faithful            architecture-faithful random-weight models of real size (<repo>/models-bench,
 *                         generated when missing) instead of the tiny test models (<repo>/models)
 *   --models <dir>        another models folder
 *   --workloads <list>    comma-separated: text, vit, image (default text,vit)
 *   --concurrency <list>  e.g. 1,8,32,128 (default: that for test models; fewer for faithful ViT on a CPU)
 *   --duration <s>        seconds per measurement (default 5; 10 with --faithful)
 *   --max-batch-size <n>  MAX_BATCH_SIZE of the batching runs (default: the server's default)
 *   --device <d>          COYO_DEVICE for the server and device of the peer: cpu (default), cuda, webgpu, auto
 *                         (the peer has no WebGPU path here: with webgpu it runs on the CPU, and says so)
 *   --server-env K=V      extra environment for the backend (repeatable), e.g. ORT_INTRA_OP_THREADS=1
 *   --no-peer             skip the transformers.js peer
 *   --client-nice <n>     run the load generator at nice n (1–19) and the servers at this process's
 *                         own priority, so the generator takes less CPU from the server it measures,
 *                         as remote clients would (needs the right to lower a nice value: root or
 *                         CAP_SYS_NICE); default 0, everything at one priority
 *   --client <c>          the load generator's HTTP client: raw (default; keep-alive node:net sockets, each
 *                         request one prebuilt buffer, only the status line, framing and timing headers of
 *                         the answer parsed: a fraction of fetch's CPU per request) or fetch (Node's undici)
 *   --processes <list>    replica rows: text at concurrency --replica-concurrency through one server
 *                         started with each COYO_HTTP_PROCESSES of the list (default 1,2), printing
 *                         requests/s and the server's CPU ms per request (all its processes and threads)
 *   --replica-concurrency <n>  concurrency of the replica rows (default 32)
 *   --replica-rounds <n>  rounds of the replica rows (default 3): every server is started first, then each
 *                         measured for 0.8 × --duration per round, in turns, so load drift weighs alike;
 *                         the rows also print the load generator's own CPU per request
 *   --no-replicas         skip the replica rows
 *   --no-cpu              skip the CPU-per-request rows: text through the backend against a bare Node
 *                         server answering the same shape (bench/text-floor-server.ts), ViT images through
 *                         the backend (whole process CPU, pre-processing included) against Pillow's decode
 *                         + resize + normalise of the same JPEGs (bench/pillow-floor.py, Debian's
 *                         python3-pil), and event-loop ms per request; subject and floor interleaved
 *   --no-batch1           skip the MAX_BATCH_SIZE=1 rows (batching on only)
 *   --cpu-only            only the CPU-per-request rows
 *   --cpu-rounds <n>      subject/floor rounds of the CPU rows (default 3)
 *   --stages              after the ViT CPU row, its stages ours beside Pillow's, CPU ms per image, each
 *                         timed one image at a time on one thread over the same JPEGs: decode, resize
 *                         (+ normalise), everything else (bench/stages.ts, pillow-floor.py --stages)
 *   --out <file>          JSON report (default bench-results/backend.json, backend-faithful.json)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, getPriority, loadavg, setPriority, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { z } from 'zod';
import { type LoadResult, type Send, runClosedLoop } from './load.js';
import { cpuRows, mainLoopSeconds, type CpuReport } from './cpu-rows.js';
import { treeCpuMs } from './process-cpu.js';
import { RawHttpClient } from './raw-http.js';
import { jpegDecoderLabel, probeJpegDecoder } from '../src/models/jpeg-native.js';
import { freePort } from '../test/free-port';

const PACKAGE_DIR = fileURLToPath(new URL('../', import.meta.url));
const REPO_ROOT = resolve(PACKAGE_DIR, '../..');

type Workload = 'text' | 'vit' | 'image';
type ServerKind = 'coyo' | 'peer';

const ArgsSchema = z.object({
  faithful: z.boolean().default(false),
  models: z.string().min(1).optional(),
  workloads: z
    .string()
    .default('text,vit')
    .transform((v) => v.split(',').map((s) => s.trim()))
    .pipe(z.array(z.enum(['text', 'vit', 'image'])).min(1)),
  concurrency: z
    .string()
    .optional()
    .transform((v) => v?.split(',').map(Number))
    .pipe(z.array(z.number().int().min(1).max(1024)).min(1).optional()),
  duration: z.coerce.number().positive().max(600).optional(),
  'max-batch-size': z.coerce.number().int().min(2).max(4096).optional(),
  device: z.enum(['cpu', 'cuda', 'webgpu', 'auto']).default('cpu'),
  'no-peer': z.boolean().default(false),
  'client-nice': z.coerce.number().int().min(0).max(19).default(0),
  client: z.enum(['raw', 'fetch']).default('raw'),
  out: z.string().min(1).optional(),
  processes: z
    .string()
    .default('1,2')
    .transform((v) => v.split(',').map(Number))
    .pipe(z.array(z.number().int().min(1).max(64)).min(1)),
  'replica-concurrency': z.coerce.number().int().min(1).max(1024).default(32),
  'replica-rounds': z.coerce.number().int().min(1).max(20).default(3),
  'no-replicas': z.boolean().default(false),
  'no-cpu': z.boolean().default(false),
  'cpu-only': z.boolean().default(false),
  'no-batch1': z.boolean().default(false),
  'cpu-rounds': z.coerce.number().int().min(1).max(20).default(3),
  stages: z.boolean().default(false),
  'server-env': z
    .array(z.string().regex(/^[A-Z][A-Z0-9_]*=.*$/, '--server-env takes NAME=value'))
    .default([])
    .transform((pairs) => Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]))),
});
type Args = z.infer<typeof ArgsSchema>;

/** What one measured cell reports. */
interface Cell extends LoadResult {
  workload: Workload;
  server: ServerKind;
  batching: string;
  /** Mean items per model run reported by the server's metrics over this cell (coyo only). */
  meanBatchSize: number | null;
}

// ---------------------------------------------------------------------------------------------------
// Request payloads
// ---------------------------------------------------------------------------------------------------

/**
 * Text workload: zero-shot label prompts, the texts the edge embeds most (one per candidate label), in
 * the Hugging Face pipeline's default template. ImageNet class names give a realistic spread of lengths
 * (about 8 to 20 tokens).
 */
async function labelPrompts(): Promise<string[]> {
  const file = fileURLToPath(new URL('../scripts/imagenet-labels.json', import.meta.url));
  const labels = z.record(z.string(), z.string()).parse(JSON.parse(await readFile(file, 'utf8')));
  return Object.values(labels).map((label) => `This is a photo of ${label.split(',')[0]}.`);
}

/** JPEGs of camera-like sizes with smooth content, generated once so every server gets the same bytes. */
async function makeImages(): Promise<Buffer[]> {
  const sizes: Array<[number, number]> = [
    [640, 480],
    [1024, 768],
    [480, 640],
    [800, 600],
  ];
  return Promise.all(
    sizes.map(([width, height], i) => {
      const raw = Buffer.alloc(width * height * 3);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const o = (y * width + x) * 3;
          raw[o] = (x * 255) / width;
          raw[o + 1] = (y * 255) / height;
          raw[o + 2] = 128 + 127 * Math.sin((x + y + i * 50) / 40);
        }
      }
      return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
    }),
  );
}

function timing(res: Response, name: string): number | undefined {
  const v = res.headers.get(name);
  return v === null ? undefined : Number(v);
}

/** The load generator's HTTP client: raw keep-alive sockets (default), or Node's `fetch`. */
type LoadClient = 'raw' | 'fetch';

/**
 * Requests of `workload`; `accept` (e.g. binary embeddings) goes on every request when given. With the
 * raw client each request is one prebuilt buffer on a keep-alive socket and only the status line, the
 * framing and the two timing headers of the answer are parsed (`raw-http.ts`).
 */
function sender(
  baseUrl: string,
  token: string | undefined,
  workload: Workload,
  images: Buffer[],
  texts: string[],
  accept?: string,
  client: LoadClient = 'raw',
): Send {
  let n = 0;
  const auth: Record<string, string> = {
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    ...(accept === undefined ? {} : { accept }),
  };
  if (client === 'raw') {
    const raw = new RawHttpClient(baseUrl, ['x-queue-time', 'x-inference-time']);
    const textHeaders = { ...auth, 'content-type': 'application/json' };
    const imageHeaders = { ...auth, 'content-type': 'image/jpeg' };
    // An image request's bytes depend only on which image it carries: built once each.
    const imageRequests =
      workload === 'text'
        ? []
        : images.map((body) =>
            raw.encode({ method: 'POST', path: workload === 'vit' ? '/v1/classify?top_k=5' : '/v1/embed/image', headers: imageHeaders, body }),
          );
    return async (signal) => {
      const i = n++;
      const request =
        workload === 'text'
          ? raw.encode({ method: 'POST', path: '/v1/embed/text', headers: textHeaders, body: JSON.stringify({ texts: [distinctText(texts, i)] }) })
          : pick(imageRequests, i);
      const res = await raw.send(request, signal);
      if (res.status !== 200) throw new Error(`${res.status}: ${res.body.toString('utf8', 0, 200)}`);
      const number = (name: string) => (res.headers[name] === undefined ? undefined : Number(res.headers[name]));
      return { items: 1, queueMs: number('x-queue-time'), inferenceMs: number('x-inference-time') };
    };
  }
  return async (signal) => {
    const i = n++;
    let res: Response;
    if (workload === 'text') {
      res = await fetch(`${baseUrl}/v1/embed/text`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ texts: [distinctText(texts, i)] }),
        signal,
      });
    } else {
      const route = workload === 'vit' ? '/v1/classify?top_k=5' : '/v1/embed/image';
      res = await fetch(`${baseUrl}${route}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'image/jpeg' },
        body: pick(images, i),
        signal,
      });
    }
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${res.status}: ${body.slice(0, 200)}`);
    return { items: 1, queueMs: timing(res, 'x-queue-time'), inferenceMs: timing(res, 'x-inference-time') };
  };
}

// ---------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------

/**
 * The `i`-th text of the workload, every one distinct: the prompts in turn, then again with the number
 * of the round appended, so that nothing the server might keep from an earlier request could answer it.
 */
function distinctText(texts: readonly string[], i: number): string {
  const round = Math.floor(i / texts.length);
  return round === 0 ? pick(texts, i) : `${pick(texts, i)} ${round}`;
}

/** The `i`-th item of a non-empty list, cycling. */
function pick<T>(list: readonly T[], i: number): T {
  const item = list[i % list.length];
  if (item === undefined) throw new Error('bug: picking from an empty list');
  return item;
}

interface Running {
  url: string;
  child: ChildProcess;
  log: string[];
}

/** The priority servers run at: this process's own, before `--client-nice` lowers it. */
const SERVER_NICE = getPriority();

/**
 * Gives every thread of `pid` the servers' priority. Linux keeps a nice value per thread and a new
 * thread takes its creator's, so the main thread is set at once (threads it starts later follow) and
 * every thread again once the server is ready.
 */
function serverPriority(pid: number, allThreads: boolean): void {
  const tids = allThreads ? readdirSync(`/proc/${pid}/task`).map(Number) : [pid];
  for (const tid of tids) {
    try {
      if (getPriority(tid) !== SERVER_NICE) setPriority(tid, SERVER_NICE);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') continue; // the thread ended
      throw new Error(`--client-nice: cannot restore the server's priority (${code ?? String(error)}); it needs root or CAP_SYS_NICE`);
    }
  }
}

/**
 * The one-file backend of the device pack (`scripts/device-pack.ts`), run with plain node in place of
 * `src/main.ts` with tsx; set by the pack's `bench:gpu` runner.
 */
const ONE_FILE_BACKEND = process.env.COYO_BENCH_BACKEND_FILE;

/** Starts `script` with tsx in this package, and waits for GET /readyz to answer 200. */
async function start(script: string, env: Record<string, string>, port: number, readyTimeoutMs: number): Promise<Running> {
  const argv = script === 'src/main.ts' && ONE_FILE_BACKEND !== undefined && ONE_FILE_BACKEND !== '' ? [ONE_FILE_BACKEND] : ['--import', 'tsx', script];
  const child = spawn(process.execPath, argv, {
    cwd: PACKAGE_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined && getPriority() !== SERVER_NICE) serverPriority(child.pid, false);
  const log: string[] = [];
  const keep = (chunk: Buffer) => {
    log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}:\n${log.slice(-20).join('\n')}`);
    try {
      const res = await fetch(`${url}/readyz`);
      await res.arrayBuffer();
      if (res.status === 200) {
        if (child.pid !== undefined && getPriority() !== SERVER_NICE) serverPriority(child.pid, true);
        return { url, child, log };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill('SIGKILL');
  throw new Error(`${script} was not ready within ${readyTimeoutMs / 1000} s:\n${log.slice(-20).join('\n')}`);
}

/** SIGTERM (the server drains), then SIGKILL if it has not exited after 60 s. */
async function stop(running: Running): Promise<void> {
  if (running.child.exitCode !== null) return;
  const exited = new Promise<void>((r) => running.child.once('exit', () => { r(); }));
  running.child.kill('SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}

/** Sum of `<name>_sum` and `<name>_count` over all label sets in a Prometheus text page. */
function histogramTotals(page: string, name: string): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (const line of page.split('\n')) {
    const m = /^(\w+)(?:\{[^}]*\})? ([0-9.eE+-]+)$/.exec(line);
    if (m?.[1] === `${name}_sum`) sum += Number(m[2]);
    if (m?.[1] === `${name}_count`) count += Number(m[2]);
  }
  return { sum, count };
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  return res.text();
}

/**
 * Waits until work abandoned by the last measurement is done: the queues are empty and one more request
 * (which queues behind any batch still running) has been answered.
 */
async function settle(url: string, send: Send): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    const page = await scrape(url).catch(() => '');
    const depth = page
      .split('\n')
      .filter((l) => l.startsWith('coyo_backend_queue_depth'))
      .reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
    if (depth === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await send(AbortSignal.timeout(300_000)).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------------
// Plan and report
// ---------------------------------------------------------------------------------------------------

interface Plan {
  modelsDir: string;
  kind: 'test' | 'faithful';
  durationMs: number;
  concurrency: (w: Workload) => number[];
  /** A measurement continues past its duration until this many answers are in (slow models). */
  minCompleted: (c: number) => number;
  maxDurationMs: number;
  readyTimeoutMs: number;
}

function plan(args: Args): Plan {
  const kind = args.faithful ? 'faithful' : 'test';
  const modelsDir = resolve(args.models ?? join(REPO_ROOT, args.faithful ? 'models-bench' : 'models'));
  const durationMs = (args.duration ?? (args.faithful ? 10 : 5)) * 1000;
  const onCpu = args.device === 'cpu';
  return {
    modelsDir,
    kind,
    durationMs,
    // On a CPU a real-size ViT-L takes ~3 s per image: 32 waiting images are minutes of work.
    concurrency: (w) => args.concurrency ?? (args.faithful && onCpu && w !== 'text' ? [1, 8] : [1, 8, 32, 128]),
    minCompleted: (c) => (args.faithful ? c : 1),
    maxDurationMs: Math.max(durationMs, args.faithful ? 120_000 : durationMs),
    readyTimeoutMs: args.faithful ? 600_000 : 120_000,
  };
}

function ensureModels(p: Plan): void {
  const marker = join(p.modelsDir, 'vit-large-patch16-384/onnx/model.onnx');
  if (existsSync(marker)) return;
  const script = p.kind === 'faithful' ? 'gen:bench-models' : 'gen:models';
  const extra = p.kind === 'faithful' ? ['--no-check'] : [];
  console.log(`no models in ${p.modelsDir}: running pnpm ${script}`);
  const run = spawnSync('pnpm', [script, '--out', p.modelsDir, ...extra], { cwd: PACKAGE_DIR, stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`pnpm ${script} failed`);
}

const fmt = (v: number | null, digits = 1): string => (v === null || Number.isNaN(v) ? '–' : v.toFixed(digits));

function printRow(c: Cell): void {
  console.log(
    [
      c.workload.padEnd(5),
      c.server.padEnd(5),
      c.batching.padEnd(9),
      String(c.concurrency).padStart(4),
      fmt(c.itemsPerSecond).padStart(9),
      fmt(c.latencyMs.p50).padStart(9),
      fmt(c.latencyMs.p99).padStart(9),
      fmt(c.meanBatchSize).padStart(7),
      fmt(c.serverQueueMs).padStart(8),
      fmt(c.serverInferenceMs).padStart(8),
      String(c.requests).padStart(6),
      String(c.errors).padStart(4),
    ].join(' '),
  );
}

const HEADER = `${'work'.padEnd(5)} ${'srv'.padEnd(5)} ${'batching'.padEnd(9)} ${'conc'.padStart(4)} ${'items/s'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'batch'.padStart(7)} ${'queue'.padStart(8)} ${'infer'.padStart(8)} ${'reqs'.padStart(6)} ${'err'.padStart(4)}`;

function ratio(cells: Cell[], a: (c: Cell) => boolean, b: (c: Cell) => boolean): number | null {
  const x = cells.find(a);
  const y = cells.find(b);
  return x && y && y.itemsPerSecond > 0 ? x.itemsPerSecond / y.itemsPerSecond : null;
}

/** One replica row: text through HTTP at one concurrency, served by `processes` HTTP processes. */
interface ReplicaCell extends LoadResult {
  processes: number;
  requestsPerSecond: number;
  /** Requests/s of each round, in order. */
  perRound: number[];
  /** User + system CPU of the whole server (primary, HTTP processes, all threads) per answered request. */
  cpuMsPerRequest: number | null;
  /** The load generator's own CPU per answered request. */
  clientCpuMsPerRequest: number | null;
  /** Main-thread (event-loop) busy time per answered request, summed over the HTTP processes. */
  loopMsPerRequest: number | null;
  meanBatchSize: number | null;
}

/** One measured round of a replica row. */
interface ReplicaRound {
  result: LoadResult;
  /** The server's CPU (all processes and threads) over the round, ms. */
  cpuMs: number;
  /** The load generator's own CPU (this process) over the round, ms. */
  clientCpuMs: number;
  runs: number;
  batched: number;
  loopSeconds: number;
}

/** A replica row from its rounds: totals over all of them; latencies are the rounds' means. */
function replicaCell(processes: number, concurrency: number, rounds: readonly ReplicaRound[]): ReplicaCell {
  const sum = (f: (r: ReplicaRound) => number) => rounds.reduce((a, r) => a + f(r), 0);
  const meanOf = (f: (r: ReplicaRound) => number) => (rounds.length > 0 ? sum(f) / rounds.length : Number.NaN);
  const answered = sum((r) => r.result.requests - r.result.errors);
  const elapsedMs = sum((r) => r.result.elapsedMs);
  const items = sum((r) => r.result.items);
  const runs = sum((r) => r.runs);
  const perRequest = (ms: number) => (answered > 0 ? ms / answered : null);
  return {
    concurrency,
    elapsedMs,
    requests: sum((r) => r.result.requests),
    items,
    errors: sum((r) => r.result.errors),
    errorSamples: rounds.flatMap((r) => r.result.errorSamples).slice(0, 5),
    itemsPerSecond: elapsedMs > 0 ? (items * 1000) / elapsedMs : 0,
    latencyMs: {
      p50: meanOf((r) => r.result.latencyMs.p50),
      p90: meanOf((r) => r.result.latencyMs.p90),
      p99: meanOf((r) => r.result.latencyMs.p99),
      max: Math.max(...rounds.map((r) => r.result.latencyMs.max)),
      mean: meanOf((r) => r.result.latencyMs.mean),
    },
    serverQueueMs: null,
    serverInferenceMs: null,
    processes,
    requestsPerSecond: elapsedMs > 0 ? (answered * 1000) / elapsedMs : 0,
    perRound: rounds.map((r) => (r.result.elapsedMs > 0 ? ((r.result.requests - r.result.errors) * 1000) / r.result.elapsedMs : 0)),
    cpuMsPerRequest: perRequest(sum((r) => r.cpuMs)),
    clientCpuMsPerRequest: perRequest(sum((r) => r.clientCpuMs)),
    loopMsPerRequest: perRequest(sum((r) => r.loopSeconds) * 1000),
    meanBatchSize: runs > 0 ? sum((r) => r.batched) / runs : null,
  };
}

/** Sum of every sample of `name` (all label sets) in a Prometheus text page. */
function total(page: string, name: string): number {
  let sum = 0;
  for (const line of page.split('\n')) {
    const m = /^(\w+)(?:\{[^}]*\})? ([0-9.eE+-]+)$/.exec(line);
    if (m?.[1] === name) sum += Number(m[2]);
  }
  return sum;
}

/** Waits until the merged /metrics reports `processes` HTTP processes ready (a lone server has no such series). */
async function allProcessesReady(url: string, processes: number, timeoutMs: number): Promise<void> {
  if (processes === 1) return;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (total(await scrape(url).catch(() => ''), 'coyo_backend_process_ready') >= processes) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not all ${processes} HTTP processes were ready within ${timeoutMs / 1000} s`);
}

const REPLICA_HEADER = `${'procs'.padStart(5)} ${'conc'.padStart(4)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'CPU ms/req'.padStart(10)} ${'loop ms/req'.padStart(11)} ${'client ms/req'.padStart(13)} ${'batch'.padStart(7)} ${'reqs'.padStart(6)} ${'err'.padStart(4)}  req/s per round`;

function printReplicaRow(c: ReplicaCell): void {
  console.log(
    [
      String(c.processes).padStart(5),
      String(c.concurrency).padStart(4),
      fmt(c.requestsPerSecond).padStart(9),
      fmt(c.latencyMs.p50).padStart(9),
      fmt(c.latencyMs.p99).padStart(9),
      fmt(c.cpuMsPerRequest, 2).padStart(10),
      fmt(c.loopMsPerRequest, 2).padStart(11),
      fmt(c.clientCpuMsPerRequest, 3).padStart(13),
      fmt(c.meanBatchSize).padStart(7),
      String(c.requests).padStart(6),
      String(c.errors).padStart(4),
      ` ${c.perRound.map((v) => fmt(v, 0)).join(' ')}`,
    ].join(' '),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    // `pnpm run x -- --flag` passes the `--` through; it only separates arguments there.
    args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--')),
    options: {
      faithful: { type: 'boolean' },
      models: { type: 'string' },
      workloads: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      'max-batch-size': { type: 'string' },
      device: { type: 'string' },
      'no-peer': { type: 'boolean' },
      'client-nice': { type: 'string' },
      client: { type: 'string' },
      out: { type: 'string' },
      processes: { type: 'string' },
      'replica-concurrency': { type: 'string' },
      'replica-rounds': { type: 'string' },
      'no-replicas': { type: 'boolean' },
      'no-cpu': { type: 'boolean' },
      'cpu-only': { type: 'boolean' },
      'no-batch1': { type: 'boolean' },
      'cpu-rounds': { type: 'string' },
      stages: { type: 'boolean' },
      'server-env': { type: 'string', multiple: true },
    },
    strict: true,
  });
  const args = ArgsSchema.parse(values);
  if (args['client-nice'] > 0) setPriority(SERVER_NICE + args['client-nice']);
  const p = plan(args);
  const out = resolve(args.out ?? join(REPO_ROOT, `bench-results/${args.faithful ? 'backend-faithful' : 'backend'}.json`));
  ensureModels(p);
  const images = await makeImages();
  const texts = await labelPrompts();
  const token = randomBytes(24).toString('hex');
  /** Our server on a free port with the bench's models, token and device; `env` adds to or overrides that. */
  const startOurs = async (env: Record<string, string>): Promise<Running> => {
    const port = await freePort();
    const base = { PORT: String(port), HOST: '127.0.0.1', MODELS_DIR: p.modelsDir, BACKEND_TOKEN: token, COYO_DEVICE: args.device, MAX_QUEUE: '4096' };
    return start('src/main.ts', { ...base, ...env }, port, p.readyTimeoutMs);
  };
  const cells: Cell[] = [];
  /** One cell's closed loop, the same for every server. */
  const measure = (send: Send, concurrency: number) =>
    runClosedLoop(send, {
      concurrency,
      durationMs: p.durationMs,
      minCompleted: p.minCompleted(concurrency),
      maxDurationMs: p.maxDurationMs,
      maxRequests: 1_000_000,
    });
  const started = new Date().toISOString();
  const loadBefore = loadavg();

  console.log(
    `models: ${p.modelsDir} (${p.kind}); device ${args.device}; ${availableParallelism()} CPUs; ${p.durationMs / 1000} s per cell; ` +
      `load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')}` +
      `; load generator: ${args.client === 'raw' ? 'raw keep-alive sockets (bench/raw-http.ts)' : 'fetch'}` +
      (args['client-nice'] > 0 ? `; load generator at nice +${args['client-nice']}` : '') +
      `; JPEG decoder ${jpegDecoderLabel(probeJpegDecoder({ ...process.env, ...args['server-env'] }).status)}`,
  );
  console.log(HEADER);

  const modes: Array<{ label: string; maxBatch: string | undefined }> = [
    { label: args['max-batch-size'] ? `on(${args['max-batch-size']})` : 'on', maxBatch: args['max-batch-size']?.toString() },
    ...(args['no-batch1'] ? [] : [{ label: 'off(1)', maxBatch: '1' }]),
  ];
  for (const mode of args['cpu-only'] ? [] : modes) {
    const server = await startOurs({
      // One process unless --server-env says otherwise; the replica rows compare 1 and 2.
      COYO_HTTP_PROCESSES: '1',
      ...args['server-env'],
      ...(mode.maxBatch !== undefined ? { MAX_BATCH_SIZE: mode.maxBatch } : {}),
    });
    try {
      for (const workload of args.workloads) {
        const send = sender(server.url, token, workload, images, texts, undefined, args.client);
        await settle(server.url, send); // also a warm-up request
        for (const concurrency of p.concurrency(workload)) {
          const before = histogramTotals(await scrape(server.url), 'coyo_backend_batch_size');
          const result = await measure(send, concurrency);
          const after = histogramTotals(await scrape(server.url), 'coyo_backend_batch_size');
          await settle(server.url, send);
          const runs = after.count - before.count;
          const cell: Cell = {
            ...result,
            workload,
            server: 'coyo',
            batching: mode.label,
            meanBatchSize: runs > 0 ? (after.sum - before.sum) / runs : null,
          };
          cells.push(cell);
          printRow(cell);
        }
      }
    } finally {
      await stop(server);
    }
  }

  let cpu: CpuReport | null = null;
  if (!args['no-cpu']) {
    cpu = await cpuRows({
      startOurs: (env) => startOurs({ COYO_HTTP_PROCESSES: '1', ...args['server-env'], ...env }),
      startFloor: async () => {
        const port = await freePort();
        return start('bench/text-floor-server.ts', { FLOOR_PORT: String(port) }, port, p.readyTimeoutMs);
      },
      stop,
      sender: (url, tok, workload, accept) => sender(url, tok, workload, images, texts, accept, args.client),
      token,
      images,
      rounds: args['cpu-rounds'],
      durationMs: Math.min(p.durationMs, 4000),
      workloads: args.workloads,
      scrape,
      stages: args.stages,
      modelsDir: p.modelsDir,
    });
  }

  const replicas: ReplicaCell[] = [];
  if (!args['no-replicas'] && !args['cpu-only'] && args.workloads.includes('text')) {
    const concurrency = args['replica-concurrency'];
    console.log(
      `\nreplica: text at concurrency ${concurrency} through HTTP, COYO_HTTP_PROCESSES = ${args.processes.join(', ')}, ` +
        `${args['replica-rounds']} rounds each, in turns; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    );
    console.log(REPLICA_HEADER);
    // Every server started first, then measured in turns, round by round, so that other load on the
    // machine, which drifts over a minute, weighs on each alike.
    const servers: Array<{ processes: number; server: Running; send: Send; rounds: Array<ReplicaRound> }> = [];
    try {
      for (const processes of args.processes) {
        const server = await startOurs({ ...args['server-env'], COYO_HTTP_PROCESSES: String(processes) });
        servers.push({ processes, server, send: sender(server.url, token, 'text', images, texts, undefined, args.client), rounds: [] });
        await allProcessesReady(server.url, processes, p.readyTimeoutMs);
      }
      // Warm-up: each process compiles its own hot paths from the share of the load it gets, so a
      // replica of N processes is warmed N times as long (with 2 s in all, its first round ran slower).
      for (const s of servers) {
        await settle(s.server.url, s.send);
        await runClosedLoop(s.send, { concurrency, durationMs: 3000 * s.processes });
      }
      const roundMs = Math.max(2000, Math.round(p.durationMs * 0.8));
      for (let r = 0; r < args['replica-rounds']; r++) {
        for (const s of servers) {
          const pid = s.server.child.pid;
          if (pid === undefined) throw new Error('the server has no pid');
          await settle(s.server.url, s.send);
          const pageBefore = await scrape(s.server.url);
          const cpuBefore = treeCpuMs(pid);
          const clientBefore = process.cpuUsage();
          const result = await runClosedLoop(s.send, { concurrency, durationMs: roundMs, maxRequests: 1_000_000 });
          const client = process.cpuUsage(clientBefore);
          const cpuAfter = treeCpuMs(pid);
          const pageAfter = await scrape(s.server.url);
          s.rounds.push({
            result,
            cpuMs: cpuAfter - cpuBefore,
            clientCpuMs: (client.user + client.system) / 1000,
            runs: total(pageAfter, 'coyo_backend_batch_size_count') - total(pageBefore, 'coyo_backend_batch_size_count'),
            batched: total(pageAfter, 'coyo_backend_batch_size_sum') - total(pageBefore, 'coyo_backend_batch_size_sum'),
            loopSeconds: mainLoopSeconds(pageAfter) - mainLoopSeconds(pageBefore),
          });
        }
      }
    } finally {
      for (const s of servers) await stop(s.server);
    }
    for (const s of servers) {
      const cell = replicaCell(s.processes, concurrency, s.rounds);
      replicas.push(cell);
      printReplicaRow(cell);
    }
    const one = replicas.find((c) => c.processes === 1);
    for (const c of replicas) {
      if (one && c !== one && one.requestsPerSecond > 0) {
        console.log(`text, ${c.processes} processes vs 1 at c=${concurrency}: ${(c.requestsPerSecond / one.requestsPerSecond).toFixed(2)}× requests/s`);
      }
    }
  }

  if (!args['no-peer'] && !args['cpu-only'] && args.workloads.includes('vit')) {
    const port = await freePort();
    const peerDevice = args.device === 'cuda' ? 'cuda' : 'cpu';
    if (args.device === 'webgpu') console.log('peer: no WebGPU path here, so it runs on the CPU beside our WebGPU rows');
    const peer = await start(
      'bench/peer-server.ts',
      { PEER_PORT: String(port), MODELS_DIR: p.modelsDir, PEER_DEVICE: peerDevice },
      port,
      p.readyTimeoutMs,
    );
    try {
      const send = sender(peer.url, undefined, 'vit', images, texts, undefined, args.client);
      await send(AbortSignal.timeout(300_000)); // the pipeline's first run allocates
      for (const concurrency of p.concurrency('vit')) {
        const result = await measure(send, concurrency);
        // Abandoned requests are skipped by the peer; one more answer means it is idle again.
        await send(AbortSignal.timeout(300_000)).catch(() => undefined);
        const cell: Cell = { ...result, workload: 'vit', server: 'peer', batching: 'none', meanBatchSize: null };
        cells.push(cell);
        printRow(cell);
      }
    } finally {
      await stop(peer);
    }
  }

  // Throughput ratios at every concurrency both sides were measured at (the targets are stated at 32).
  const isOurs = (c: Cell, w: Workload, batched: boolean) =>
    c.workload === w && c.server === 'coyo' && (c.batching === 'off(1)') !== batched;
  const levels = [...new Set(cells.map((c) => c.concurrency))].sort((a, b) => a - b);
  const ratios = (a: (c: Cell) => boolean, b: (c: Cell) => boolean) =>
    Object.fromEntries(
      levels.flatMap((n) => {
        const r = ratio(cells, (c) => a(c) && c.concurrency === n, (c) => b(c) && c.concurrency === n);
        return r === null ? [] : [[String(n), r]];
      }),
    );
  const targets = {
    textBatchingVsBatch1: ratios((c) => isOurs(c, 'text', true), (c) => isOurs(c, 'text', false)),
    vitCoyoVsPeer: ratios((c) => isOurs(c, 'vit', true), (c) => c.workload === 'vit' && c.server === 'peer'),
  };
  const show = (r: Record<string, number>) =>
    Object.entries(r)
      .map(([n, v]) => `c=${n}: ${v.toFixed(2)}×`)
      .join(', ') || '–';
  console.log(
    `\ntext, batching vs MAX_BATCH_SIZE=1 (target ≥ 1.5× at c=32): ${show(targets.textBatchingVsBatch1)}` +
      `\nvit, coyo vs transformers.js peer (target ≥ 2× at c=32): ${show(targets.vitCoyoVsPeer)}`,
  );

  const report = {
    started,
    finished: new Date().toISOString(),
    models: { kind: p.kind, dir: p.modelsDir },
    device: args.device,
    machine: { cpus: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    // 1/5/15-minute load averages before and after: other work on the machine skews every number.
    loadAverage: { before: loadBefore, after: loadavg() },
    serverEnv: args['server-env'],
    clientNice: args['client-nice'],
    durationMs: p.durationMs,
    cells,
    cpu,
    replicas,
    targets,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
