import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { GENERATED_FILE, assemblePillowResize, generatedSource } from './gen-wasm.js';

describe('gen:wasm', () => {
  it('has the committed module in step with pillow-resize.wat', async () => {
    const committed = await readFile(GENERATED_FILE, 'utf8');
    expect(committed, 'run `pnpm --filter @coyo/gpu-backend gen:wasm` and commit the result').toBe(
      generatedSource(await assemblePillowResize()),
    );
  });

  it('assembles a module that compiles here, with SIMD', async () => {
    const module = new WebAssembly.Module(await assemblePillowResize());
    expect(WebAssembly.Module.exports(module).map((e) => e.name).sort()).toEqual(['horizontal', 'horizontal1', 'luma', 'memory', 'planar_lut', 'vertical']);
  });
});
