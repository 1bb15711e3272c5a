import { defineConfig } from 'vitest/config';

// DuckDB uses native threads; two cores are shared with other suites, so run files one at a time.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts', 'scripts/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    // Suites build a version in beforeAll (sort, then one shard rewrite per shard in JS): slow under load.
    hookTimeout: 120_000,
  },
});
