import { defineConfig } from 'vitest/config';

// End-to-end suites start real processes (backend, workerd, Chromium): run files one at a time.
export default defineConfig({
  test: {
    // Builds the worker's static assets (the pages) before any suite starts the worker.
    globalSetup: ['./harness/global-setup.ts'],
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
  },
});
