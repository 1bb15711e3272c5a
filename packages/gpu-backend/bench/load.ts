/**
 * A bounded closed-loop load generator: `concurrency` callers each send a request, wait for its answer and
 * send the next, so the offered load adapts to the server (no unbounded queue builds up in the client).
 * A run stops at `durationMs` once `minCompleted` answers are in, and in any case at `maxDurationMs` or
 * `maxRequests`; requests still in flight then are aborted and not counted.
 */

/** One request: resolves to the number of items it carried (images, texts), or throws. */
export type Send = (signal: AbortSignal) => Promise<SendResult>;

export interface SendResult {
  items: number;
  /** Server-reported milliseconds waiting for a batch (x-queue-time), if any. */
  queueMs?: number | undefined;
  /** Server-reported milliseconds in the model (x-inference-time), if any. */
  inferenceMs?: number | undefined;
}

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  /** Keep going past durationMs until this many answers are in (slow models), up to maxDurationMs. */
  minCompleted?: number;
  maxDurationMs?: number;
  /** Hard bound on requests sent. */
  maxRequests?: number;
}

export interface LoadResult {
  concurrency: number;
  elapsedMs: number;
  requests: number;
  items: number;
  errors: number;
  /** Abort reasons and error messages, first few, for the report. */
  errorSamples: string[];
  itemsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Means of the server-reported timings over the answered requests that carried them. */
  serverQueueMs: number | null;
  serverInferenceMs: number | null;
}

/** Nearest-rank percentile (p in [0, 100]) of ascending `sorted`; NaN for an empty list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Runs one closed-loop measurement with `send`. */
export async function runClosedLoop(send: Send, options: LoadOptions): Promise<LoadResult> {
  const { concurrency, durationMs, minCompleted = 1, maxDurationMs = durationMs, maxRequests = Number.POSITIVE_INFINITY } = options;
  if (!(concurrency >= 1) || !(durationMs > 0) || maxDurationMs < durationMs) {
    throw new RangeError('need concurrency ≥ 1, durationMs > 0 and maxDurationMs ≥ durationMs');
  }
  const latencies: number[] = [];
  const queueMs: number[] = [];
  const inferenceMs: number[] = [];
  const errorSamples: string[] = [];
  let requests = 0;
  let items = 0;
  let errors = 0;
  let stopped = false;
  // One controller per request (a shared signal would collect one listener per request sent).
  const inFlight = new Set<AbortController>();
  const started = performance.now();
  let stoppedAt = started;

  // Read through a call: `stopped` changes while a caller awaits, which narrowing does not see.
  const isStopped = (): boolean => stopped;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    stoppedAt = performance.now();
    for (const controller of inFlight) controller.abort(new Error('run over'));
  };
  const timers = [
    setTimeout(() => {
      if (latencies.length >= minCompleted) stop();
    }, durationMs),
    setTimeout(stop, maxDurationMs),
  ];

  const caller = async (): Promise<void> => {
    while (!stopped && requests < maxRequests) {
      requests++;
      const t0 = performance.now();
      const controller = new AbortController();
      inFlight.add(controller);
      try {
        const result = await send(controller.signal);
        if (isStopped()) return; // answered after the end: outside the measured window
        latencies.push(performance.now() - t0);
        items += result.items;
        if (result.queueMs !== undefined) queueMs.push(result.queueMs);
        if (result.inferenceMs !== undefined) inferenceMs.push(result.inferenceMs);
        if (performance.now() - started >= durationMs && latencies.length >= minCompleted) stop();
      } catch (error) {
        if (isStopped()) return;
        errors++;
        if (errorSamples.length < 5) errorSamples.push(error instanceof Error ? error.message : String(error));
      } finally {
        inFlight.delete(controller);
      }
    }
  };

  await Promise.all(Array.from({ length: concurrency }, caller));
  stop();
  for (const t of timers) clearTimeout(t);

  const elapsedMs = stoppedAt - started;
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    concurrency,
    elapsedMs,
    requests: latencies.length + errors,
    items,
    errors,
    errorSamples,
    itemsPerSecond: elapsedMs > 0 ? (items * 1000) / elapsedMs : 0,
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? Number.NaN,
      mean: mean(sorted) ?? Number.NaN,
    },
    serverQueueMs: mean(queueMs),
    serverInferenceMs: mean(inferenceMs),
  };
}
