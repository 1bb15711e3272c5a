import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SPARE_SIZES, SPARE_BYTES_PER_SIZE, SessionHost } from './session-host.js';
import { writeFloat16DoubleModel, writeMatMulChainModel } from '../../test/tiny-onnx.js';

let dir: string;
let chain: string;
let fp16: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'session-host-'));
  chain = join(dir, 'chain.onnx');
  fp16 = join(dir, 'fp16.onnx');
  writeMatMulChainModel(chain, 256, 24);
  writeFloat16DoubleModel(fp16, 4);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const start = (modelPath: string, device: 'cpu' | 'auto' = 'cpu') =>
  SessionHost.start({ name: 'test', modelPath, device, intraOpThreads: 1 });

function ones(batch: number, width: number) {
  return { x: { type: 'float32' as const, data: new Float32Array(batch * width).fill(1), dims: [batch, width] } };
}

describe('SessionHost', () => {
  it('runs the model in its thread and returns the outputs with their shape', async () => {
    const host = await start(chain);
    try {
      expect(host.inputs).toEqual([{ name: 'x', type: 'float32' }]);
      const { y } = await host.run(ones(2, 256));
      expect(y?.dims).toEqual([2, 256]);
      // Each row of W sums to 1, so a vector of ones stays ones through the chain.
      expect(Array.from(y?.data ?? []).every((v) => Math.abs(v - 1) < 1e-4)).toBe(true);
    } finally {
      await host.close();
    }
  });

  it('loads and runs with onnxruntime thread spinning allowed and with it off', async () => {
    for (const allowSpinning of [true, false]) {
      const host = await SessionHost.start({ name: 'test', modelPath: chain, device: 'cpu', intraOpThreads: 2, allowSpinning });
      try {
        const { y } = await host.run(ones(1, 256));
        expect(y?.dims).toEqual([1, 256]);
      } finally {
        await host.close();
      }
    }
  });

  it('hands back the input buffer of a finished run for the next batch, once, for the sizes used last', async () => {
    const host = await start(chain);
    try {
      const feeds = ones(4, 256);
      const sent = feeds.x.data.buffer;
      await host.run(feeds);
      expect(sent.byteLength, 'the input was transferred, not copied').toBe(0);
      expect(host.takeSpare(4 * 256 * 4 + 4)).toBeUndefined();
      const spare = host.takeSpare(4 * 256 * 4);
      expect(spare?.byteLength).toBe(4 * 256 * 4);
      expect(host.takeSpare(4 * 256 * 4), 'a spare is handed out once').toBeUndefined();

      // A reused buffer runs like a new one.
      const reused = new Float32Array(spare ?? new ArrayBuffer(0)).fill(1);
      const { y } = await host.run({ x: { type: 'float32', data: reused, dims: [4, 256] } });
      expect(Array.from(y?.data ?? []).every((v) => Math.abs(v - 1) < 1e-4)).toBe(true);

      for (const batch of [1, 2, 3, 5]) await host.run(ones(batch, 256));
      const kept = [1, 2, 3, 4, 5].filter((batch) => host.takeSpare(batch * 256 * 4) !== undefined);
      expect(kept).toHaveLength(MAX_SPARE_SIZES);
      expect(kept).toEqual([2, 3, 5]);
    } finally {
      await host.close();
    }
  });

  it('keeps spare buffers of one size up to its byte budget, and buffers given back to it', async () => {
    const host = await start(chain);
    try {
      const size = 4 * 256 * 4;
      const given = Array.from({ length: 3 }, () => new ArrayBuffer(size));
      host.giveSpare(given);
      await host.run(ones(4, 256));
      const taken = new Set<ArrayBuffer>();
      for (let b = host.takeSpare(size); b !== undefined; b = host.takeSpare(size)) taken.add(b);
      expect(taken.size).toBe(4);
      for (const b of given) expect(taken.has(b)).toBe(true);

      const big = SPARE_BYTES_PER_SIZE / 2 + 4;
      host.giveSpare([new ArrayBuffer(big), new ArrayBuffer(big), new ArrayBuffer(0)]);
      expect(host.takeSpare(big)).toBeDefined();
      expect(host.takeSpare(big), 'only one buffer over half the budget').toBeUndefined();
      expect(host.takeSpare(0), 'a detached buffer is not kept').toBeUndefined();
    } finally {
      await host.close();
    }
  });

  it('keeps the event loop free while a run is in flight', async () => {
    const host = await start(chain);
    try {
      let ticks = 0;
      const timer = setInterval(() => {
        ticks += 1;
      }, 1);
      const running = host.run(ones(1024, 256));
      let ticksBeforeAnswer = -1;
      await running.then(() => {
        ticksBeforeAnswer = ticks;
      });
      clearInterval(timer);
      expect(ticksBeforeAnswer).toBeGreaterThan(0);
    } finally {
      await host.close();
    }
  });

  it('finishes a run in flight before closing the session', async () => {
    const host = await start(chain);
    const running = host.run(ones(512, 256));
    const closing = host.close();
    const { y } = await running;
    expect(y?.dims).toEqual([512, 256]);
    await closing;
    await expect(host.run(ones(1, 256))).rejects.toThrow('closing');
  });

  it('converts float32 feeds to a float16 input and float16 outputs back to float32', async () => {
    const host = await start(fp16);
    try {
      expect(host.inputs).toEqual([{ name: 'x', type: 'float16' }]);
      const { y } = await host.run({ x: { type: 'float32', data: Float32Array.of(0.5, -1.25, 3, 100), dims: [1, 4] } });
      expect(Array.from(y?.data ?? [])).toEqual([1, -2.5, 6, 200]);
    } finally {
      await host.close();
    }
  });

  it('rejects with an error naming the file when the model cannot be loaded', async () => {
    const broken = join(dir, 'broken.onnx');
    writeFileSync(broken, 'not an onnx model');
    await expect(start(broken)).rejects.toThrow(broken);
  });

  it('answers a failed run with an error and keeps serving', async () => {
    const host = await start(chain);
    try {
      await expect(host.run(ones(1, 3))).rejects.toThrow('test run failed');
      const { y } = await host.run(ones(1, 256));
      expect(y?.dims).toEqual([1, 256]);
    } finally {
      await host.close();
    }
  });

  it('with device auto tries CUDA, then WebGPU, then the CPU, and says why it passed over each', async () => {
    const host = await start(chain, 'auto');
    try {
      if (host.device === 'cpu') expect(host.fallback).toMatch(/^cuda: .+; webgpu: .+/);
      else if (host.device === 'webgpu') expect(host.fallback).toMatch(/^cuda: /);
      else expect(host.fallback).toBeUndefined();
      const { y } = await host.run(ones(1, 256));
      expect(y?.dims).toEqual([1, 256]);
    } finally {
      await host.close();
    }
  });

  it('reports a thread that dies while serving once, and not a deliberate close', async () => {
    const deaths: Error[] = [];
    const crashing = new URL('../../test/crashing-session-worker.ts', import.meta.url);
    const host = await SessionHost.start({ name: 'crashy', modelPath: 'unused.onnx', device: 'cpu', intraOpThreads: 1, module: crashing, onDeath: (e) => deaths.push(e) });
    await expect(host.run(ones(1, 4))).rejects.toThrow(/crashy session thread/);
    await expect(host.run(ones(1, 4))).rejects.toThrow(/crashy session thread/);
    expect(deaths).toHaveLength(1);
    await host.close();

    const calm = await SessionHost.start({ name: 'calm', modelPath: 'unused.onnx', device: 'cpu', intraOpThreads: 1, module: crashing, onDeath: (e) => deaths.push(e) });
    await calm.close();
    expect(deaths).toHaveLength(1);
  });
});
