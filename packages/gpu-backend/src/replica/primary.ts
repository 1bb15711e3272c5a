/**
 * A replica of N HTTP processes sharing one port (`COYO_HTTP_PROCESSES`, node:cluster): the primary
 * forks them, each loads its own sessions on the same device (Triton's instance groups) and batches its
 * own requests; the primary hands accepted connections to them in turn, and serves nothing itself.
 *
 * - `/metrics`: whichever process a scrape reaches asks the primary, which collects every process's page,
 *   labels each sample with `process="<slot>"` and returns them merged, with the primary's own series
 *   (readiness and restarts per slot). Sum over `process` for the replica.
 * - `/healthz`, `/readyz`: each process answers for itself. At start all processes listen at once (503
 *   while loading, as one process does); a process started again after one exited listens only once its
 *   sessions are warm, so it never takes connections it would answer 503.
 * - SIGTERM or SIGINT: every process drains as a lone server does; the primary exits once all have (0, or
 *   1 when any exited non-zero).
 * - A process that exits (crash, dead session thread) is started again after a back-off that doubles per
 *   failure in a row (0.5 s … 30 s) and resets once a process has served for a minute. A process of the
 *   first generation that exits before it was ever ready means start-up failed: the replica stops, exit 1.
 */
import cluster, { type Worker } from 'node:cluster';
import { CallbackGauge, Counter, Registry } from '../metrics/registry.js';
import type { Logger } from '../metrics/logger.js';
import { addLabel, mergeExpositions } from './exposition.js';
import { CHILD_ENV, ChildMessageSchema, type PrimaryMessage } from './messages.js';

/** Restart back-off: first delay, ceiling, and how long a process must serve to reset it (all ms). */
export interface Backoff {
  initialMs: number;
  maxMs: number;
  stableMs: number;
}

const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000, stableMs: 60_000 };

/** How long a scrape waits for every process's metrics before answering with those that came. */
const COLLECT_TIMEOUT_MS = 2_000;

/** The delay before starting a slot's process again after `failures` exits in a row (1, 2, …). */
export function restartDelayMs(failures: number, backoff: Backoff = DEFAULT_BACKOFF): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, failures - 1));
}

interface Slot {
  index: number;
  worker: Worker | undefined;
  pid: number | undefined;
  /** Listening on the port (so it answers collections: its handler is in place before it listens). */
  listening: boolean;
  ready: boolean;
  everReady: boolean;
  /** Processes started in this slot after the first. */
  generation: number;
  readyAt: number | undefined;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

export interface PrimaryOptions {
  processes: number;
  logger: Logger;
  backoff?: Backoff;
}

export function runPrimary({ processes, logger, backoff = DEFAULT_BACKOFF }: PrimaryOptions): void {
  // Round-robin: the primary accepts and hands each connection to the next process, so connections are
  // shared evenly (the operating system's choice favours whichever process is already awake).
  cluster.schedulingPolicy = cluster.SCHED_RR;
  const slots: Slot[] = Array.from({ length: processes }, (_, index) => ({
    index,
    worker: undefined,
    pid: undefined,
    listening: false,
    ready: false,
    everReady: false,
    generation: 0,
    readyAt: undefined,
    failures: 0,
    timer: undefined,
  }));

  const registry = new Registry();
  registry.register(
    new CallbackGauge('coyo_backend_process_ready', 'Whether the HTTP process in each slot is ready (1) or loading or gone (0); pid names it.', () =>
      slots.map((s) => ({ labels: { process: String(s.index), pid: String(s.pid ?? '') }, value: s.ready ? 1 : 0 })),
    ),
  );
  const restarts = registry.register(
    new Counter('coyo_backend_process_restarts_total', 'HTTP processes started again after one exited, by slot.', ['process']),
  );

  let stopping = false;
  let exitCode = 0;
  let nextCollection = 0;
  const collections = new Map<number, { pages: Map<number, string>; done: () => void }>();

  const send = (worker: Worker, message: PrimaryMessage): void => {
    if (worker.isConnected()) worker.send(message);
  };

  /** Every live process's metrics, labelled by slot and merged with the primary's own. */
  const collect = async (): Promise<string> => {
    const id = nextCollection++;
    const live = slots.filter((s) => s.listening && s.worker?.isConnected() === true);
    const pages = new Map<number, string>();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, COLLECT_TIMEOUT_MS);
      collections.set(id, {
        pages,
        done: () => {
          if (pages.size >= live.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
      for (const s of live) if (s.worker) send(s.worker, { type: 'coyo:collect', id });
      if (live.length === 0) {
        clearTimeout(timer);
        resolve();
      }
    });
    collections.delete(id);
    const labelled = [...pages].sort(([a], [b]) => a - b).map(([slot, text]) => addLabel(text, 'process', String(slot)));
    return mergeExpositions([...labelled, registry.render()]);
  };

  const finishIfAllExited = (): void => {
    if (slots.every((s) => s.worker === undefined)) {
      logger.info('all HTTP processes stopped', { exit_code: exitCode });
      process.exit(exitCode);
    }
  };

  const shutdown = (signal: NodeJS.Signals | 'startup-failed'): void => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down: draining every HTTP process', { signal, processes: slots.filter((s) => s.worker).length });
    for (const s of slots) {
      clearTimeout(s.timer);
      s.timer = undefined;
      s.worker?.process.kill('SIGTERM');
    }
    finishIfAllExited();
  };

  const fork = (slot: Slot): void => {
    const replacement = slot.generation > 0;
    const worker = cluster.fork({ [CHILD_ENV.slot]: String(slot.index), [CHILD_ENV.replacement]: replacement ? '1' : '0' });
    slot.worker = worker;
    slot.pid = worker.process.pid;
    slot.listening = false;
    slot.ready = false;
    slot.readyAt = undefined;
    worker.on('listening', () => { slot.listening = true; });
    worker.on('message', (raw: unknown) => {
      const parsed = ChildMessageSchema.safeParse(raw);
      if (!parsed.success) return;
      const message = parsed.data;
      switch (message.type) {
        case 'coyo:ready':
          slot.ready = true;
          slot.everReady = true;
          slot.readyAt = Date.now();
          logger.info('HTTP process ready', { process: slot.index, pid: slot.pid ?? null });
          break;
        case 'coyo:scrape':
          void collect().then((text) => { send(worker, { type: 'coyo:scraped', id: message.id, text }); });
          break;
        case 'coyo:metrics': {
          const collection = collections.get(message.id);
          if (collection) {
            collection.pages.set(slot.index, message.text);
            collection.done();
          }
          break;
        }
      }
    });
    worker.on('exit', (code, signal) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      slot.listening = false;
      slot.ready = false;
      if (stopping) {
        if (code !== 0) exitCode = 1;
        finishIfAllExited();
        return;
      }
      if (!slot.everReady && slot.generation === 0) {
        logger.error('an HTTP process exited before it was ready: start-up failed', { process: slot.index, code, signal });
        exitCode = 1;
        shutdown('startup-failed');
        return;
      }
      const served = slot.readyAt === undefined ? 0 : Date.now() - slot.readyAt;
      slot.failures = served >= backoff.stableMs ? 1 : slot.failures + 1;
      const delayMs = restartDelayMs(slot.failures, backoff);
      logger.warn('an HTTP process exited; starting another', { process: slot.index, pid: slot.pid ?? null, code, signal, in_ms: delayMs });
      slot.timer = setTimeout(() => {
        slot.timer = undefined;
        if (stopping) return;
        slot.generation += 1;
        restarts.inc({ process: String(slot.index) });
        fork(slot);
      }, delayMs);
    });
  };

  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  logger.info('starting HTTP processes', { processes });
  for (const slot of slots) fork(slot);
}
