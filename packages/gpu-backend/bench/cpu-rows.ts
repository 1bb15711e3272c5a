/**
 * The bench's CPU-per-request rows, each measured in one run beside its floor, subject and floor
 * interleaved round by round so that other load on the machine weighs on both alike:
 *
 * - text: user + system CPU of the whole backend (every thread) per `/v1/embed/text` request at
 *   concurrency 32, against a bare Node HTTP server answering the same shape (`text-floor-server.ts`);
 *   target ≤ 2.0×;
 * - ViT: CPU of the whole backend per `/v1/classify` image (decode, resize, normalise, model, HTTP) at
 *   concurrency 8, against Pillow's decode + resize 384 + normalise of the same JPEGs on one thread
 *   (`pillow-floor.py`, run by Debian's python3-pil); target ≤ 1.0×;
 * - event-loop ms per request of the backend's main thread, from its `/metrics`;
 * - text again with binary answers (`Accept: application/octet-stream`), beside the same JSON floor.
 *
 * With `stages`, the ViT row is followed by its stage breakdown, ours beside Pillow's (`stages.ts`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDINGS_BINARY_CONTENT_TYPE } from '@coyo/backend-protocol';
import { z } from 'zod';
import { runClosedLoop, type Send } from './load.js';
import { threadCpuDelta, threadCpuMs, treeCpuMs, type ThreadCpu } from './process-cpu.js';
import { ourStages, type StageTimes } from './stages.js';

const PILLOW_SCRIPT = fileURLToPath(new URL('./pillow-floor.py', import.meta.url));

/** Targets of the issue: ours ÷ floor. */
export const CPU_TARGETS = { text: 2.0, vit: 1.0 } as const;

interface Server {
  url: string;
  child: ChildProcess;
}

export interface CpuRowsOptions<S extends Server> {
  startOurs: (env: Record<string, string>) => Promise<S>;
  startFloor: () => Promise<S>;
  stop: (server: S) => Promise<void>;
  sender: (url: string, token: string | undefined, workload: 'text' | 'vit', accept?: string) => Send;
  token: string;
  images: readonly Buffer[];
  rounds: number;
  durationMs: number;
  workloads: readonly string[];
  scrape: (url: string) => Promise<string>;
  /** Time the ViT pre-processing stages, ours and Pillow's, after the ViT row. */
  stages: boolean;
  /** Folder holding the ViT model's preprocessor config (for the stages). */
  modelsDir: string;
}

/** One side of a row, summed over its rounds. */
export interface CpuSide {
  requests: number;
  cpuMs: number;
  cpuMsPerRequest: number | null;
  /** Per round, to show the spread. */
  perRound: number[];
}

export interface CpuRow {
  /** `threads`: text only, CPU ms per request by thread (`coyo_backend_thread_cpu_seconds_total`). */
  ours: CpuSide & { loopMsPerRequest: number | null; threads?: Record<string, number> };
  /** Text only: the same requests asking for binary embeddings (`Accept: application/octet-stream`). */
  oursBinary?: CpuSide & { loopMsPerRequest: number | null; ratio: number | null };
  floor: (CpuSide & { kind: string }) | { absent: string };
  /**
   * ViT only: the backend's CPU per image without the model's compute: its session thread (the thread
   * that calls `session.run`) and onnxruntime's pool threads that session started (`onnxruntime:vit`),
   * whose time on a GPU host is the device's; and where the whole went, per thread.
   */
  oursWithoutInference?: {
    cpuMsPerRequest: number | null;
    ratio: number | null;
    /** The CPU per image subtracted: `session:vit` and `onnxruntime:vit`. */
    inferenceMsPerRequest: number | null;
    threads: Record<string, number>;
    /** The same CPU per image by kernel thread name (/proc): `preprocess:<i>`, `session:<tower>` (with its pool), `libvips worker`, `node`. */
    threadNames: Record<string, number>;
    /** Threads named `node` other than the main thread (V8's helpers, libuv's pool, loader hooks), ms per image by kernel id, busiest first. */
    nodeThreads: Array<{ tid: number; msPerRequest: number }>;
  };
  /** ViT with `stages`: CPU ms per image of each stage, one image at a time on one thread. */
  stages?: { ours: StageTimes; pillow: StageTimes | null };
  /** ours ÷ floor CPU per request (per image), when both were measured. */
  ratio: number | null;
  target: number;
  loadAverage: number[];
}

export interface CpuReport {
  text: CpuRow | null;
  vit: CpuRow | null;
}

/** CPU seconds per thread (`coyo_backend_thread_cpu_seconds_total`) in a /metrics page, summed over processes. */
export function threadCpuSeconds(page: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of page.split('\n')) {
    const m = /^coyo_backend_thread_cpu_seconds_total\{(?:[^}]*,)?thread="([^"]+)"[^}]*\} ([0-9.eE+-]+)$/.exec(line);
    if (m?.[1] !== undefined) out.set(m[1], (out.get(m[1]) ?? 0) + Number(m[2]));
  }
  return out;
}

/** Adds each thread's CPU seconds between two /metrics pages to `into`. */
function addThreadSeconds(into: Map<string, number>, pageBefore: string, pageAfter: string): void {
  const before = threadCpuSeconds(pageBefore);
  for (const [thread, seconds] of threadCpuSeconds(pageAfter)) into.set(thread, (into.get(thread) ?? 0) + seconds - (before.get(thread) ?? 0));
}

/** Main-thread event-loop busy seconds in a /metrics page, summed over a replica's HTTP processes. */
export function mainLoopSeconds(page: string): number {
  let sum = 0;
  for (const line of page.split('\n')) {
    const m = /^coyo_backend_event_loop_active_seconds_total\{([^}]*)\} ([0-9.eE+-]+)$/.exec(line);
    if (m?.[1]?.includes('thread="main"') === true) sum += Number(m[2]);
  }
  return sum;
}

function side(perRound: Array<{ requests: number; cpuMs: number }>): CpuSide {
  const requests = perRound.reduce((a, r) => a + r.requests, 0);
  const cpuMs = perRound.reduce((a, r) => a + r.cpuMs, 0);
  return {
    requests,
    cpuMs,
    cpuMsPerRequest: requests > 0 ? cpuMs / requests : null,
    perRound: perRound.map((r) => (r.requests > 0 ? r.cpuMs / r.requests : Number.NaN)),
  };
}

/** CPU of `pid`'s tree and answered requests over one closed-loop measurement. */
async function measureCpu(pid: number, send: Send, concurrency: number, durationMs: number): Promise<{ requests: number; cpuMs: number }> {
  const before = treeCpuMs(pid);
  const result = await runClosedLoop(send, { concurrency, durationMs, maxRequests: 1_000_000 });
  const cpuMs = treeCpuMs(pid) - before;
  if (result.errors > 0) throw new Error(`CPU row: ${result.errors} errors, e.g. ${result.errorSamples[0] ?? ''}`);
  return { requests: result.requests, cpuMs };
}

/** A Python with Pillow and NumPy: Debian's first (python3-pil), then whatever `python3` is. */
export function findPillowPython(): string | undefined {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(python, ['-c', 'import PIL, numpy'], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return undefined;
}

const PillowResultSchema = z.object({ pillow: z.string(), images: z.number().int().positive(), cpuMsPerImage: z.number().positive() });

const PillowStagesSchema = z.object({
  pillow: z.string(),
  stages: z.object({ images: z.number().int().positive(), decodeMs: z.number(), resizeMs: z.number(), normaliseMs: z.number() }),
});

async function runPillow(python: string, files: string[], seconds: number): Promise<z.infer<typeof PillowResultSchema>> {
  return PillowResultSchema.parse(JSON.parse(await runPillowScript(python, [String(seconds), ...files])));
}

async function runPillowStages(python: string, files: string[], seconds: number): Promise<StageTimes> {
  return PillowStagesSchema.parse(JSON.parse(await runPillowScript(python, ['--stages', String(seconds), ...files]))).stages;
}

async function runPillowScript(python: string, args: string[]): Promise<string> {
  const child = spawn(python, [PILLOW_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`pillow-floor.py exited with ${code}: ${err.slice(-500)}`);
  return out;
}

const fmt = (v: number | null | undefined, d = 2): string => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));

/** `ours / floor`, or null when either side was not measured (or the floor is 0). */
const ratioOf = (ours: number | null, floor: number | null | undefined): number | null => (ours !== null && floor ? ours / floor : null);

const fmtRatio = (ratio: number | null): string => (ratio === null ? '–' : `${ratio.toFixed(2)}×`);

function printRow(name: string, unit: string, row: CpuRow): void {
  const floor = 'absent' in row.floor ? `absent (${row.floor.absent})` : `${fmt(row.floor.cpuMsPerRequest)} ms (${row.floor.kind}; rounds ${row.floor.perRound.map((v) => fmt(v)).join(' ')})`;
  console.log(
    `${name}: ours ${fmt(row.ours.cpuMsPerRequest)} CPU ms/${unit} (rounds ${row.ours.perRound.map((v) => fmt(v)).join(' ')}), ` +
      `event loop ${fmt(row.ours.loopMsPerRequest, 3)} ms/${unit}; floor ${floor}; ` +
      `ratio ${fmtRatio(row.ratio)} (target ≤ ${row.target.toFixed(1)}×: ${row.ratio === null ? 'not measured' : row.ratio <= row.target ? 'met' : 'MISSED'}); ` +
      `load average ${row.loadAverage.map((l) => l.toFixed(1)).join(' ')}`,
  );
}

/** Stage times of several rounds as one, weighted by images; null when there are none. */
function mergeStages(rounds: readonly StageTimes[]): StageTimes | null {
  const images = rounds.reduce((a, r) => a + r.images, 0);
  if (images === 0) return null;
  const mean = (pick: (r: StageTimes) => number) => rounds.reduce((a, r) => a + pick(r) * r.images, 0) / images;
  const withNormalise = rounds.every((r) => r.normaliseMs !== null);
  return {
    images,
    decodeMs: mean((r) => r.decodeMs),
    resizeMs: mean((r) => r.resizeMs),
    normaliseMs: withNormalise ? mean((r) => r.normaliseMs ?? 0) : null,
  };
}

/**
 * The ViT stage table: decode, resize (+ normalise), and everything else (the row's whole CPU per image
 * less the stages: HTTP, thread hand-offs, garbage collection, the model; for Pillow, Python's own).
 */
function printStages(stages: { ours: StageTimes; pillow: StageTimes | null }, row: CpuRow): void {
  const { ours, pillow } = stages;
  const floorWhole = 'absent' in row.floor ? null : row.floor.cpuMsPerRequest;
  const oursResize = ours.resizeMs + (ours.normaliseMs ?? 0);
  const pillowResize = pillow === null ? null : pillow.resizeMs + (pillow.normaliseMs ?? 0);
  const oursElse = row.ours.cpuMsPerRequest === null ? null : row.ours.cpuMsPerRequest - ours.decodeMs - oursResize;
  const pillowElse = floorWhole === null || pillow === null || pillowResize === null ? null : floorWhole - pillow.decodeMs - pillowResize;
  const line = (stage: string, a: number | null, b: number | null, note = ''): void => {
    console.log(`  ${stage.padEnd(31)} ${fmt(a).padStart(7)} ${fmt(b).padStart(7)} ${fmtRatio(ratioOf(a, b)).padStart(7)}${note}`);
  };
  console.log(
    `vit stages, CPU ms per image, one image at a time on one thread over the same JPEGs (ours ${ours.images} images, ` +
      `Pillow ${pillow?.images ?? '–'}); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );
  console.log(`  ${'stage'.padEnd(31)} ${'ours'.padStart(7)} ${'Pillow'.padStart(7)} ${'ratio'.padStart(7)}`);
  line('decode', ours.decodeMs, pillow?.decodeMs ?? null);
  line('resize + normalise', oursResize, pillowResize, pillow === null ? '' : `   (Pillow: resize ${fmt(pillow.resizeMs)}, NumPy normalise ${fmt(pillow.normaliseMs)})`);
  line('everything else (row − stages)', oursElse, pillowElse);
  line('whole (the vit c=8 row)', row.ours.cpuMsPerRequest, floorWhole);
}

/** Measures the CPU rows and prints them. */
export async function cpuRows<S extends Server>(o: CpuRowsOptions<S>): Promise<CpuReport> {
  const report: CpuReport = { text: null, vit: null };
  console.log(`\nCPU per request, subject and floor interleaved over ${o.rounds} rounds of ${o.durationMs / 1000} s; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

  if (o.workloads.includes('text')) {
    const ours = await o.startOurs({});
    const floor = await o.startFloor();
    try {
      const oursPid = ours.child.pid;
      const floorPid = floor.child.pid;
      if (oursPid === undefined || floorPid === undefined) throw new Error('a server has no pid');
      const sendOurs = o.sender(ours.url, o.token, 'text');
      const sendBinary = o.sender(ours.url, o.token, 'text', EMBEDDINGS_BINARY_CONTENT_TYPE);
      const sendFloor = o.sender(floor.url, undefined, 'text');
      // Warm both up (JIT, batcher shapes, both answer formats) outside the measured rounds: with 1 s the
      // first round still ran partly unoptimised code, and with 2 s (at a load average of 9–11) ours still
      // read 1.4–1.7× its later rounds in the first, so both sides get 4 s.
      await runClosedLoop(sendOurs, { concurrency: 32, durationMs: 4000 });
      await runClosedLoop(sendBinary, { concurrency: 32, durationMs: 2000 });
      await runClosedLoop(sendFloor, { concurrency: 32, durationMs: 4000 });
      const oursRounds: Array<{ requests: number; cpuMs: number }> = [];
      const floorRounds: Array<{ requests: number; cpuMs: number }> = [];
      const binaryRounds: Array<{ requests: number; cpuMs: number }> = [];
      let loopSeconds = 0;
      let binaryLoopSeconds = 0;
      const threadSeconds = new Map<string, number>();
      for (let r = 0; r < o.rounds; r++) {
        floorRounds.push(await measureCpu(floorPid, sendFloor, 32, o.durationMs));
        let pageBefore = await o.scrape(ours.url);
        oursRounds.push(await measureCpu(oursPid, sendOurs, 32, o.durationMs));
        const pageAfter = await o.scrape(ours.url);
        loopSeconds += mainLoopSeconds(pageAfter) - mainLoopSeconds(pageBefore);
        addThreadSeconds(threadSeconds, pageBefore, pageAfter);
        pageBefore = await o.scrape(ours.url);
        binaryRounds.push(await measureCpu(oursPid, sendBinary, 32, o.durationMs));
        binaryLoopSeconds += mainLoopSeconds(await o.scrape(ours.url)) - mainLoopSeconds(pageBefore);
      }
      const oursSide = side(oursRounds);
      const floorSide = side(floorRounds);
      const binarySide = side(binaryRounds);
      const perRequest = (seconds: number) => (oursSide.requests > 0 ? (seconds * 1000) / oursSide.requests : Number.NaN);
      report.text = {
        ours: {
          ...oursSide,
          loopMsPerRequest: oursSide.requests > 0 ? (loopSeconds * 1000) / oursSide.requests : null,
          threads: Object.fromEntries([...threadSeconds].map(([thread, seconds]) => [thread, perRequest(seconds)])),
        },
        oursBinary: {
          ...binarySide,
          loopMsPerRequest: binarySide.requests > 0 ? (binaryLoopSeconds * 1000) / binarySide.requests : null,
          ratio: ratioOf(binarySide.cpuMsPerRequest, floorSide.cpuMsPerRequest),
        },
        floor: { ...floorSide, kind: 'bare node:http, same JSON in and out' },
        ratio: ratioOf(oursSide.cpuMsPerRequest, floorSide.cpuMsPerRequest),
        target: CPU_TARGETS.text,
        loadAverage: loadavg(),
      };
      printRow('text c=32', 'request', report.text);
      console.log(`text c=32, JSON answers, per thread, CPU ms/request: ${Object.entries(report.text.ours.threads ?? {}).map(([t, ms]) => `${t} ${fmt(ms, 3)}`).join(', ')}`);
      const b = report.text.oursBinary;
      if (b) {
        console.log(
          `text c=32, binary answers (Accept: ${EMBEDDINGS_BINARY_CONTENT_TYPE}): ours ${fmt(b.cpuMsPerRequest)} CPU ms/request ` +
            `(rounds ${b.perRound.map((v) => fmt(v)).join(' ')}), event loop ${fmt(b.loopMsPerRequest, 3)} ms/request; ` +
            `ratio to the JSON floor ${fmtRatio(b.ratio)}`,
        );
      }
    } finally {
      await o.stop(floor);
      await o.stop(ours);
    }
  }

  if (o.workloads.includes('vit')) {
    const python = findPillowPython();
    const dir = await mkdtemp(join(tmpdir(), 'coyo-bench-jpeg-'));
    const files = await Promise.all(
      o.images.map(async (bytes, i) => {
        const file = join(dir, `${i}.jpg`);
        await writeFile(file, bytes);
        return file;
      }),
    );
    const ours = await o.startOurs({});
    try {
      const pid = ours.child.pid;
      if (pid === undefined) throw new Error('the server has no pid');
      const send = o.sender(ours.url, o.token, 'vit');
      await runClosedLoop(send, { concurrency: 8, durationMs: 2000 });
      const oursRounds: Array<{ requests: number; cpuMs: number }> = [];
      const floorRounds: Array<{ requests: number; cpuMs: number }> = [];
      let loopSeconds = 0;
      const threadSeconds = new Map<string, number>();
      const threadMs = new Map<number, ThreadCpu>();
      // With `stages`, each round also times the stages of both sides next to their whole, so that the
      // load the machine carries weighs on a side's stages as on its whole.
      const ourStageRounds: StageTimes[] = [];
      const pillowStageRounds: StageTimes[] = [];
      for (let r = 0; r < o.rounds; r++) {
        if (python !== undefined) {
          const pillow = await runPillow(python, files, o.durationMs / 1000);
          floorRounds.push({ requests: pillow.images, cpuMs: pillow.cpuMsPerImage * pillow.images });
          if (o.stages) pillowStageRounds.push(await runPillowStages(python, files, o.durationMs / 2000));
        }
        const pageBefore = await o.scrape(ours.url);
        const threadsBefore = threadCpuMs(pid);
        oursRounds.push(await measureCpu(pid, send, 8, o.durationMs));
        for (const [tid, { name, ms }] of threadCpuDelta(threadsBefore, threadCpuMs(pid))) {
          threadMs.set(tid, { name, ms: (threadMs.get(tid)?.ms ?? 0) + ms });
        }
        const pageAfter = await o.scrape(ours.url);
        if (o.stages) ourStageRounds.push(await ourStages(o.images, o.modelsDir, o.durationMs / 2));
        loopSeconds += mainLoopSeconds(pageAfter) - mainLoopSeconds(pageBefore);
        addThreadSeconds(threadSeconds, pageBefore, pageAfter);
      }
      const oursSide = side(oursRounds);
      const floorSide = python === undefined ? undefined : side(floorRounds);
      const version = python === undefined ? '' : (await runPillow(python, files.slice(0, 1), 0)).pillow;
      const perImage = (seconds: number) => (oursSide.requests > 0 ? (seconds * 1000) / oursSide.requests : Number.NaN);
      // The model's compute: its session thread and the onnxruntime pool it started, each measured by the
      // server per thread (absent where threads cannot be named: then the row is not printed as exact).
      const sessionSeconds = threadSeconds.get('session:vit');
      const poolSeconds = threadSeconds.get('onnxruntime:vit');
      const inferenceMs = sessionSeconds === undefined || poolSeconds === undefined ? null : perImage(sessionSeconds + poolSeconds);
      const withoutMs = inferenceMs === null || oursSide.cpuMsPerRequest === null ? null : oursSide.cpuMsPerRequest - inferenceMs;
      const byName = new Map<string, number>();
      for (const { name, ms } of threadMs.values()) byName.set(name, (byName.get(name) ?? 0) + ms);
      const nodeThreads = [...threadMs]
        .filter(([tid, { name }]) => name === 'node' && tid !== pid)
        .map(([tid, { ms }]) => ({ tid, msPerRequest: perImage(ms / 1000) }))
        .sort((a, b) => b.msPerRequest - a.msPerRequest);
      report.vit = {
        ours: { ...oursSide, loopMsPerRequest: oursSide.requests > 0 ? (loopSeconds * 1000) / oursSide.requests : null },
        oursWithoutInference: {
          cpuMsPerRequest: withoutMs,
          ratio: ratioOf(withoutMs, floorSide?.cpuMsPerRequest),
          inferenceMsPerRequest: inferenceMs,
          threads: Object.fromEntries([...threadSeconds].map(([thread, seconds]) => [thread, perImage(seconds)])),
          threadNames: Object.fromEntries([...byName].map(([name, ms]) => [name, perImage(ms / 1000)])),
          nodeThreads,
        },
        floor:
          floorSide === undefined
            ? { absent: 'no python3 with Pillow and NumPy: apt-get install python3-pil python3-numpy' }
            : { ...floorSide, kind: `Pillow ${version} decode + resize 384 + normalise, one thread` },
        ratio: ratioOf(oursSide.cpuMsPerRequest, floorSide?.cpuMsPerRequest),
        target: CPU_TARGETS.vit,
        loadAverage: loadavg(),
      };
      printRow('vit c=8', 'image', report.vit);
      const w = report.vit.oursWithoutInference;
      if (w) {
        console.log(
          `vit c=8 without the model: ours ${fmt(w.cpuMsPerRequest)} CPU ms/image, the whole less the model's compute ` +
            `(${fmt(w.inferenceMsPerRequest)} ms/image: the ViT session thread, which calls session.run, and the onnxruntime ` +
            `pool threads its session started, "onnxruntime:vit"; a GPU host spends that on the device); ratio to Pillow ` +
            fmtRatio(w.ratio),
        );
        console.log(`vit c=8, per thread, CPU ms/image: ${Object.entries(w.threads).map(([t, ms]) => `${t} ${fmt(ms)}`).join(', ')}`);
        console.log(
          'vit c=8, by kernel thread name (a thread started by a backend thread carries its name; "node" is the main ' +
            'thread, V8\'s helpers, libuv\'s pool and loader-hook threads), CPU ms/image: ' +
            Object.entries(w.threadNames).map(([t, ms]) => `${t} ${fmt(ms)}`).join(', ') +
            '; "node" threads other than main, by kernel id: ' +
            (w.nodeThreads.filter((t) => t.msPerRequest >= 0.005).map((t) => `${t.tid} ${fmt(t.msPerRequest)}`).join(', ') || 'none busy'),
        );
      }
      if (o.stages) {
        const ourStagesAll = mergeStages(ourStageRounds);
        if (ourStagesAll === null) throw new Error('bug: no stage rounds');
        const stages = { ours: ourStagesAll, pillow: mergeStages(pillowStageRounds) };
        report.vit.stages = stages;
        printStages(stages, report.vit);
      }
    } finally {
      await o.stop(ours);
      await rm(dir, { recursive: true, force: true });
    }
  }
  return report;
}
