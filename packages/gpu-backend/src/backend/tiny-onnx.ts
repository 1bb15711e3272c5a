/**
 * Small ONNX graphs built in code, for tests of the session threads only (the model-shaped test models
 * come from `src/models/test-models.ts`).
 */
import { writeFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { valueInfo } from '../models/test-models.js';

// onnx-proto is CommonJS: its namespace comes from the default export.
const { onnx } = onnxProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;

function save(path: string, graph: OnnxTypes.IGraphProto): void {
  const model = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph });
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
}

/**
 * `y = x · W · W · … (repeats times)` with x `[batch, width]` float32 and W = I/2 + 1/(2·width), so values
 * stay bounded. Large batches make a run slow enough to observe the event loop while it runs.
 */
export function writeMatMulChainModel(path: string, width: number, repeats: number): void {
  const weights = new Float32Array(width * width).fill(1 / (2 * width));
  for (let i = 0; i < width; i++) weights[i * width + i] = (weights[i * width + i] ?? 0) + 0.5;
  const nodes: OnnxTypes.INodeProto[] = [];
  let previous = 'x';
  for (let i = 0; i < repeats; i++) {
    const out = i === repeats - 1 ? 'y' : `h${i}`;
    nodes.push({ opType: 'MatMul', input: [previous, 'W'], output: [out] });
    previous = out;
  }
  save(path, {
    name: 'matmul-chain',
    node: nodes,
    initializer: [{ name: 'W', dataType: FLOAT, dims: [width, width], rawData: new Uint8Array(weights.buffer) }],
    input: [valueInfo('x', FLOAT, ['batch', width])],
    output: [valueInfo('y', FLOAT, ['batch', width])],
  });
}

/** `y = 2·x` with float16 input and output `[batch, width]`, as an fp16 export with fp16 I/O has. */
export function writeFloat16DoubleModel(path: string, width: number): void {
  save(path, {
    name: 'fp16-double',
    node: [
      { opType: 'Cast', input: ['x'], output: ['x32'], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }] },
      { opType: 'Add', input: ['x32', 'x32'], output: ['y32'] },
      { opType: 'Cast', input: ['y32'], output: ['y'], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT16 }] },
    ],
    input: [valueInfo('x', FLOAT16, ['batch', width])],
    output: [valueInfo('y', FLOAT16, ['batch', width])],
  });
}
