/**
 * The serving pipeline behind the HTTP routes: pre-process off the event loop, queue each item on its
 * tower's batcher, run, post-process. Admission happens first, so an overloaded tower refuses a request
 * before any image is decoded.
 */
import type { BatchingConfig } from '../config.js';
import type { Backend, ImageModel, Tower } from '../backend/types.js';
import type { BackendMetrics } from '../metrics/metrics.js';
import { padBatch } from '../models/tokenizer.js';
import { topK, type Prediction } from '../models/vit-postprocess.js';
import { Batcher, type BatchResult, type Permit } from './batcher.js';
import { QueueRejection } from './errors.js';

export interface WorkOptions {
  /** Absolute time on {@link Engine.now}'s clock after which unstarted work is dropped. */
  deadlineAt?: number;
  /** Aborts when the client has gone. */
  signal?: AbortSignal;
}

/** A result with the time its items waited for a batch and spent in the model, in ms. */
export interface Timed<T> {
  value: T;
  queueMs: number;
  inferenceMs: number;
}

export type { Prediction };

export interface TextEmbeddings {
  embeddings: Float32Array[];
  /** Tokens used per text, after truncation. */
  tokens: number[];
}

export interface EngineOptions {
  backend: Backend;
  batching: BatchingConfig;
  metrics: BackendMetrics;
  /** Monotonic clock in ms (default `performance.now`). */
  now?: () => number;
}

/**
 * Same-sized tensors as one `[batch, …]` buffer that can be transferred to a session thread. A batch
 * of one is that item itself (no copy: on a CPU most batches are single images, and copying 1.7 MB
 * per ViT image on the event loop costs more than the rest of the request); larger batches are
 * copied into `allocate(total length)` (a recycled buffer where the backend has one).
 */
export function stackTensors(
  items: readonly Float32Array[],
  allocate: (length: number) => Float32Array = (length) => new Float32Array(length),
): Float32Array {
  if (items.length === 1) return items[0] as Float32Array;
  const size = items[0]?.length ?? 0;
  const out = allocate(size * items.length);
  if (out.length !== size * items.length) throw new Error(`bug: allocated ${out.length} values for ${size * items.length}`);
  items.forEach((item, i) => {
    if (item.length !== size) throw new Error(`bug: tensor ${i} has ${item.length} values, expected ${size}`);
    out.set(item, i * size);
  });
  return out;
}

/** Splits a `[batch, dim]` output into one row per item. */
export function unstackRows(flat: Float32Array, batch: number): Float32Array[] {
  const dim = flat.length / batch;
  if (!Number.isInteger(dim)) throw new Error(`bug: output of ${flat.length} values does not split into ${batch} rows`);
  return Array.from({ length: batch }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
}

export class Engine {
  readonly backend: Backend;
  readonly alignVision: Batcher<Float32Array, Float32Array>;
  readonly alignText: Batcher<number[], Float32Array>;
  readonly vit: Batcher<Float32Array, Float32Array>;
  readonly #now: () => number;

  constructor({ backend, batching, metrics, now = () => performance.now() }: EngineOptions) {
    this.backend = backend;
    this.#now = now;
    const common = (tower: Tower) => ({ ...batching, name: tower, now, observer: metrics.observerFor(tower) });
    this.alignVision = new Batcher({
      ...common('align-vision'),
      run: async (pixels) =>
        unstackRows(await backend.embedImages(stackTensors(pixels, (n) => backend.pixelBuffer('align', n)), pixels.length), pixels.length),
    });
    this.alignText = new Batcher({
      ...common('align-text'),
      // A text batch is padded to its longest sequence: batch texts of similar length together.
      length: (ids) => ids.length,
      run: async (sequences) => {
        return unstackRows(await backend.embedTexts(padBatch(sequences)), sequences.length);
      },
    });
    this.vit = new Batcher({
      ...common('vit'),
      run: async (pixels) =>
        unstackRows(await backend.classifyImages(stackTensors(pixels, (n) => backend.pixelBuffer('vit', n)), pixels.length), pixels.length),
    });
    metrics.trackQueue('align-vision', () => this.alignVision.depth);
    metrics.trackQueue('align-text', () => this.alignText.depth);
    metrics.trackQueue('vit', () => this.vit.depth);
  }

  /** The clock deadlines are measured on. */
  now(): number {
    return this.#now();
  }

  /** ALIGN image embeddings (unnormalised), one per image, in request order. */
  async embedImages(images: readonly Uint8Array[], options: WorkOptions = {}): Promise<Timed<Float32Array[]>> {
    const result = await this.#runImages(this.alignVision, 'align', images, options);
    return { value: result.outputs, queueMs: result.queueMs, inferenceMs: result.inferenceMs };
  }

  /** ViT predictions, `k` per image (capped at the number of labels), scores descending. */
  async classify(images: readonly Uint8Array[], k: number, options: WorkOptions = {}): Promise<Timed<Prediction[][]>> {
    const result = await this.#runImages(this.vit, 'vit', images, options);
    const labels = this.backend.models.vitLabels;
    const value = result.outputs.map((logits) => topK(logits, labels, k));
    return { value, queueMs: result.queueMs, inferenceMs: result.inferenceMs };
  }

  /** ALIGN text embeddings (unnormalised) and the tokens each text used. */
  async embedTexts(texts: readonly string[], options: WorkOptions = {}): Promise<Timed<TextEmbeddings>> {
    const permit = this.#admit(this.alignText, texts.length);
    try {
      const sequences = await this.backend.tokenize(texts, options.signal ? { signal: options.signal } : {});
      const result = await this.alignText.submit(permit, sequences, options);
      return {
        value: { embeddings: result.outputs, tokens: sequences.map((s) => s.length) },
        queueMs: result.queueMs,
        inferenceMs: result.inferenceMs,
      };
    } finally {
      permit.release();
    }
  }

  #admit<I, O>(batcher: Batcher<I, O>, count: number): Permit {
    const permit = batcher.admit(count);
    if (!permit) throw new QueueRejection('overloaded', `the ${batcher.name} queue is full`);
    return permit;
  }

  async #runImages(
    batcher: Batcher<Float32Array, Float32Array>,
    model: ImageModel,
    images: readonly Uint8Array[],
    options: WorkOptions,
  ): Promise<BatchResult<Float32Array>> {
    const permit = this.#admit(batcher, images.length);
    // One failed image fails the request: stop pre-processing its siblings that have not started.
    const failed = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
    try {
      const pixels = await Promise.all(
        images.map((bytes) =>
          this.backend.preprocessImage(model, bytes, { signal }).catch((error: unknown) => {
            failed.abort();
            throw error;
          }),
        ),
      );
      return await batcher.submit(permit, pixels, options);
    } finally {
      permit.release();
    }
  }
}
