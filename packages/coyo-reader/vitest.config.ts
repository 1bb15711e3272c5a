import { defineConfig } from 'vitest/config';

// The reader is runtime-neutral; its unit tests run in Node against in-memory buckets and caches
// (the worker's route tests run it inside workerd against R2).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'testing/**/*.test.ts'],
  },
});
