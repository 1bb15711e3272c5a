/**
 * Messages between the main thread and a pre-processing thread. Image bytes go in and tensors come back
 * as transferred buffers.
 */
import type { ImageInputErrorType } from '../models/errors.js';
import type { ImageModel } from './types.js';
import type { JpegDecoderStatus } from '../models/jpeg-native.js';

export interface PreprocessInit {
  /** Folder holding `align-base/` and `vit-large-patch16-384/`. */
  modelsDir: string;
  maxImagePixels: number;
  maxTextTokens: number;
}

export type PreprocessTask =
  /**
   * `into`: a free buffer of the tensor's size to write it into (transferred there and back). `sha256`:
   * the digest (lower-case hex) the bytes must have, checked before they are decoded.
   */
  | { kind: 'image'; model: ImageModel; bytes: Uint8Array; into?: ArrayBuffer; sha256?: string }
  | { kind: 'tokenize'; texts: readonly string[] };

export type ToPreprocess = { id: number; task: PreprocessTask };

export type FromPreprocess =
  /** `tid`: the thread's kernel id, where the platform has one; `jpegDecoder`: what decodes its JPEGs. */
  | { kind: 'ready'; tid?: number; jpegDecoder: JpegDecoderStatus }
  | { kind: 'failed'; message: string }
  /** `sha256`: the digest the thread computed over the bytes it decoded, when the task gave one to check. */
  | { kind: 'pixels'; id: number; pixels: Float32Array; sha256?: string }
  | { kind: 'tokens'; id: number; ids: number[][] }
  /** A client-caused image failure (a digest mismatch among them): rebuilt as `ImageInputError` on the main thread. */
  | { kind: 'image-error'; id: number; type: ImageInputErrorType; message: string }
  | { kind: 'error'; id: number; message: string };
