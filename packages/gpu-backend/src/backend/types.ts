/**
 * What the serving layer needs from a model backend: off-thread pre-processing and one batched run per
 * model tower. The ONNX backend (`onnx.ts`) implements it for real; `fake.ts` implements it for tests of
 * the HTTP and batching layers.
 */
import { LIMITS } from '@coyo/backend-protocol';
import type { PaddedBatch } from '../models/tokenizer.js';
import type { Sha256Claim } from './sha256-claim.js';

/** The execution provider a session runs on. */
export type Device = 'cpu' | 'webgpu' | 'cuda';

/** Devices from slowest to fastest: a backend whose sessions differ reports the slowest it uses. */
export const DEVICES: readonly Device[] = ['cpu', 'webgpu', 'cuda'];

/** The three model towers, each with its own queue, batcher and session. */
export type Tower = 'align-vision' | 'align-text' | 'vit';
export const TOWERS: readonly Tower[] = ['align-vision', 'align-text', 'vit'];

/** The image models, by the pre-processing they need. */
export type ImageModel = 'align' | 'vit';

export const ALIGN_MODEL_ID = 'align-base';
export const VIT_MODEL_ID = 'vit-large-patch16-384';
export const ALIGN_IMAGE_SIZE = 289;
export const VIT_IMAGE_SIZE = 384;
export const ALIGN_EMBEDDING_DIM = 640;
export const MAX_TEXT_TOKENS = LIMITS.maxTextTokens;

/** Facts about the loaded models that callers report (`/v1/models`, `/healthz`). */
export interface ModelsInfo {
  /** True when the loaded models are generated test models, not real checkpoints. */
  testModels: boolean;
  /** Why the models should not be trusted, when they should not. */
  warning?: string;
  /** ALIGN's learned temperature (logits = cosine / temperature). */
  alignTemperature: number;
  /** ViT class names by index. */
  vitLabels: readonly string[];
  /** Embedding width of the ALIGN towers. */
  embeddingDim: number;
}

/**
 * A short content hash per served model over the files that determine its outputs
 * (`backend/revision.ts`): it changes whenever the weights, the precision variant or the
 * pre-processing change, so cached outputs can be keyed by it.
 */
export interface ModelRevisions {
  align: string;
  vit: string;
}

export interface PreprocessOptions {
  /** Aborted when the caller has gone: work not started yet is skipped. */
  signal?: AbortSignal;
  /** Images: the bytes' buffer may be transferred to the thread (detaching it here) instead of copied. */
  transfer?: boolean;
  /**
   * Images: the SHA-256 the caller claims for the bytes. They are hashed where they are decoded, before
   * decoding: other bytes are refused with a `digest_mismatch` `ImageInputError`; equal ones are
   * confirmed on the claim (`Sha256Claim.confirm`) before the tensor is returned.
   */
  sha256?: Sha256Claim;
}

/** A thread's event-loop totals since it started (Node's `eventLoopUtilization()`), in ms. */
export interface ThreadLoop {
  /** `preprocess:<i>` or `session:<tower>`. */
  thread: string;
  active: number;
  idle: number;
  /** The thread's kernel id (Linux), for its CPU time in `/metrics`. */
  tid?: number;
}

export interface Backend {
  readonly device: Device;
  /** What decodes JPEGs: the native `libjpeg-turbo` addon, or `sharp` (where the addon is not built). */
  readonly jpegDecoder?: 'libjpeg-turbo' | 'sharp';
  readonly models: ModelsInfo;
  /** Revisions of the loaded models, computed from their files at start-up. */
  readonly revisions: ModelRevisions;
  /**
   * Decodes and pre-processes one image for `model` into a channels-first float32 tensor. Rejects with
   * `ImageInputError` for input the client got wrong.
   */
  preprocessImage(model: ImageModel, bytes: Uint8Array, options?: PreprocessOptions): Promise<Float32Array>;
  /** Token ids per text, `[CLS] … [SEP]`, truncated to {@link MAX_TEXT_TOKENS}. */
  tokenize(texts: readonly string[], options?: PreprocessOptions): Promise<number[][]>;
  /**
   * A buffer of `length` floats to stack a batch of `model`'s images into: one an earlier run of that
   * tower has finished with when one of that size is free (contents undefined), else a new one.
   */
  pixelBuffer(model: ImageModel, length: number): Float32Array;
  /**
   * Takes back image tensors the caller is done with (the images of a batch once stacked), to be
   * written into again by {@link preprocessImage} or {@link pixelBuffer}; the caller must not use them afterwards.
   */
  recyclePixels(model: ImageModel, tensors: readonly Float32Array[]): void;
  /**
   * ALIGN image tower: pixels `[batch,3,289,289]` → embeddings `[batch,640]`. The tensor passed to a run
   * method may be transferred to the session thread without a copy: the caller must not use it afterwards.
   */
  embedImages(pixels: Float32Array, batch: number): Promise<Float32Array>;
  /** ALIGN text tower: ids padded to the batch's longest text → embeddings `[batch,640]`. */
  embedTexts(input: PaddedBatch): Promise<Float32Array>;
  /** ViT: pixels `[batch,3,384,384]` → logits `[batch,labels]`. */
  classifyImages(pixels: Float32Array, batch: number): Promise<Float32Array>;
  /** The event-loop totals of the backend's own threads, for `/metrics` (absent: it has none). */
  threadLoops?(): ThreadLoop[];
  /** Waits for work in flight, then releases sessions and threads. */
  close(): Promise<void>;
}
