import { describe, expect, it } from 'vitest';
import { FakeBackend } from '../backend/fake.js';
import type { ImageModel, PreprocessOptions } from '../backend/types.js';
import { ImageInputError } from '../models/errors.js';
import { BackendMetrics } from '../metrics/metrics.js';
import { Engine, stackTensors, unstackRows } from './engine.js';

const PNG = [0x89, 0x50, 0x4e, 0x47];
const image = (size: number) => Uint8Array.from({ length: size }, (_, i) => PNG[i] ?? 1);

/** A fake whose pre-processing records the signal each image saw and can fail chosen images. */
class WatchingBackend extends FakeBackend {
  readonly seen: Array<{ size: number; aborted: boolean }> = [];
  preprocessCalls = 0;

  override async preprocessImage(model: ImageModel, bytes: Uint8Array, options: PreprocessOptions = {}): Promise<Float32Array> {
    this.preprocessCalls += 1;
    if (bytes.length === 17) throw new ImageInputError('invalid_image', 'broken');
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.seen.push({ size: bytes.length, aborted: options.signal?.aborted ?? false });
    return super.preprocessImage(model, bytes, options);
  }
}

function engineWith(backend: FakeBackend, maxQueue = 16) {
  const metrics = new BackendMetrics({ maxBatchSize: 8 });
  return { engine: new Engine({ backend, metrics, batching: { maxBatchSize: 8, maxQueueDelayMs: 0, maxQueue } }), metrics };
}

describe('stackTensors and unstackRows', () => {
  it('stacks equal tensors into one buffer and splits rows back in order', () => {
    const stacked = stackTensors([Float32Array.of(1, 2), Float32Array.of(3, 4), Float32Array.of(5, 6)]);
    expect(Array.from(stacked)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(unstackRows(stacked, 3).map((r) => Array.from(r))).toEqual([[1, 2], [3, 4], [5, 6]]);
  });

  it('stacks into the buffer the allocator gives', () => {
    const recycled = new Float32Array(4).fill(9);
    const stacked = stackTensors([Float32Array.of(1, 2), Float32Array.of(3, 4)], (n) => (n === 4 ? recycled : new Float32Array(n)));
    expect(stacked).toBe(recycled);
    expect(Array.from(stacked)).toEqual([1, 2, 3, 4]);
  });

  it('passes a batch of one through without copying it', () => {
    const only = Float32Array.of(1, 2, 3);
    expect(stackTensors([only])).toBe(only);
  });

  it('refuses tensors of different sizes and outputs that do not split evenly', () => {
    expect(() => stackTensors([Float32Array.of(1), Float32Array.of(1, 2)])).toThrow(/bug/);
    expect(() => unstackRows(Float32Array.of(1, 2, 3), 2)).toThrow(/bug/);
  });
});

describe('Engine', () => {
  it('tells the siblings of a broken image to stop and frees its queue slots', async () => {
    const backend = new WatchingBackend();
    const { engine } = engineWith(backend);
    await expect(engine.embedImages([image(20), image(17)], engine.tryAcquirePermit('embed-image'))).rejects.toBeInstanceOf(ImageInputError);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(backend.seen).toEqual([{ size: 20, aborted: true }]);
    expect(engine.alignVision.reserved).toBe(0);
    expect(backend.runs).toEqual([]);
  });

  it('refuses an overloaded request before pre-processing any of its images', async () => {
    const backend = new WatchingBackend();
    const { engine, metrics } = engineWith(backend, 2);
    await expect(engine.classify([image(20), image(21), image(22)], 5, engine.tryAcquirePermit('classify'))).rejects.toMatchObject({ reason: 'overloaded' });
    expect(backend.preprocessCalls).toBe(0);
    expect(metrics.rejected.get({ tower: 'vit', reason: 'overloaded' })).toBe(3);
  });

  it('returns text embeddings with the tokens each text used', async () => {
    const { engine } = engineWith(new FakeBackend());
    const result = await engine.embedTexts(['a', 'a b c'], engine.tryAcquirePermit('embed-text'));
    expect(result.tokens).toEqual([3, 5]);
    expect(result.embeddings.map((e) => e[0])).toEqual([3, 5]);
  });

  it('answers with the model, revision and dim of the weights that ran', async () => {
    const backend = new FakeBackend();
    const { engine } = engineWith(backend);
    const result = await engine.embedImages([image(20)], engine.tryAcquirePermit('embed-image'));
    expect(result).toMatchObject({ model: 'align-base', revision: backend.revisions.align, dim: backend.models.embeddingDim });
    expect(result.embeddings).toHaveLength(1);
    expect(engine.alignVision.reserved).toBe(0);
  });

  it('refuses a permit at once when the tower queue is full, and frees the slot on release', () => {
    const { engine, metrics } = engineWith(new FakeBackend(), 1);
    const held = engine.tryAcquirePermit('embed-text');
    expect(() => engine.tryAcquirePermit('embed-text')).toThrow(expect.objectContaining({ reason: 'overloaded' }));
    expect(engine.tryAcquirePermit('classify')).toBeDefined();
    expect(metrics.rejected.get({ tower: 'align-text', reason: 'overloaded' })).toBe(1);
    held.release();
    held.release();
    expect(engine.alignText.reserved).toBe(0);
  });

  it('refuses to run a request under a permit taken for other work', async () => {
    const { engine } = engineWith(new FakeBackend());
    await expect(engine.embedTexts(['a'], engine.tryAcquirePermit('embed-image'))).rejects.toThrow(/bug: a permit for embed-image/);
  });

  it('gives the images of a stacked batch back to the backend, and not a batch of one', async () => {
    class Recycling extends FakeBackend {
      readonly recycled: Array<{ model: ImageModel; count: number }> = [];
      override recyclePixels(model: ImageModel, tensors: readonly Float32Array[]): void {
        this.recycled.push({ model, count: tensors.length });
      }
    }
    const backend = new Recycling();
    const { engine } = engineWith(backend);
    await engine.classify([image(20)], 1, engine.tryAcquirePermit('classify'));
    expect(backend.recycled).toEqual([]);
    await engine.classify([image(20), image(21), image(22)], 1, engine.tryAcquirePermit('classify'));
    expect(backend.recycled).toEqual([{ model: 'vit', count: 3 }]);
  });

  it('records batch sizes and queue times per tower', async () => {
    const { engine, metrics } = engineWith(new FakeBackend());
    await engine.embedImages([image(20), image(21)], engine.tryAcquirePermit('embed-image'));
    const text = metrics.render();
    expect(text).toContain('coyo_backend_batch_size_sum{tower="align-vision"} 2');
    expect(text).toContain('coyo_backend_queue_time_seconds_count{tower="align-vision"} 2');
    expect(text).toContain('coyo_backend_inference_time_seconds_count{tower="align-vision"} 1');
  });
});
