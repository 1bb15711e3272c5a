import type { Env as WorkerEnv } from '../src/env';
import type * as WorkerModule from '../src/index';

declare global {
  namespace Cloudflare {
    // The bindings the tests see through `cloudflare:test`'s `env`.
    interface Env extends WorkerEnv {}
    // Types `exports` of `cloudflare:workers` (the worker under test: `exports.default.fetch(…)`).
    interface GlobalProps {
      mainModule: typeof WorkerModule;
    }
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Origin of the fake backend / image host (test/fake-backend.ts). */
    fakeOrigin: string;
    /** An origin where nothing listens: a backend that is down. */
    deadOrigin: string;
  }
}
