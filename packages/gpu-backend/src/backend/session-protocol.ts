/**
 * Messages between the main thread and a session thread. Tensors travel as typed arrays whose buffers are
 * transferred, never as JSON.
 */
import type { DeviceChoice } from '../config.js';
import type { Device } from './types.js';

export type WireTensor =
  | { type: 'float32'; data: Float32Array; dims: number[] }
  | { type: 'int64'; data: BigInt64Array; dims: number[] };

/** Outputs always come back as float32 (float16 outputs are widened in the session thread). */
export interface WireOutput {
  data: Float32Array;
  dims: number[];
}

export interface SessionInit {
  name: string;
  modelPath: string;
  device: DeviceChoice;
  /** 0 lets onnxruntime choose. */
  intraOpThreads: number;
  /** Whether onnxruntime's idle pool threads busy-wait for work (its default) instead of sleeping. */
  allowSpinning: boolean;
  /**
   * One Int32 shared by every session thread of the process (`webgpu-lock.ts`): the WebGPU provider's
   * sessions share one device and command encoder, so only one may create, run or release at a time.
   */
  webgpuLock: SharedArrayBuffer;
}

export interface ValueInfo {
  name: string;
  /** onnxruntime's element type name (`float32`, `float16`, `int64`, …). */
  type: string;
}

export type ToSession = { kind: 'run'; id: number; feeds: Record<string, WireTensor> } | { kind: 'close' };

export type FromSession =
  | {
      kind: 'ready';
      /** The thread's kernel id, where the platform has one (its CPU time is the session's). */
      tid?: number;
      device: Device;
      inputs: ValueInfo[];
      outputs: ValueInfo[];
      /** Why `auto` passed over faster providers (`cuda: …; webgpu: …`), when it did. */
      fallback?: string;
    }
  | { kind: 'failed'; message: string }
  | {
      kind: 'result';
      id: number;
      outputs: Record<string, WireOutput>;
      /** The run's float32 input buffers, handed back so the next batch can be stacked into them. */
      spent: ArrayBuffer[];
    }
  | { kind: 'error'; id: number; message: string }
  | { kind: 'closed' };

/** The buffers to transfer with a message carrying these arrays. */
export function transferList(arrays: Iterable<{ data: ArrayBufferView }>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const { data } of arrays) {
    if (data.buffer instanceof ArrayBuffer) buffers.add(data.buffer);
  }
  return [...buffers];
}
