import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { buildAssets } from './scripts/build-assets';

// wrangler.toml serves the pages from the built assets folder: build it first, so the runtime
// never starts without it or with stale pages.
await buildAssets();

/**
 * Tests run inside workerd (the Workers runtime) with the bindings of the root wrangler.toml. A
 * real HTTP server in Node (test/fake-backend.ts, started by the global setup) plays the GPU
 * backend and public image hosts; BACKEND_URL points the default app (SELF) at it.
 */
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: '../../wrangler.toml' },
      miniflare: {
        bindings: {
          BACKEND_URL: `${inject('fakeOrigin')}/t/self/normal`,
          BACKEND_TOKEN: 'test-backend-token',
        },
      },
    })),
  ],
  test: {
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 20_000,
  },
});
