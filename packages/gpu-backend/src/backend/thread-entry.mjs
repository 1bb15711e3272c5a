// Entry of every worker thread the backend starts. Node 20 does not apply the main thread's loader hooks
// (tsx) to worker threads, so when the module to run is TypeScript, tsx is registered in this thread
// first. `workerData.module` is the URL of the module to run; `workerData.data` is its own input.
import { workerData } from 'node:worker_threads';

const url = workerData.module;
if (url.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(url);
