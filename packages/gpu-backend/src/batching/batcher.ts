/**
 * A dynamic batcher for one model tower, in the manner of Triton's: items wait in one queue until either
 * `maxBatchSize` of them are there or the oldest has waited `maxQueueDelayMs`, then they run together.
 * One batch runs at a time (each tower has one session, owned by one thread); the next batch gathers
 * while it runs. Admission is a permit taken before any work is done for a request, so a full queue is
 * answered at once instead of growing without bound. The queue is the single owner of pending work: it
 * drops entries whose deadline passed or whose caller went away before they ran.
 *
 * Two refinements, both optional:
 * - `dispatchWhenIdle`: an item reaching an idle tower starts at once (continuous batching, as
 *   text-embeddings-inference does); the delay then only gathers the callers of a run that just ended.
 * - `length` (variable-length inputs such as token sequences, padded to their batch's longest): a batch
 *   is the oldest item plus the queued items closest to it in length, within `maxPaddingRatio`. The
 *   oldest item is always in the next batch, so no item waits behind more batches than there are items
 *   ahead of it.
 */
import type { BatchingConfig } from '../config.js';
import { QueueRejection, type RejectionReason } from './errors.js';

/** Longest delay setTimeout honours; longer ones fire after 1 ms. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Runs one batch; must answer one output per input, in input order. */
export type RunBatch<I, O> = (inputs: I[]) => Promise<O[]>;

/** What a batch looked like, for metrics. */
export interface BatchStats {
  size: number;
  /** Per item: ms from being queued to its batch starting. */
  queueMs: number[];
  /** ms the run took. */
  inferenceMs: number;
}

export interface BatchObserver {
  batch?(stats: BatchStats): void;
  rejected?(reason: RejectionReason, items: number): void;
}

export interface BatcherOptions<I, O> extends BatchingConfig {
  /** Used in messages. */
  name: string;
  run: RunBatch<I, O>;
  /**
   * An input's length when the run pads a batch to its longest input (token count for text): batches are
   * then formed from items of similar length. Absent: batches take the oldest items in order.
   */
  length?: (input: I) => number;
  observer?: BatchObserver;
  /** Monotonic clock in ms; injectable so tests can drive time. */
  now?: () => number;
}

export interface SubmitOptions {
  /** Absolute time on the batcher's clock after which unstarted work is dropped. */
  deadlineAt?: number;
  /** Aborts when the caller has gone; its unstarted work is dropped. */
  signal?: AbortSignal;
}

export interface BatchResult<O> {
  /** One output per submitted input, in submission order. */
  outputs: O[];
  /** Longest time any of the items waited for its batch, in ms. */
  queueMs: number;
  /** Time spent in the model runs that served these items, in ms. */
  inferenceMs: number;
}

/**
 * A reservation of queue slots for one request. Take it before pre-processing (so overload is refused at
 * once), hand it to {@link Batcher.submit}, and `release()` it when the request ends: slots not yet freed
 * by the batcher are then returned.
 */
export class Permit {
  #remaining: number;
  readonly #free: (n: number) => void;

  /** @internal created by {@link Batcher.admit} only. */
  constructor(count: number, free: (n: number) => void) {
    this.#remaining = count;
    this.#free = free;
  }

  get remaining(): number {
    return this.#remaining;
  }

  /** @internal called by {@link Batcher.widen} once it has reserved `n` more slots for this permit. */
  grow(n: number): void {
    this.#remaining += n;
  }

  /** Returns `n` slots (all remaining by default); releasing more than remain is a no-op. */
  release(n = this.#remaining): void {
    const k = Math.min(n, this.#remaining);
    if (k <= 0) return;
    this.#remaining -= k;
    this.#free(k);
  }
}

/** Listener options of a group's abort listener, one object for all. */
const ONCE = { once: true } as const;

/**
 * One submit's items and its caller's promise. It is itself the listener of the caller's abort signal
 * (`handleEvent`), and its deadline timer calls back with it as argument: a submit creates no functions.
 */
class Group<O> {
  readonly outputs: (O | undefined)[];
  /** Items not answered yet. */
  remaining: number;
  /** Items still waiting in the queue. */
  queued: number;
  queueMs = 0;
  inferenceMs = 0;
  lastBatch = -1;
  settled = false;
  deadlineTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    count: number,
    readonly permit: Permit,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (result: BatchResult<O>) => void,
    readonly reject: (error: unknown) => void,
    /** What the caller's leaving does to this group (the batcher's, shared by every group). */
    readonly onAbort: (group: Group<O>) => void,
  ) {
    this.outputs = new Array<O | undefined>(count);
    this.remaining = count;
    this.queued = count;
  }

  /** The caller's signal aborted. */
  handleEvent(): void {
    this.onAbort(this);
  }

  /** Stops listening for the caller's leaving and for the deadline. */
  cleanup(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.signal?.removeEventListener('abort', this);
  }
}

interface Entry<I, O> {
  group: Group<O>;
  index: number;
  input: I;
  /** `length(input)`, or 0 when the batcher is not length-aware. */
  length: number;
  enqueuedAt: number;
  deadlineAt: number;
}

/**
 * Picks the positions (ascending) in `queue` of the next batch: the oldest entry, then the entries closest
 * to its length (older first among equals) while the batch holds at most `maxBatchSize` items and pads to
 * at most `maxPaddingRatio` times the tokens it holds. Entries that would break the ratio are skipped,
 * not waited for: they form a batch of their own once they are the oldest.
 */
export function selectBatch(lengths: readonly number[], maxBatchSize: number, maxPaddingRatio = Number.POSITIVE_INFINITY): number[] {
  const first = lengths[0];
  if (first === undefined) return [];
  const candidates = lengths
    .slice(1)
    .map((length, i) => ({ position: i + 1, length, distance: Math.abs(length - first) }))
    .sort((a, b) => a.distance - b.distance || a.position - b.position);
  const picked = [0];
  let longest = first;
  let held = first;
  for (const { position, length } of candidates) {
    if (picked.length >= maxBatchSize) break;
    const nextLongest = Math.max(longest, length);
    if (nextLongest * (picked.length + 1) > maxPaddingRatio * (held + length)) continue;
    picked.push(position);
    longest = nextLongest;
    held += length;
  }
  return picked.sort((a, b) => a - b);
}

export class Batcher<I, O> {
  readonly name: string;
  readonly #maxBatchSize: number;
  readonly #maxQueueDelayMs: number;
  readonly #maxQueue: number;
  readonly #dispatchWhenIdle: boolean;
  readonly #maxPaddingRatio: number;
  readonly #length: ((input: I) => number) | undefined;
  readonly #run: RunBatch<I, O>;
  readonly #observer: BatchObserver;
  readonly #now: () => number;
  #queue: Entry<I, O>[] = [];
  /** Slots held by permits: queued items plus items of admitted requests still being prepared. */
  #reserved = 0;
  #running = false;
  /** When the last run ended; callers it answered may come back within `maxQueueDelayMs` of it. */
  #lastRunEndedAt = Number.NEGATIVE_INFINITY;
  /** Items the last run answered, and items submitted since it ended: once as many are back, start. */
  #lastRunSize = 0;
  #arrivedSinceRunEnded = 0;
  #pumpScheduled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #batches = 0;

  constructor(options: BatcherOptions<I, O>) {
    this.name = options.name;
    this.#maxBatchSize = options.maxBatchSize;
    this.#maxQueueDelayMs = options.maxQueueDelayMs;
    this.#maxQueue = options.maxQueue;
    this.#dispatchWhenIdle = options.dispatchWhenIdle ?? false;
    this.#maxPaddingRatio = options.maxPaddingRatio ?? Number.POSITIVE_INFINITY;
    if (!(this.#maxPaddingRatio >= 1)) throw new RangeError(`${options.name}: maxPaddingRatio must be at least 1`);
    this.#length = options.length;
    this.#run = options.run;
    this.#observer = options.observer ?? {};
    this.#now = options.now ?? (() => performance.now());
  }

  /** Items waiting in the queue (not yet in a batch). */
  get depth(): number {
    return this.#queue.length;
  }

  /** Queue slots held by admitted requests. */
  get reserved(): number {
    return this.#reserved;
  }

  /**
   * Reserves `count` queue slots, or returns `undefined` when the queue cannot take them: the caller answers
   * 503 at once.
   */
  admit(count: number): Permit | undefined {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`admit(${count}): count must be a positive integer`);
    if (this.#reserved + count > this.#maxQueue) {
      this.#observer.rejected?.('overloaded', count);
      return undefined;
    }
    this.#reserved += count;
    return new Permit(count, (n) => {
      this.#reserved -= n;
    });
  }

  /**
   * Widens `permit` (taken from this batcher) to hold `count` slots, or returns `false` and changes nothing
   * when the queue cannot take the extra ones: the caller answers 503 at once.
   */
  widen(permit: Permit, count: number): boolean {
    const extra = count - permit.remaining;
    if (extra <= 0) return true;
    if (this.#reserved + extra > this.#maxQueue) {
      // The whole request is refused, so all its items count as rejected.
      this.#observer.rejected?.('overloaded', count);
      return false;
    }
    this.#reserved += extra;
    permit.grow(extra);
    return true;
  }

  /**
   * Queues `inputs` under `permit` and resolves with their outputs in the same order. Rejects with a
   * {@link QueueRejection} when the deadline passes or the signal aborts before all of them started, or with
   * the run's error when their batch fails.
   */
  submit(permit: Permit, inputs: readonly I[], options: SubmitOptions = {}): Promise<BatchResult<O>> {
    if (inputs.length === 0) return Promise.resolve({ outputs: [], queueMs: 0, inferenceMs: 0 });
    if (inputs.length > permit.remaining) {
      throw new Error(`bug: ${this.name} submit of ${inputs.length} items under a permit for ${permit.remaining}`);
    }
    const now = this.#now();
    const deadlineAt = options.deadlineAt ?? Number.POSITIVE_INFINITY;
    const { signal } = options;
    if (signal?.aborted) {
      this.#observer.rejected?.('client_gone', inputs.length);
      return Promise.reject(new QueueRejection('client_gone', 'the client closed the request'));
    }
    if (deadlineAt <= now) {
      this.#observer.rejected?.('deadline_exceeded', inputs.length);
      return Promise.reject(new QueueRejection('deadline_exceeded', 'the deadline passed before the work was queued'));
    }

    return new Promise<BatchResult<O>>((resolve, reject) => {
      const group = new Group<O>(inputs.length, permit, signal, resolve, reject, this.#onAbort);
      if (Number.isFinite(deadlineAt)) this.#armDeadline(group, deadlineAt - now);
      signal?.addEventListener('abort', group, ONCE);
      const length = this.#length;
      this.#arrivedSinceRunEnded += inputs.length;
      for (let index = 0; index < inputs.length; index++) {
        const input = inputs[index] as I;
        this.#queue.push({ group, index, input, length: length ? length(input) : 0, enqueuedAt: now, deadlineAt });
      }
      this.#schedulePump();
    });
  }

  /** Drops a group's unstarted work when its caller leaves; one function for every group. */
  readonly #onAbort = (group: Group<O>): void => {
    this.#drop(group, 'client_gone', 'the client closed the request');
  };

  /** Drops a group's unstarted work when its deadline passes; one function for every group. */
  readonly #onDeadline = (group: Group<O>, rest: number): void => {
    if (rest > 0) this.#armDeadline(group, rest);
    else if (group.queued > 0) this.#drop(group, 'deadline_exceeded', 'the deadline passed before the work ran');
  };

  /** setTimeout fires after 1 ms when asked for more than MAX_TIMER_DELAY_MS: waits in steps instead. */
  #armDeadline(group: Group<O>, delay: number): void {
    const step = Math.min(delay, MAX_TIMER_DELAY_MS);
    group.deadlineTimer = setTimeout(this.#onDeadline, step, group, delay - step);
  }

  /** Removes a group's unstarted items, frees their slots and rejects its caller. */
  #drop(group: Group<O>, reason: RejectionReason, message: string): void {
    if (group.settled) return;
    const dropped = group.queued;
    if (dropped > 0) this.#queue = this.#queue.filter((e) => e.group !== group);
    group.permit.release(dropped);
    group.queued = 0;
    this.#settle(group);
    group.reject(new QueueRejection(reason, message));
    this.#observer.rejected?.(reason, dropped);
  }

  /** Marks a group answered, before its promise is settled. */
  #settle(group: Group<O>): void {
    group.settled = true;
    group.cleanup();
  }

  /** Coalesces submits of one tick, so that requests arriving together can share a batch. */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#running) return;
    const now = this.#now();
    for (const entry of this.#queue) {
      if (entry.deadlineAt <= now) this.#drop(entry.group, 'deadline_exceeded', 'the deadline passed before the work ran');
    }
    const oldest = this.#queue[0];
    if (oldest === undefined) return;
    const startAt = this.#queue.length >= this.#maxBatchSize ? now : this.#startTime(oldest.enqueuedAt);
    if (now < startAt) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#pump();
      }, startAt - now);
      return;
    }
    void this.#dispatch(now);
  }

  /**
   * When a partial batch whose oldest item was queued at `enqueuedAt` starts (the tower being free):
   * after `maxQueueDelayMs` (Triton), or, with `dispatchWhenIdle`, as soon as the callers answered by the
   * last run have come back (as many items as it held) or have had `maxQueueDelayMs` since it ended to do
   * so — at once on a tower that was idle.
   */
  #startTime(enqueuedAt: number): number {
    const delayed = enqueuedAt + this.#maxQueueDelayMs;
    if (!this.#dispatchWhenIdle) return delayed;
    if (this.#arrivedSinceRunEnded >= this.#lastRunSize) return enqueuedAt;
    return Math.min(delayed, Math.max(enqueuedAt, this.#lastRunEndedAt + this.#maxQueueDelayMs));
  }

  /** Removes the next batch from the queue (see {@link selectBatch}), in queue order. */
  #takeBatch(): Entry<I, O>[] {
    if (this.#length === undefined) return this.#queue.splice(0, this.#maxBatchSize);
    const positions = selectBatch(
      this.#queue.map((e) => e.length),
      this.#maxBatchSize,
      this.#maxPaddingRatio,
    );
    const taken = new Set(positions);
    const batch = this.#queue.filter((_, i) => taken.has(i));
    this.#queue = this.#queue.filter((_, i) => !taken.has(i));
    return batch;
  }

  async #dispatch(now: number): Promise<void> {
    const batch = this.#takeBatch();
    const batchId = this.#batches++;
    const queueMs: number[] = [];
    for (const entry of batch) {
      const waited = now - entry.enqueuedAt;
      queueMs.push(waited);
      const { group } = entry;
      group.queued -= 1;
      group.permit.release(1);
      group.queueMs = Math.max(group.queueMs, waited);
    }
    this.#running = true;
    const started = this.#now();
    try {
      const outputs = await this.#run(batch.map((e) => e.input));
      if (outputs.length !== batch.length) {
        throw new Error(`bug: ${this.name} batch of ${batch.length} answered ${outputs.length} outputs`);
      }
      const inferenceMs = this.#now() - started;
      this.#observer.batch?.({ size: batch.length, queueMs, inferenceMs });
      batch.forEach((entry, i) => {
        const { group } = entry;
        if (group.settled) return;
        group.outputs[entry.index] = outputs[i];
        group.remaining -= 1;
        if (group.lastBatch !== batchId) {
          group.lastBatch = batchId;
          group.inferenceMs += inferenceMs;
        }
        if (group.remaining === 0) {
          this.#settle(group);
          group.resolve({ outputs: group.outputs as O[], queueMs: group.queueMs, inferenceMs: group.inferenceMs });
        }
      });
    } catch (error) {
      for (const { group } of batch) {
        if (group.settled) continue;
        if (group.queued > 0) this.#queue = this.#queue.filter((e) => e.group !== group);
        group.permit.release(group.queued);
        group.queued = 0;
        this.#settle(group);
        group.reject(error);
      }
    } finally {
      this.#running = false;
      this.#lastRunEndedAt = this.#now();
      this.#lastRunSize = batch.length;
      this.#arrivedSinceRunEnded = 0;
      this.#pump();
    }
  }
}
