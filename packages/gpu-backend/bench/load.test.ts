import { describe, expect, it } from 'vitest';
import { type Send, percentile, runClosedLoop } from './load.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(sorted, 50)).toBe(5);
    expect(percentile(sorted, 90)).toBe(9);
    expect(percentile(sorted, 99)).toBe(10);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('runClosedLoop', () => {
  it('keeps exactly `concurrency` requests in flight and stops at maxRequests', async () => {
    let inFlight = 0;
    let most = 0;
    const send: Send = async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await tick();
      inFlight--;
      return { items: 2, queueMs: 1, inferenceMs: 3 };
    };
    const result = await runClosedLoop(send, { concurrency: 4, durationMs: 60_000, maxRequests: 50 });
    expect(most).toBe(4);
    expect(result.requests).toBe(50);
    expect(result.items).toBe(100);
    expect(result.errors).toBe(0);
    expect(result.serverQueueMs).toBe(1);
    expect(result.serverInferenceMs).toBe(3);
  });

  it('aborts requests still in flight at the end and does not count them', async () => {
    let aborted = 0;
    const send: Send = (signal) =>
      new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          aborted++;
          reject(new Error('aborted'));
        });
      });
    const result = await runClosedLoop(send, { concurrency: 3, durationMs: 20, maxDurationMs: 40 });
    expect(aborted).toBe(3);
    expect(result.requests).toBe(0);
    expect(result.errors).toBe(0);
    expect(result.itemsPerSecond).toBe(0);
  });

  it('counts failed requests as errors with a sample of their messages', async () => {
    let n = 0;
    const send: Send = async () => {
      await tick();
      if (++n % 2 === 0) throw new Error(`503 overloaded ${n}`);
      return { items: 1 };
    };
    const result = await runClosedLoop(send, { concurrency: 2, durationMs: 60_000, maxRequests: 10 });
    expect(result.errors).toBe(5);
    expect(result.items).toBe(5);
    expect(result.errorSamples[0]).toMatch(/^503 overloaded/);
    expect(result.serverQueueMs).toBeNull();
  });

  it('refuses a bound that cannot be met', async () => {
    const send: Send = () => Promise.resolve({ items: 1 });
    await expect(runClosedLoop(send, { concurrency: 0, durationMs: 10 })).rejects.toThrow(RangeError);
    await expect(runClosedLoop(send, { concurrency: 1, durationMs: 10, maxDurationMs: 5 })).rejects.toThrow(RangeError);
  });
});
