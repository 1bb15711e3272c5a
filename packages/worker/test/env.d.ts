declare global {
  namespace Cloudflare {
    // The bindings the tests see through `cloudflare:test`'s `env`: wrangler.toml's (generated into
    // worker-configuration.d.ts, which also types `exports` of `cloudflare:workers`) and the secret
    // vitest.config.ts adds.
    interface Env {
      BACKEND_TOKEN: string;
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

export {};
