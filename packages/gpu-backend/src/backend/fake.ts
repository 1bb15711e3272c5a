/**
 * A deterministic stand-in for the ONNX backend, for tests of the HTTP and batching layers only. Its
 * outputs encode their inputs (an image's byte length, a text's token count) so tests can check that each
 * answer reached the right caller, and runs can be held open to test behaviour while a batch is running.
 */
import { ImageInputError } from '../models/errors.js';
import { QueueRejection } from '../batching/errors.js';
import type { PaddedBatch } from '../models/tokenizer.js';
import { checkSha256 } from './sha256-claim.js';
import {
  ALIGN_EMBEDDING_DIM,
  MAX_TEXT_TOKENS,
  type Backend,
  type Device,
  type ImageModel,
  type ModelRevisions,
  type ModelsInfo,
  type PreprocessOptions,
  type Tower,
} from './types.js';

/** Values per fake image tensor: [byte length, first byte, model code]. */
export const FAKE_PIXELS_PER_IMAGE = 3;
/** Fake images shorter than this are "truncated". */
export const FAKE_MIN_IMAGE_BYTES = 16;
const CLS = 101;
const SEP = 102;

/** The fake's model revisions unless a test chooses others. */
export const FAKE_REVISIONS: ModelRevisions = { align: '0123456789abcdef', vit: 'fedcba9876543210' };

export interface FakeBackendOptions {
  labels?: readonly string[];
  testModels?: boolean;
  warning?: string;
  revisions?: ModelRevisions;
}

export interface FakeRun {
  tower: Tower;
  batch: number;
  /** Padded sequence length of a text batch. */
  seqLen?: number;
}

const MAGIC: readonly (readonly number[])[] = [
  [0x89, 0x50, 0x4e, 0x47], // PNG
  [0xff, 0xd8, 0xff], // JPEG
  [0x47, 0x49, 0x46, 0x38], // GIF
  [0x52, 0x49, 0x46, 0x46], // RIFF (WebP)
];

function looksLikeImage(bytes: Uint8Array): boolean {
  return MAGIC.some((magic) => magic.every((b, i) => bytes[i] === b));
}

export class FakeBackend implements Backend {
  readonly device: Device = 'cpu';
  readonly models: ModelsInfo;
  readonly revisions: ModelRevisions;
  /** Every run, in order. */
  readonly runs: FakeRun[] = [];
  closed = false;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  #failNext: Error | undefined;
  #running = 0;
  #onRunStart: (() => void) | undefined;

  constructor(options: FakeBackendOptions = {}) {
    const labels = options.labels ?? Array.from({ length: 10 }, (_, i) => `label ${i}`);
    this.models = {
      testModels: options.testModels ?? false,
      ...(options.warning !== undefined ? { warning: options.warning } : {}),
      alignTemperature: 0.01,
      vitLabels: labels,
      embeddingDim: ALIGN_EMBEDDING_DIM,
    };
    this.revisions = options.revisions ?? FAKE_REVISIONS;
  }

  /** Makes runs wait until {@link release}; returns a promise that resolves when the next run starts. */
  hold(): Promise<void> {
    this.#gate = new Promise<void>((resolve) => {
      this.#open = resolve;
    });
    return new Promise<void>((resolve) => {
      this.#onRunStart = resolve;
    });
  }

  release(): void {
    this.#gate = undefined;
    this.#open?.();
  }

  /** Makes the next run fail with `error`. */
  failNext(error: Error): void {
    this.#failNext = error;
  }

  get running(): number {
    return this.#running;
  }

  async preprocessImage(model: ImageModel, bytes: Uint8Array, options: PreprocessOptions = {}): Promise<Float32Array> {
    // Answer on a later tick, as the real pool does from its threads.
    await Promise.resolve();
    if (options.signal?.aborted) throw new QueueRejection('client_gone', 'the client closed the request');
    // As the pre-processing thread: the digest is checked before anything else looks at the bytes.
    if (options.sha256 !== undefined) {
      const { sha256, mismatch } = checkSha256(bytes, options.sha256.expected);
      if (mismatch !== undefined) throw mismatch;
      options.sha256.confirm(sha256);
    }
    // As the real decoder: unknown magic bytes are an unsupported type, a known one that is cut short is invalid.
    if (!looksLikeImage(bytes)) throw new ImageInputError('unsupported_media_type', 'not a recognised image format');
    if (bytes.length < FAKE_MIN_IMAGE_BYTES) throw new ImageInputError('invalid_image', 'the image is truncated');
    return Float32Array.of(bytes.length, bytes[0] ?? 0, model === 'align' ? 1 : 2);
  }

  tokenize(texts: readonly string[]): Promise<number[][]> {
    return Promise.resolve(texts.map((text) => {
      const words = text
        .toLowerCase()
        .split(/\s+/)
        .filter((w) => w.length > 0)
        .map((w) => 1000 + w.length);
      return [CLS, ...words.slice(0, MAX_TEXT_TOKENS - 2), SEP];
    }));
  }

  pixelBuffer(_model: ImageModel, length: number): Float32Array {
    return new Float32Array(length);
  }

  recyclePixels(_model: ImageModel, _tensors: readonly Float32Array[]): void {
    // Nothing is pooled here.
  }

  async embedImages(pixels: Float32Array, batch: number): Promise<Float32Array> {
    await this.#run({ tower: 'align-vision', batch });
    const out = new Float32Array(batch * ALIGN_EMBEDDING_DIM);
    for (let i = 0; i < batch; i++) {
      out[i * ALIGN_EMBEDDING_DIM] = pixels[i * FAKE_PIXELS_PER_IMAGE] ?? 0;
      out[i * ALIGN_EMBEDDING_DIM + 1] = 1;
    }
    return out;
  }

  async embedTexts(input: PaddedBatch): Promise<Float32Array> {
    await this.#run({ tower: 'align-text', batch: input.batch, seqLen: input.seqLen });
    const out = new Float32Array(input.batch * ALIGN_EMBEDDING_DIM);
    for (let i = 0; i < input.batch; i++) {
      let used = 0;
      for (let t = 0; t < input.seqLen; t++) used += Number(input.attentionMask[i * input.seqLen + t]);
      out[i * ALIGN_EMBEDDING_DIM] = used;
      out[i * ALIGN_EMBEDDING_DIM + 1] = Number(input.inputIds[i * input.seqLen + 1] ?? 0);
    }
    return out;
  }

  /** Logits peak at `byteLength % labels`, so the top prediction names the image. */
  async classifyImages(pixels: Float32Array, batch: number): Promise<Float32Array> {
    await this.#run({ tower: 'vit', batch });
    const n = this.models.vitLabels.length;
    const out = new Float32Array(batch * n);
    for (let i = 0; i < batch; i++) {
      const peak = (pixels[i * FAKE_PIXELS_PER_IMAGE] ?? 0) % n;
      for (let k = 0; k < n; k++) out[i * n + k] = k === peak ? 5 : -k / n;
    }
    return out;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  async #run(run: FakeRun): Promise<void> {
    if (this.closed) throw new Error('bug: run after close');
    this.runs.push(run);
    this.#running += 1;
    try {
      this.#onRunStart?.();
      this.#onRunStart = undefined;
      if (this.#gate) await this.#gate;
      const failure = this.#failNext;
      this.#failNext = undefined;
      if (failure) throw failure;
    } finally {
      this.#running -= 1;
    }
  }
}
