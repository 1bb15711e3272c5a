/**
 * Starts worker threads for TypeScript modules, in development (tsx) and tests (vitest) alike.
 */
import { Worker } from 'node:worker_threads';

/**
 * Defined (true) by the one-file build of the device pack (`scripts/device-pack.ts`): the bundle is then its
 * own thread entry (`src/one-file.ts`), started with the module's URL as its name.
 */
declare const COYO_ONE_FILE: boolean | undefined;
const ONE_FILE = typeof COYO_ONE_FILE === 'boolean' && COYO_ONE_FILE;

const ENTRY = ONE_FILE ? new URL(import.meta.url) : new URL('./thread-entry.mjs', import.meta.url);

/**
 * Starts `module` (a URL, usually `new URL('./x.ts', import.meta.url)`) in a worker thread with `data` as
 * its input (`workerData.data`). The thread does not inherit the parent's Node flags: the entry registers
 * what the module needs itself, so the same code runs under tsx, vitest or plain Node. The entry gives the
 * thread `name` as its kernel name too (`/proc`, `top -H`, `perf`; cut to 15 bytes), which the threads it
 * starts inherit: a session's onnxruntime pool is then told apart from the rest of the process.
 */
export function startThread(module: URL, data: unknown, name: string): Worker {
  return new Worker(ENTRY, { workerData: { module: module.href, data, name }, execArgv: [], name });
}
