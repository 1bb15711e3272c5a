import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BackendMetrics } from './metrics.js';
import { currentThreadId, threadCpuSeconds, threadNames } from './thread-cpu.js';

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

  it('counts the threads a session thread started, which carry its kernel name, as that session\'s onnxruntime pool', async () => {
    // A thread named as thread-entry.mjs names it, which then starts a thread of its own that spins for 150 ms.
    const worker = new Worker(
      "const { parentPort, Worker } = require('node:worker_threads'); const fs = require('node:fs');" +
        "const tid = () => Number(fs.readlinkSync('/proc/thread-self').split('/').pop());" +
        "fs.writeFileSync('/proc/thread-self/comm', 'session:test');" +
        "const child = new Worker(\"const { parentPort } = require('node:worker_threads'); const fs = require('node:fs');" +
        "const until = Date.now() + 150; let x = 0; while (Date.now() < until) x += Math.sqrt(x + 1);" +
        "parentPort.postMessage(Number(fs.readlinkSync('/proc/thread-self').split('/').pop()));" +
        "setInterval(() => {}, 1000);\", { eval: true });" +
        "child.once('message', (childTid) => parentPort.postMessage([tid(), childTid]));",
      { eval: true },
    );
    try {
      const [sessionTid, poolTid] = await new Promise<[number, number]>((resolve) => worker.once('message', resolve));
      const names = threadNames();
      expect(names.get(sessionTid)).toBe('session:test');
      expect(names.get(poolTid), 'a thread inherits the kernel name of the thread that started it').toBe('session:test');
      const metrics = new BackendMetrics({ maxBatchSize: 4 });
      metrics.trackThreads(() => [{ thread: 'session:test', active: 0, idle: 0, tid: sessionTid }]);
      const pool = /^coyo_backend_thread_cpu_seconds_total\{thread="onnxruntime:test"\} ([0-9.]+)$/m.exec(metrics.render());
      expect(Number(pool?.[1])).toBeGreaterThanOrEqual(0.05);
      expect(Number(pool?.[1])).toBeCloseTo(threadCpuSeconds(poolTid) ?? Number.NaN, 1);
    } finally {
      await worker.terminate();
    }
  });

  it('reports no onnxruntime pool for a session thread that shares the process\'s name', () => {
    const metrics = new BackendMetrics({ maxBatchSize: 4 });
    // The main thread stands in for a session thread that could not be named.
    metrics.trackThreads(() => [{ thread: 'session:vit', active: 0, idle: 0, tid: process.pid }]);
    expect(metrics.render()).not.toContain('thread="onnxruntime:vit"');
  });
});
