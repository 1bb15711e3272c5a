/**
 * The backend's Prometheus series: queue depth per tower, batch sizes, queue and inference times, refusals,
 * and requests by route and status. One instance per process, passed to whoever records.
 */
import type { BatchObserver } from '../batching/batcher.js';
import { CallbackGauge, Counter, Histogram, Registry } from './registry.js';

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

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
  readonly #queues = new Map<string, () => number>();

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
  }

  /** Reports a tower's queue depth at every scrape. */
  trackQueue(tower: string, depth: () => number): void {
    this.#queues.set(tower, depth);
  }

  /** Feeds one tower's batch statistics into the histograms. */
  observerFor(tower: string): BatchObserver {
    return {
      batch: ({ size, queueMs, inferenceMs }) => {
        this.batchSize.observe({ tower }, size);
        this.inferenceTime.observe({ tower }, inferenceMs / 1000);
        for (const ms of queueMs) this.queueTime.observe({ tower }, ms / 1000);
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
