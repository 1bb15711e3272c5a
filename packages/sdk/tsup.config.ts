import { defineConfig } from 'tsup';

// ESM + CommonJS + declarations for both; one split build so `@coyo/sdk` and `@coyo/sdk/node` share
// one copy of the error classes (instanceof holds across entries) in either format.
export default defineConfig([
  {
    entry: { index: 'src/index.ts', node: 'src/node.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    splitting: true,
    clean: true,
    target: 'es2022',
    sourcemap: false,
    treeshake: true,
  },
  {
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    target: 'es2022',
    platform: 'node',
  },
]);
