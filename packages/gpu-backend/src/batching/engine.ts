/**
 * The serving pipeline behind the HTTP routes: pre-process off the event loop, queue each item on its
 * tower's batcher, run, post-process. The HTTP layer asks it twice per request, as TEI's router does
 * (`try_acquire_permit`, then `embed(…, permit)`): {@link Engine.tryAcquirePermit} before the body is
 * read, so an overloaded tower refuses at once, then one call that returns everything the answer needs
 * (outputs, model, revision, dim, timings).
 */
import { MODEL_TASKS, type ModelsAnswer } from '@coyo/backend-protocol';
import type { BatchingConfig } from '../config.js';
import {
  ALIGN_IMAGE_SIZE,
  ALIGN_MODEL_ID,
  MAX_TEXT_TOKENS,
  VIT_IMAGE_SIZE,
  VIT_MODEL_ID,
  type Backend,
  type ImageModel,
  type Tower,
} from '../backend/types.js';
import type { Sha256Claim } from '../backend/sha256-claim.js';
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
  /**
   * The images' buffers are the engine's to give away: each image that fills its whole `ArrayBuffer` is
   * transferred to its pre-processing thread instead of copied, and is detached once the call has started.
   */
  transferImages?: boolean;
  /**
   * The SHA-256 the caller claims for its one image: checked where the image is decoded, before decoding
   * (`PreprocessOptions.sha256`), and confirmed on the claim when equal.
   */
  sha256?: Sha256Claim;
}

/** The kinds of work a request asks for, each served by one tower. */
export type Work = 'embed-image' | 'embed-text' | 'classify';

/** What every answer carries: the model and weights that made it, and where its time went (ms). */
export interface Answered {
  model: string;
  /** The served model's revision (`backend/revision.ts`). */
  revision: string;
  /** Time tokenising the texts or decoding and resizing the images took, start to last one done. */
  preprocessMs: number;
  /** Longest time any of the request's items waited for a batch. */
  queueMs: number;
  /** Time the batches that served them spent in the model. */
  inferenceMs: number;
}

export interface ImageEmbeddings extends Answered {
  dim: number;
  /** Unnormalised, one per input in request order. */
  embeddings: Float32Array[];
}

export interface TextEmbeddings extends ImageEmbeddings {
  /** Tokens used per text, after truncation. */
  tokens: number[];
}

export interface Classifications extends Answered {
  /** Per image, the top classes, scores descending. */
  predictions: Prediction[][];
}

export type { Prediction };

/**
 * A request's place in its tower's queue, taken before its body is read. The engine call the request
 * makes with it widens it to the request's item count; `release()` (idempotent) returns its slots when
 * the request ends, whether or not it got that far.
 */
export class RequestPermit {
  /** @internal made by {@link Engine.tryAcquirePermit} only. */
  constructor(
    readonly work: Work,
    readonly slots: Permit,
  ) {}

  release(): void {
    this.slots.release();
  }
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

/**
 * A batch of `model`'s images as one tensor for its run: stacked into a recycled buffer where the
 * backend has one, the images' own buffers then given back to be written into again.
 */
function stackImages(backend: Backend, model: ImageModel, images: readonly Float32Array[]): Float32Array {
  const stacked = stackTensors(images, (n) => backend.pixelBuffer(model, n));
  if (images.length > 1) backend.recyclePixels(model, images);
  return stacked;
}

/**
 * Splits a `[batch, dim]` output into one row per item: views of `flat`, which the rows then share (an
 * output is only read once it is answered, and a batch's output is a few kilobytes), rather than a new
 * buffer per row.
 */
export function unstackRows(flat: Float32Array, batch: number): Float32Array[] {
  const dim = flat.length / batch;
  if (!Number.isInteger(dim)) throw new Error(`bug: output of ${flat.length} values does not split into ${batch} rows`);
  const rows = new Array<Float32Array>(batch);
  for (let i = 0; i < batch; i++) rows[i] = flat.subarray(i * dim, (i + 1) * dim);
  return rows;
}

export class Engine {
  readonly backend: Backend;
  readonly alignVision: Batcher<Float32Array, Float32Array>;
  readonly alignText: Batcher<number[], Float32Array>;
  readonly vit: Batcher<Float32Array, Float32Array>;
  readonly #now: () => number;
  readonly #batching: BatchingConfig;

  constructor({ backend, batching, metrics, now = () => performance.now() }: EngineOptions) {
    this.backend = backend;
    this.#now = now;
    this.#batching = batching;
    const common = (tower: Tower) => ({ ...batching, name: tower, now, observer: metrics.observerFor(tower) });
    this.alignVision = new Batcher({
      ...common('align-vision'),
      run: async (pixels) => unstackRows(await backend.embedImages(stackImages(backend, 'align', pixels), pixels.length), pixels.length),
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
      run: async (pixels) => unstackRows(await backend.classifyImages(stackImages(backend, 'vit', pixels), pixels.length), pixels.length),
    });
    metrics.trackQueue('align-vision', () => this.alignVision.depth);
    metrics.trackQueue('align-text', () => this.alignText.depth);
    metrics.trackQueue('vit', () => this.vit.depth);
  }

  /** The clock deadlines are measured on. */
  now(): number {
    return this.#now();
  }

  /**
   * Takes one queue slot for a request of `work`, or throws an `overloaded` {@link QueueRejection} at
   * once when its tower's queue is full. Call it before reading the request's body.
   */
  tryAcquirePermit(work: Work): RequestPermit {
    return new RequestPermit(work, this.#admit(this.#batcherFor(work), 1));
  }

  /** ALIGN image embeddings (unnormalised), one per image, in request order. */
  async embedImages(images: readonly Uint8Array[], permit: RequestPermit, options: WorkOptions = {}): Promise<ImageEmbeddings> {
    const result = await this.#runImages(this.alignVision, 'align', images, this.#widen(permit, 'embed-image', images.length), options);
    return {
      model: ALIGN_MODEL_ID,
      revision: this.backend.revisions.align,
      dim: this.backend.models.embeddingDim,
      embeddings: result.outputs,
      preprocessMs: result.preprocessMs,
      queueMs: result.queueMs,
      inferenceMs: result.inferenceMs,
    };
  }

  /** ViT predictions, `k` per image (capped at the number of labels), scores descending. */
  async classify(images: readonly Uint8Array[], k: number, permit: RequestPermit, options: WorkOptions = {}): Promise<Classifications> {
    const result = await this.#runImages(this.vit, 'vit', images, this.#widen(permit, 'classify', images.length), options);
    const labels = this.backend.models.vitLabels;
    return {
      model: VIT_MODEL_ID,
      revision: this.backend.revisions.vit,
      predictions: result.outputs.map((logits) => topK(logits, labels, k)),
      preprocessMs: result.preprocessMs,
      queueMs: result.queueMs,
      inferenceMs: result.inferenceMs,
    };
  }

  /** ALIGN text embeddings (unnormalised) and the tokens each text used. */
  async embedTexts(texts: readonly string[], permit: RequestPermit, options: WorkOptions = {}): Promise<TextEmbeddings> {
    const slots = this.#widen(permit, 'embed-text', texts.length);
    try {
      const tokenizing = this.#now();
      const sequences = await this.backend.tokenize(texts, options.signal ? { signal: options.signal } : {});
      const preprocessMs = this.#now() - tokenizing;
      const result = await this.alignText.submit(slots, sequences, options);
      return {
        model: ALIGN_MODEL_ID,
        revision: this.backend.revisions.align,
        dim: this.backend.models.embeddingDim,
        embeddings: result.outputs,
        tokens: sequences.map((s) => s.length),
        preprocessMs,
        queueMs: result.queueMs,
        inferenceMs: result.inferenceMs,
      };
    } finally {
      slots.release();
    }
  }

  /** The served models and the batching knobs, as `GET /v1/models` reports them. */
  describe(): ModelsAnswer {
    const { models } = this.backend;
    return {
      device: this.backend.device,
      test_models: models.testModels,
      ...(models.warning !== undefined ? { warning: models.warning } : {}),
      models: [
        {
          id: ALIGN_MODEL_ID,
          revision: this.backend.revisions.align,
          task: MODEL_TASKS.zeroShot,
          image_size: ALIGN_IMAGE_SIZE,
          embedding_dim: models.embeddingDim,
          max_text_tokens: MAX_TEXT_TOKENS,
          temperature: models.alignTemperature,
        },
        {
          id: VIT_MODEL_ID,
          revision: this.backend.revisions.vit,
          task: MODEL_TASKS.imageClassification,
          image_size: VIT_IMAGE_SIZE,
          num_labels: models.vitLabels.length,
        },
      ],
      batching: {
        max_batch_size: this.#batching.maxBatchSize,
        max_queue_delay_ms: this.#batching.maxQueueDelayMs,
        max_queue: this.#batching.maxQueue,
      },
    };
  }

  #batcherFor(work: Work): Batcher<Float32Array, Float32Array> | Batcher<number[], Float32Array> {
    switch (work) {
      case 'embed-image':
        return this.alignVision;
      case 'embed-text':
        return this.alignText;
      case 'classify':
        return this.vit;
    }
  }

  #admit(batcher: Batcher<Float32Array, Float32Array> | Batcher<number[], Float32Array>, count: number): Permit {
    const permit = batcher.admit(count);
    if (!permit) throw new QueueRejection('overloaded', `the ${batcher.name} queue is full`);
    return permit;
  }

  /** The permit's slots, widened to `count` items of `work`; the request is refused when they do not fit. */
  #widen(permit: RequestPermit, work: Work, count: number): Permit {
    if (permit.work !== work) throw new Error(`bug: a permit for ${permit.work} used for ${work}`);
    if (count < 1) throw new Error(`bug: ${work} called with no inputs`);
    const batcher = this.#batcherFor(work);
    if (!batcher.widen(permit.slots, count)) throw new QueueRejection('overloaded', `the ${batcher.name} queue is full`);
    return permit.slots;
  }

  async #runImages(
    batcher: Batcher<Float32Array, Float32Array>,
    model: ImageModel,
    images: readonly Uint8Array[],
    permit: Permit,
    options: WorkOptions,
  ): Promise<BatchResult<Float32Array> & { preprocessMs: number }> {
    try {
      const preprocessing = this.#now();
      const pixels = await this.#preprocessImages(model, images, options);
      const preprocessMs = this.#now() - preprocessing;
      return { ...(await batcher.submit(permit, pixels, options)), preprocessMs };
    } finally {
      permit.release();
    }
  }

  /**
   * Each image's tensor, in request order. One failed image fails the request: its siblings that have not
   * started are dropped. A single image (most requests) needs no signal of its own for that: it has none.
   */
  async #preprocessImages(model: ImageModel, images: readonly Uint8Array[], options: WorkOptions): Promise<Float32Array[]> {
    const transfer = options.transferImages === true ? { transfer: true } : {};
    const [only] = images;
    if (images.length === 1 && only !== undefined) {
      const sha256 = options.sha256 !== undefined ? { sha256: options.sha256 } : {};
      return [await this.backend.preprocessImage(model, only, { ...(options.signal ? { signal: options.signal } : {}), ...transfer, ...sha256 })];
    }
    if (options.sha256 !== undefined) throw new Error(`bug: one sha-256 given for ${images.length} images`);
    const failed = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
    return Promise.all(
      images.map((bytes) =>
        this.backend.preprocessImage(model, bytes, { signal, ...transfer }).catch((error: unknown) => {
          failed.abort();
          throw error;
        }),
      ),
    );
  }
}
