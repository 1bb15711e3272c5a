/**
 * The backend's Prometheus series: queue depth per tower, batch sizes, queue and inference times, refusals,
 * requests by route and status, where each answered request's time went (stage by stage), and how busy the
 * event loop is. One instance per process, passed to whoever records.
 */
import { performance } from 'node:perf_hooks';
import type { BatchObserver } from '../batching/batcher.js';
import type { ThreadLoop } from '../backend/types.js';
import { CallbackGauge, Counter, Histogram, Registry, type CounterChild, type HistogramChild } from './registry.js';
import { currentThreadId, threadCpuSeconds, threadNames } from './thread-cpu.js';

/** Label prefix of a model session's thread (`session:<tower>`). */
const SESSION_PREFIX = 'session:';

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Stage times start far below a millisecond: serialising one embedding takes tens of microseconds. */
const STAGE_BUCKETS = [0.0001, 0.00025, 0.0005, ...SECONDS_BUCKETS];

/**
 * The stages one inference request passes through, in order:
 * - `admission`: queue permit, reading the body and parsing it (JSON and its schema, or the images);
 * - `preprocess`: tokenising the texts or decoding and resizing the images (off the event loop);
 * - `queue`: waiting for a batch (the longest wait among the request's items, as `x-queue-time`);
 * - `inference`: the model runs that served it (as `x-inference-time`);
 * - `serialise`: building the JSON answer.
 */
export const STAGES = ['admission', 'preprocess', 'queue', 'inference', 'serialise'] as const;
export type Stage = (typeof STAGES)[number];

/** One answered request's stage times, in ms. */
export type StageTimes = Readonly<Record<Stage, number>>;

/** Powers of two up to and including `max`, so the largest batch has its own bucket. */
function batchBuckets(max: number): number[] {
  const buckets: number[] = [];
  for (let b = 1; b < max; b *= 2) buckets.push(b);
  buckets.push(max);
  return buckets;
}

export class BackendMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'status'>;
  readonly batchSize: Histogram<'tower'>;
  readonly queueTime: Histogram<'tower'>;
  readonly inferenceTime: Histogram<'tower'>;
  readonly rejected: Counter<'tower' | 'reason'>;
  readonly stageTime: Histogram<'route' | 'stage'>;
  readonly #queues = new Map<string, () => number>();
  /** `requests` children by route, then status: resolved once per pair, not per request. */
  readonly #requestChildren = new Map<string, Map<number, CounterChild>>();
  /** `stageTime` children by route, one per stage in {@link STAGES} order. */
  readonly #stageChildren = new Map<string, HistogramChild[]>();
  #threads: () => readonly ThreadLoop[] = () => [];
  readonly #mainTid = currentThreadId();

  constructor(options: { maxBatchSize: number }) {
    const r = this.registry;
    r.register(
      new CallbackGauge('coyo_backend_queue_depth', 'Items waiting for a batch, per model tower.', () =>
        [...this.#queues].map(([tower, depth]) => ({ labels: { tower }, value: depth() })),
      ),
    );
    this.batchSize = r.register(
      new Histogram('coyo_backend_batch_size', 'Items per model run.', ['tower'], batchBuckets(options.maxBatchSize)),
    );
    this.queueTime = r.register(
      new Histogram('coyo_backend_queue_time_seconds', 'Time an item waited for its batch.', ['tower'], SECONDS_BUCKETS),
    );
    this.inferenceTime = r.register(
      new Histogram('coyo_backend_inference_time_seconds', 'Time one model run took.', ['tower'], SECONDS_BUCKETS),
    );
    this.rejected = r.register(
      new Counter('coyo_backend_rejected_items_total', 'Items refused or dropped before running, by reason.', ['tower', 'reason']),
    );
    this.requests = r.register(
      new Counter('coyo_backend_requests_total', 'HTTP requests answered, by route and status.', ['route', 'status']),
    );
    this.stageTime = r.register(
      new Histogram(
        'coyo_backend_stage_seconds',
        'Time an answered inference request spent in each stage (admission, preprocess, queue, inference, serialise), by route.',
        ['route', 'stage'],
        STAGE_BUCKETS,
      ),
    );
    // Node's own totals since each thread started: rate(active) / (rate(active) + rate(idle)) is a loop's
    // utilisation over any window, and the main thread's rate(active) / rate(requests) its time per request.
    // Worker threads (pre-processing, sessions) are busy while they decode, tokenise or run a model.
    const loops = (): ThreadLoop[] => [{ thread: 'main', ...performance.eventLoopUtilization() }, ...this.#threads()];
    const loop = (pick: 'active' | 'idle') => () => loops().map((l) => ({ labels: { thread: l.thread }, value: l[pick] / 1000 }));
    r.register(
      new CallbackGauge(
        'coyo_backend_event_loop_active_seconds_total',
        'Time an event loop spent running callbacks (not waiting), per thread (main, preprocess:<i>, session:<tower>); its rate is the loop\'s utilisation.',
        loop('active'),
        'counter',
      ),
    );
    r.register(
      new CallbackGauge(
        'coyo_backend_thread_cpu_seconds_total',
        'User + system CPU time per thread (main, preprocess:<i>, session:<tower>, onnxruntime:<tower> for the threads a session thread started: onnxruntime\'s intra-op pool, and other for the rest of the process: libvips pools, libuv, garbage collection); Linux only.',
        () => this.#threadCpu(),
        'counter',
      ),
    );
    r.register(
      new CallbackGauge('coyo_backend_event_loop_idle_seconds_total', 'Time an event loop spent waiting, per thread.', loop('idle'), 'counter'),
    );
    r.register(
      new CallbackGauge('coyo_backend_event_loop_utilization', 'Share of time an event loop was busy since its thread started, per thread.', () =>
        loops().map((l) => ({ labels: { thread: l.thread }, value: l.active + l.idle > 0 ? l.active / (l.active + l.idle) : 0 })),
      ),
    );
  }

  /**
   * CPU seconds per thread: the main thread and every backend thread whose kernel id is known; for each
   * `session:<tower>` thread, `onnxruntime:<tower>` for the threads it started (onnxruntime's intra-op
   * pool, created while the session was: they carry the session thread's kernel name, `session-worker.ts`),
   * so a model's whole CPU is its session thread's and its pool's; then `other` for the rest of the
   * process (libvips' pool, libuv, V8's helpers, garbage collection). A pool thread's time is counted
   * while it lives: the series restarts lower if a session's pool ends.
   */
  #threadCpu(): Array<{ labels: { thread: string }; value: number }> {
    const rows: Array<{ labels: { thread: string }; value: number }> = [];
    const main = this.#mainTid === undefined ? undefined : threadCpuSeconds(this.#mainTid);
    if (main === undefined || this.#mainTid === undefined) return rows; // not Linux
    rows.push({ labels: { thread: 'main' }, value: main });
    let known = main;
    const threads = this.#threads();
    const names = threads.some((t) => t.thread.startsWith(SESSION_PREFIX)) ? threadNames() : new Map<number, string>();
    const mainName = names.get(this.#mainTid);
    for (const t of threads) {
      const seconds = t.tid === undefined ? undefined : threadCpuSeconds(t.tid);
      if (seconds === undefined || t.tid === undefined) continue;
      rows.push({ labels: { thread: t.thread }, value: seconds });
      known += seconds;
      const name = names.get(t.tid);
      // A session thread that could not name itself shares the process's name: nothing is its own then.
      if (!t.thread.startsWith(SESSION_PREFIX) || name === undefined || name === mainName) continue;
      let pool = 0;
      for (const [tid, other] of names) {
        if (other === name && tid !== t.tid) pool += threadCpuSeconds(tid) ?? 0;
      }
      rows.push({ labels: { thread: `onnxruntime:${t.thread.slice(SESSION_PREFIX.length)}` }, value: pool });
      known += pool;
    }
    const usage = process.cpuUsage();
    rows.push({ labels: { thread: 'other' }, value: Math.max(0, (usage.user + usage.system) / 1e6 - known) });
    return rows;
  }

  /** Adds the backend's own threads to the event-loop series. */
  trackThreads(threads: () => readonly ThreadLoop[]): void {
    this.#threads = threads;
  }

  /** Counts one answered HTTP request (`requests`), by route and status. */
  countRequest(route: string, status: number): void {
    let byStatus = this.#requestChildren.get(route);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.#requestChildren.set(route, byStatus);
    }
    let child = byStatus.get(status);
    if (child === undefined) {
      child = this.requests.child({ route, status: String(status) });
      byStatus.set(status, child);
    }
    child.inc();
  }

  /** Records where one answered request of `route` spent its time. */
  observeStages(route: string, times: StageTimes): void {
    let children = this.#stageChildren.get(route);
    if (children === undefined) {
      children = STAGES.map((stage) => this.stageTime.child({ route, stage }));
      this.#stageChildren.set(route, children);
    }
    for (let i = 0; i < STAGES.length; i++) (children[i] as HistogramChild).observe(Math.max(0, times[STAGES[i] as Stage]) / 1000);
  }

  /** Reports a tower's queue depth at every scrape. */
  trackQueue(tower: string, depth: () => number): void {
    this.#queues.set(tower, depth);
  }

  /** Feeds one tower's batch statistics into the histograms (series resolved once: a batch builds no label key). */
  observerFor(tower: string): BatchObserver {
    const batchSize = this.batchSize.child({ tower });
    const inferenceTime = this.inferenceTime.child({ tower });
    const queueTime = this.queueTime.child({ tower });
    return {
      batch: ({ size, queueMs, inferenceMs }) => {
        batchSize.observe(size);
        inferenceTime.observe(inferenceMs / 1000);
        for (const ms of queueMs) queueTime.observe(ms / 1000);
      },
      rejected: (reason, items) => {
        if (items > 0) this.rejected.inc({ tower, reason }, items);
      },
    };
  }

  render(): string {
    return this.registry.render();
  }
}
