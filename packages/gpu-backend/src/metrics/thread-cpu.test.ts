import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BackendMetrics } from './metrics.js';
import { currentThreadId, threadCpuSeconds } from './thread-cpu.js';

const linux = process.platform === 'linux';

describe.runIf(linux)('thread CPU time', () => {
  it('identifies the main thread by the process id and a worker thread by another id', async () => {
    expect(currentThreadId()).toBe(process.pid);
    const worker = new Worker(
      "const { parentPort } = require('node:worker_threads'); const { readlinkSync } = require('node:fs');" +
        "parentPort.postMessage(Number(readlinkSync('/proc/thread-self').split('/').pop()));",
      { eval: true },
    );
    const tid = await new Promise<number>((resolve) => worker.once('message', resolve));
    await worker.terminate();
    expect(tid).not.toBe(process.pid);
    expect(Number.isSafeInteger(tid)).toBe(true);
  });

  it("counts the calling thread's CPU time and nothing for a thread that does not exist", () => {
    const tid = currentThreadId() ?? 0;
    const before = threadCpuSeconds(tid) ?? Number.NaN;
    const until = performance.now() + 60;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    expect((threadCpuSeconds(tid) ?? Number.NaN) - before).toBeGreaterThan(0);
    expect(threadCpuSeconds(2 ** 30)).toBeUndefined();
  });

  it('exposes CPU seconds per thread in /metrics, the rest of the process as other', () => {
    const metrics = new BackendMetrics({ maxBatchSize: 4 });
    metrics.trackThreads(() => [
      { thread: 'session:vit', active: 0, idle: 0, tid: process.pid },
      { thread: 'preprocess:0', active: 0, idle: 0 },
    ]);
    const page = metrics.render();
    expect(page).toMatch(/^coyo_backend_thread_cpu_seconds_total\{thread="main"\} [0-9.]+$/m);
    expect(page).toMatch(/^coyo_backend_thread_cpu_seconds_total\{thread="session:vit"\} [0-9.]+$/m);
    expect(page).toMatch(/^coyo_backend_thread_cpu_seconds_total\{thread="other"\} [0-9.e-]+$/m);
    expect(page, 'a thread without a kernel id has no series').not.toContain('thread_cpu_seconds_total{thread="preprocess:0"}');
  });
});
