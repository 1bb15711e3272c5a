/**
 * Small ONNX graphs for tests of the session threads only (the model-shaped test models come from
 * `src/models/test-models.ts`); both are built with the package's one graph builder.
 */
import { writeFileSync } from 'node:fs';
import { ELEM_TYPE, GraphBuilder, attr } from '../src/models/onnx-builder.js';

/**
 * `y = x · W · W · … (repeats times)` with x `[batch, width]` float32 and W = I/2 + 1/(2·width), so values
 * stay bounded. Large batches make a run slow enough to observe the event loop while it runs.
 */
export function writeMatMulChainModel(path: string, width: number, repeats: number): void {
  const weights = new Float32Array(width * width).fill(1 / (2 * width));
  for (let i = 0; i < width; i++) weights[i * width + i] = (weights[i * width + i] ?? 0) + 0.5;
  const g = new GraphBuilder();
  g.input('x', 'float32', ['batch', width]);
  g.tensor('W', 'float32', [width, width], weights);
  let previous = 'x';
  for (let i = 0; i < repeats; i++) {
    const out = i === repeats - 1 ? 'y' : `h${i}`;
    g.node('MatMul', [previous, 'W'], [out]);
    previous = out;
  }
  g.output('y', 'y', 'float32', ['batch', width]);
  writeFileSync(path, g.encode({ producerName: 'matmul-chain', docString: 'y = x · Wⁿ' }));
}

/** `y = 2·x` with float16 input and output `[batch, width]`, as an fp16 export with fp16 I/O has. */
export function writeFloat16DoubleModel(path: string, width: number): void {
  const g = new GraphBuilder();
  g.input('x', 'float16', ['batch', width]);
  g.node('Cast', ['x'], ['x32'], { to: attr.int(ELEM_TYPE.float32) });
  g.node('Add', ['x32', 'x32'], ['y32']);
  g.node('Cast', ['y32'], ['y'], { to: attr.int(ELEM_TYPE.float16) });
  g.output('y', 'y', 'float16', ['batch', width]);
  writeFileSync(path, g.encode({ producerName: 'fp16-double', docString: 'y = 2·x in float16' }));
}
