// Entry of every worker thread the backend starts. Node 20 does not apply the main thread's loader hooks
// (tsx) to worker threads, so when the module to run is TypeScript, tsx is registered in this thread
// first. `workerData.module` is the URL of the module to run; `workerData.data` is its own input.
import { writeFileSync } from 'node:fs';
import { workerData } from 'node:worker_threads';

const url = workerData.module;
if (url.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
// Then the thread takes `workerData.name` as its kernel name, so that the threads its module starts
// (onnxruntime's pool, created with a session) inherit it (`metrics/thread-cpu.ts`, `nameCurrentThread`);
// after tsx, whose loader-hooks thread is no thread of the module's.
try {
  writeFileSync('/proc/thread-self/comm', Buffer.from(String(workerData.name), 'utf8').subarray(0, 15));
} catch {
  // not Linux: threads keep the process's name
}
await import(url);
