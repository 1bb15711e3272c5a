/**
 * Entry of the one-file build of the backend (the device pack, `scripts/device-pack.ts`): on the main
 * thread it is the server (`main.ts`); started as a worker thread (`backend/threads.ts` points threads at
 * the bundle itself there) it runs the thread module named in `workerData.module`.
 */
import { isMainThread, workerData } from 'node:worker_threads';
import { nameCurrentThread } from './metrics/thread-cpu.js';

const module: unknown = isMainThread ? undefined : (workerData as { module?: unknown } | null)?.module;
// As `backend/thread-entry.mjs` does: the thread's kernel name, inherited by the threads it starts.
const threadName: unknown = isMainThread ? undefined : (workerData as { name?: unknown } | null)?.name;
if (typeof threadName === 'string') nameCurrentThread(threadName);
if (module === undefined) {
  await import('./main.js');
} else if (typeof module === 'string' && module.endsWith('/session-worker.ts')) {
  await import('./backend/session-worker.js');
} else if (typeof module === 'string' && module.endsWith('/preprocess-worker.ts')) {
  await import('./backend/preprocess-worker.js');
} else {
  throw new Error(`one-file build: no thread module ${typeof module === 'string' ? module : typeof module}`);
}
