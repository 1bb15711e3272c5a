/**
 * Starts worker threads for TypeScript modules, in development (tsx) and tests (vitest) alike.
 */
import { Worker } from 'node:worker_threads';

const ENTRY = new URL('./thread-entry.mjs', import.meta.url);

/**
 * Starts `module` (a URL, usually `new URL('./x.ts', import.meta.url)`) in a worker thread with `data` as
 * its input (`workerData.data`). The thread does not inherit the parent's Node flags: the entry registers
 * what the module needs itself, so the same code runs under tsx, vitest or plain Node.
 */
export function startThread(module: URL, data: unknown, name: string): Worker {
  return new Worker(ENTRY, { workerData: { module: module.href, data }, execArgv: [], name });
}
