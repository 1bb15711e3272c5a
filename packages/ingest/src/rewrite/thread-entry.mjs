// Entry of the shard-rewrite threads. Node 20 does not apply the main thread's loader hooks (tsx) to
// worker threads, so tsx is registered here before the TypeScript worker module is imported.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
