import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Batcher, selectBatch, type BatchStats, type BatcherOptions, type RunBatch } from './batcher.js';
import { QueueRejection } from './errors.js';

/** A run function that records every batch and answers `input * 10`, optionally held until released. */
function recorder() {
  const batches: number[][] = [];
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const run: RunBatch<number, number> = async (inputs) => {
    batches.push([...inputs]);
    if (gate) await gate;
    return inputs.map((x) => x * 10);
  };
  return {
    batches,
    run,
    hold() {
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
    },
    release() {
      gate = undefined;
      open?.();
    },
  };
}

type Knobs = Partial<Pick<BatcherOptions<number, number>, 'maxBatchSize' | 'maxQueueDelayMs' | 'maxQueue' | 'dispatchWhenIdle' | 'maxPaddingRatio' | 'length'>>;

function make(run: RunBatch<number, number>, knobs: Knobs = {}) {
  const stats: BatchStats[] = [];
  const rejected: Array<[string, number]> = [];
  const batcher = new Batcher<number, number>({
    name: 'test',
    maxBatchSize: knobs.maxBatchSize ?? 4,
    maxQueueDelayMs: knobs.maxQueueDelayMs ?? 10,
    maxQueue: knobs.maxQueue ?? 100,
    ...(knobs.dispatchWhenIdle !== undefined ? { dispatchWhenIdle: knobs.dispatchWhenIdle } : {}),
    ...(knobs.maxPaddingRatio !== undefined ? { maxPaddingRatio: knobs.maxPaddingRatio } : {}),
    ...(knobs.length !== undefined ? { length: knobs.length } : {}),
    run,
    now: () => Date.now(),
    observer: { batch: (s) => stats.push(s), rejected: (reason, n) => rejected.push([reason, n]) },
  });
  /** Admits and submits in one step, as a request does. */
  const submit = (inputs: number[], options: Parameters<typeof batcher.submit>[2] = {}) => {
    const permit = batcher.admit(inputs.length);
    if (!permit) throw new Error('test setup: not admitted');
    return batcher.submit(permit, inputs, options);
  };
  return { batcher, submit, stats, rejected };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Batcher', () => {
  it('runs a full batch at once without waiting for the delay', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 3, maxQueueDelayMs: 1000 });
    const answer = submit([1, 2, 3]);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.batches).toEqual([[1, 2, 3]]);
    await expect(answer).resolves.toMatchObject({ outputs: [10, 20, 30] });
  });

  it('never puts more than maxBatchSize items in one batch', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 2, maxQueueDelayMs: 5 });
    const answer = submit([1, 2, 3, 4, 5]);
    await vi.advanceTimersByTimeAsync(5);
    expect(r.batches).toEqual([[1, 2], [3, 4], [5]]);
    await expect(answer).resolves.toMatchObject({ outputs: [10, 20, 30, 40, 50] });
  });

  it('holds a partial batch until the oldest item has waited maxQueueDelayMs', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 10 });
    void submit([1]);
    await vi.advanceTimersByTimeAsync(9);
    expect(r.batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.batches).toEqual([[1]]);
  });

  it('adds requests that arrive during the delay to the same batch', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 10 });
    const a = submit([1]);
    await vi.advanceTimersByTimeAsync(4);
    const b = submit([2, 3]);
    await vi.advanceTimersByTimeAsync(6);
    expect(r.batches).toEqual([[1, 2, 3]]);
    await expect(a).resolves.toMatchObject({ outputs: [10], queueMs: 10 });
    await expect(b).resolves.toMatchObject({ outputs: [20, 30], queueMs: 6 });
  });

  it('gathers the next batch while one runs and starts it when the run ends', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 4, maxQueueDelayMs: 0 });
    r.hold();
    const first = submit([1]);
    await vi.advanceTimersByTimeAsync(0);
    const second = submit([2]);
    const third = submit([3]);
    await vi.advanceTimersByTimeAsync(50);
    expect(r.batches).toEqual([[1]]);
    r.release();
    await expect(first).resolves.toMatchObject({ outputs: [10] });
    await vi.advanceTimersByTimeAsync(0);
    expect(r.batches).toEqual([[1], [2, 3]]);
    await expect(second).resolves.toMatchObject({ outputs: [20], queueMs: 50 });
    await expect(third).resolves.toMatchObject({ outputs: [30] });
  });

  it('routes each output to its own caller in request order across batches', async () => {
    const run: RunBatch<number, number> = (inputs) => Promise.resolve(inputs.map((x) => -x));
    const { submit } = make(run, { maxBatchSize: 3, maxQueueDelayMs: 1 });
    const answers = [submit([1, 2]), submit([3, 4, 5]), submit([6]), submit([7, 8, 9, 10])];
    await vi.advanceTimersByTimeAsync(10);
    const results = await Promise.all(answers);
    expect(results.map((x) => x.outputs)).toEqual([[-1, -2], [-3, -4, -5], [-6], [-7, -8, -9, -10]]);
  });

  it('refuses admission at once when the queue has no room', () => {
    const { batcher, rejected } = make(recorder().run, { maxQueue: 5 });
    const held = batcher.admit(4);
    expect(held).toBeDefined();
    expect(batcher.admit(2)).toBeUndefined();
    expect(batcher.admit(1)).toBeDefined();
    expect(rejected).toEqual([['overloaded', 2]]);
  });

  it('frees queue slots when items start running', async () => {
    const r = recorder();
    const { batcher, submit } = make(r.run, { maxBatchSize: 2, maxQueueDelayMs: 0, maxQueue: 2 });
    r.hold();
    void submit([1, 2]);
    expect(batcher.admit(1)).toBeUndefined();
    await vi.advanceTimersByTimeAsync(0);
    expect(r.batches).toEqual([[1, 2]]);
    expect(batcher.admit(2)).toBeDefined();
    r.release();
  });

  it('returns the slots a request reserved but never queued when its permit is released', () => {
    const { batcher } = make(recorder().run, { maxQueue: 3 });
    const permit = batcher.admit(3);
    expect(batcher.admit(1)).toBeUndefined();
    permit?.release();
    expect(batcher.reserved).toBe(0);
    expect(batcher.admit(3)).toBeDefined();
  });

  it('widens a permit to the slots the request turned out to need, or refuses and keeps it as it was', () => {
    const { batcher, rejected } = make(recorder().run, { maxQueue: 4 });
    const permit = batcher.admit(1);
    if (!permit) throw new Error('expected a permit');
    expect(batcher.widen(permit, 3)).toBe(true);
    expect(permit.remaining).toBe(3);
    expect(batcher.reserved).toBe(3);
    expect(batcher.widen(permit, 5)).toBe(false);
    expect(permit.remaining).toBe(3);
    expect(rejected).toEqual([['overloaded', 5]]);
    permit.release();
    expect(batcher.reserved).toBe(0);
  });

  it('drops an item whose deadline passes before its batch starts', async () => {
    const r = recorder();
    const { submit, batcher, rejected } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 20 });
    const late = submit([1], { deadlineAt: Date.now() + 5 });
    const onTime = submit([2]);
    const lateSettled = expect(late).rejects.toMatchObject({ reason: 'deadline_exceeded' });
    await vi.advanceTimersByTimeAsync(5);
    await lateSettled;
    expect(batcher.depth).toBe(1);
    await vi.advanceTimersByTimeAsync(15);
    expect(r.batches).toEqual([[2]]);
    await expect(onTime).resolves.toMatchObject({ outputs: [20] });
    expect(rejected).toContainEqual(['deadline_exceeded', 1]);
    expect(batcher.reserved).toBe(0);
  });

  it('keeps queued work whose deadline lies beyond the longest timer delay (2^31 − 1 ms)', async () => {
    const r = recorder();
    const { submit, rejected } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 20 });
    // A longer setTimeout delay fires after 1 ms; the deadline must not turn into "now".
    const answer = submit([1], { deadlineAt: Date.now() + 3_000_000_000 });
    await vi.advanceTimersByTimeAsync(20);
    expect(r.batches).toEqual([[1]]);
    await expect(answer).resolves.toMatchObject({ outputs: [10] });
    expect(rejected).toEqual([]);
  });

  it('still drops work whose far deadline passes while it is queued', async () => {
    const r = recorder();
    r.hold();
    const { submit } = make(r.run, { maxBatchSize: 1, maxQueueDelayMs: 0 });
    const blocker = submit([1]);
    await vi.advanceTimersByTimeAsync(0);
    const far = 2 ** 31 + 10;
    const late = submit([2], { deadlineAt: Date.now() + far });
    const lateSettled = expect(late).rejects.toMatchObject({ reason: 'deadline_exceeded' });
    await vi.advanceTimersByTimeAsync(far);
    await lateSettled;
    r.release();
    await expect(blocker).resolves.toMatchObject({ outputs: [10] });
    expect(r.batches).toEqual([[1]]);
  });

  it('rejects work whose deadline has already passed when it is submitted', async () => {
    const r = recorder();
    const { submit } = make(r.run);
    await expect(submit([1], { deadlineAt: Date.now() })).rejects.toBeInstanceOf(QueueRejection);
    await vi.advanceTimersByTimeAsync(100);
    expect(r.batches).toEqual([]);
  });

  it('keeps running work whose deadline passes after its batch started', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxQueueDelayMs: 0 });
    r.hold();
    const answer = submit([1], { deadlineAt: Date.now() + 5 });
    await vi.advanceTimersByTimeAsync(10);
    r.release();
    await expect(answer).resolves.toMatchObject({ outputs: [10] });
  });

  it('drops the queued items of a caller that went away', async () => {
    const r = recorder();
    const { submit, batcher } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 10 });
    const controller = new AbortController();
    const gone = submit([1, 2], { signal: controller.signal });
    const staying = submit([3]);
    const goneSettled = expect(gone).rejects.toMatchObject({ reason: 'client_gone' });
    controller.abort();
    await goneSettled;
    expect(batcher.depth).toBe(1);
    await vi.advanceTimersByTimeAsync(10);
    expect(r.batches).toEqual([[3]]);
    await expect(staying).resolves.toMatchObject({ outputs: [30] });
  });

  it('leaves no abort listener on a signal shared by successive callers (one per connection) once each is answered', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 1 });
    const connection = new AbortController();
    for (let i = 0; i < 3; i++) {
      const answer = submit([i], { signal: connection.signal, deadlineAt: Date.now() + 60_000 });
      expect(getEventListeners(connection.signal, 'abort')).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      await expect(answer).resolves.toMatchObject({ outputs: [i * 10] });
      expect(getEventListeners(connection.signal, 'abort')).toHaveLength(0);
    }
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects a caller whose signal is already aborted without queueing', async () => {
    const r = recorder();
    const { submit, batcher } = make(r.run);
    await expect(submit([1], { signal: AbortSignal.abort() })).rejects.toMatchObject({ reason: 'client_gone' });
    expect(batcher.depth).toBe(0);
  });

  it('fails only the callers of a failed batch and goes on with the next', async () => {
    let calls = 0;
    const run: RunBatch<number, number> = (inputs) => {
      calls += 1;
      if (calls === 1) return Promise.reject(new Error('model exploded'));
      return Promise.resolve(inputs.map((x) => x + 1));
    };
    const { submit, batcher } = make(run, { maxBatchSize: 2, maxQueueDelayMs: 0 });
    const first = submit([1, 2]);
    const second = submit([3]);
    await expect(first).rejects.toThrow('model exploded');
    await vi.advanceTimersByTimeAsync(0);
    await expect(second).resolves.toMatchObject({ outputs: [4] });
    expect(batcher.reserved).toBe(0);
  });

  it('drops the rest of a request whose earlier items were in a failed batch', async () => {
    let calls = 0;
    const seen: number[][] = [];
    const run: RunBatch<number, number> = (inputs) => {
      seen.push(inputs);
      calls += 1;
      if (calls === 1) return Promise.reject(new Error('boom'));
      return Promise.resolve(inputs);
    };
    const { submit, batcher } = make(run, { maxBatchSize: 2, maxQueueDelayMs: 0 });
    await expect(submit([1, 2, 3])).rejects.toThrow('boom');
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([[1, 2]]);
    expect(batcher.depth).toBe(0);
    expect(batcher.reserved).toBe(0);
  });

  it('reports the size, queue times and run time of each batch', async () => {
    const run: RunBatch<number, number> = async (inputs) => {
      await new Promise((resolve) => setTimeout(resolve, 7));
      return inputs;
    };
    const { submit, stats } = make(run, { maxBatchSize: 4, maxQueueDelayMs: 3 });
    const answer = submit([1, 2]);
    await vi.advanceTimersByTimeAsync(10);
    await expect(answer).resolves.toMatchObject({ queueMs: 3, inferenceMs: 7 });
    expect(stats).toEqual([{ size: 2, queueMs: [3, 3], inferenceMs: 7 }]);
  });

  it('adds the run time of every batch that served a request', async () => {
    const run: RunBatch<number, number> = async (inputs) => {
      await new Promise((resolve) => setTimeout(resolve, 4));
      return inputs;
    };
    const { submit } = make(run, { maxBatchSize: 2, maxQueueDelayMs: 0 });
    const answer = submit([1, 2, 3]);
    await vi.advanceTimersByTimeAsync(20);
    await expect(answer).resolves.toMatchObject({ outputs: [1, 2, 3], inferenceMs: 8 });
  });
});

describe('selectBatch', () => {
  it('takes the oldest item, then the items closest to its length', () => {
    expect(selectBatch([10, 30, 12, 9, 25], 3)).toEqual([0, 2, 3]);
  });

  it('prefers the older of two items equally close in length', () => {
    expect(selectBatch([10, 12, 8, 12], 2)).toEqual([0, 1]);
  });

  it('skips items that would pad the batch beyond maxPaddingRatio', () => {
    // 10, 10 and 11 pad to 33 tokens for 31 held; adding 20 would pad to 80 for 51.
    expect(selectBatch([10, 20, 10, 11], 8, 1.25)).toEqual([0, 2, 3]);
  });

  it('keeps the oldest item even when nothing else fits beside it', () => {
    expect(selectBatch([30, 9, 9, 9], 4, 1.2)).toEqual([0]);
  });

  it('returns nothing for an empty queue', () => {
    expect(selectBatch([], 4)).toEqual([]);
  });
});

describe('Batcher with length-aware batches', () => {
  const identity = (x: number) => x;

  it('batches queued items of similar length together', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 2, maxQueueDelayMs: 0, length: identity });
    const answer = submit([10, 30, 11, 29]);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.batches).toEqual([
      [10, 11],
      [30, 29],
    ]);
    await expect(answer).resolves.toMatchObject({ outputs: [100, 300, 110, 290] });
  });

  it('runs an item passed over for its length as soon as it is the oldest', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 2, maxQueueDelayMs: 0, length: identity });
    const answers = [submit([1]), submit([9]), submit([1]), submit([1]), submit([1])];
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all(answers);
    expect(r.batches).toEqual([[1, 1], [9, 1], [1]]);
  });

  it('gives an item that would pad too much a batch of its own', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 0, maxPaddingRatio: 1.5, length: identity });
    const answer = submit([10, 30, 10]);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.batches).toEqual([[10, 10], [30]]);
    await expect(answer).resolves.toMatchObject({ outputs: [100, 300, 100] });
  });

  it('ignores maxPaddingRatio when the batcher has no length function', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 0, maxPaddingRatio: 1 });
    void submit([1, 50, 2]);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.batches).toEqual([[1, 50, 2]]);
  });

  it('refuses a maxPaddingRatio below 1', () => {
    expect(() => make(recorder().run, { maxPaddingRatio: 0.5 })).toThrow(RangeError);
  });
});

describe('Batcher with dispatchWhenIdle', () => {
  it('starts an item that reaches an idle tower at once', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 10, dispatchWhenIdle: true });
    const answer = submit([1]);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.batches).toEqual([[1]]);
    await expect(answer).resolves.toMatchObject({ outputs: [10], queueMs: 0 });
  });

  it('counts the delay from the end of the last run for callers coming back from it', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 10, dispatchWhenIdle: true });
    await submit([1, 2]);
    await vi.advanceTimersByTimeAsync(4);
    const back = submit([3]);
    await vi.advanceTimersByTimeAsync(5);
    expect(r.batches).toEqual([[1, 2]]);
    await vi.advanceTimersByTimeAsync(1);
    expect(r.batches).toEqual([[1, 2], [3]]);
    await expect(back).resolves.toMatchObject({ queueMs: 6 });
  });

  it('starts as soon as as many items have arrived as the last run answered', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 10, dispatchWhenIdle: true });
    await submit([1, 2]);
    await vi.advanceTimersByTimeAsync(4);
    const second = submit([3]);
    await vi.advanceTimersByTimeAsync(1);
    const third = submit([4]);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    await expect(second).resolves.toMatchObject({ queueMs: 1 });
    await expect(third).resolves.toMatchObject({ queueMs: 0 });
  });

  it('starts at once again once the tower has been idle for the delay', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 10, dispatchWhenIdle: true });
    await submit([1]);
    await vi.advanceTimersByTimeAsync(10);
    void submit([2]);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.batches).toEqual([[1], [2]]);
  });

  it('still starts a batch that gathered during a run as soon as the run ends', async () => {
    const r = recorder();
    const { submit } = make(r.run, { maxBatchSize: 8, maxQueueDelayMs: 10, dispatchWhenIdle: true });
    r.hold();
    const first = submit([1]);
    await vi.advanceTimersByTimeAsync(0);
    const second = submit([2]);
    await vi.advanceTimersByTimeAsync(20);
    r.release();
    await first;
    await vi.advanceTimersByTimeAsync(0);
    expect(r.batches).toEqual([[1], [2]]);
    await expect(second).resolves.toMatchObject({ queueMs: 20 });
  });
});
