import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { buildAssets } from './scripts/build-assets';

// wrangler.toml serves the pages from the built assets folder: build it first, so the runtime
// never starts without it or with stale pages.
await buildAssets();

/**
 * Two projects. `workers`: the app's tests, run inside workerd (the Workers runtime) with the
 * bindings of the root wrangler.toml; a real HTTP server in Node (test/fake-backend.ts, started by
 * the global setup) plays the GPU backend and public image hosts, and BACKEND_URL points the default
 * app (SELF) at it. `node`: checks of the build's own files that need Node (wrangler's CLI).
 */
export default defineConfig({
  test: {
    projects: [
      {
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
          name: 'workers',
          include: ['src/**/*.test.ts'],
          globalSetup: ['./test/global-setup.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'node',
          include: ['scripts/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
    ],
  },
});
