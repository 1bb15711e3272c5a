/**
 * Pre-processing thread: decodes images (JPEGs with the native libjpeg-turbo decoder into one reused
 * buffer where it is built, `jpeg-native.ts`; everything else with sharp) and runs the Pillow-exact resize (the thread's own WebAssembly
 * SIMD instance, `pillow-resize-wasm.ts`, falling back to the JavaScript reference where WebAssembly SIMD
 * is missing), and tokenises texts, so none of it runs on the event loop. Each thread loads the model
 * folders' JSON files and the tokenizer once at start.
 */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { ImageInputError } from '../models/errors.js';
import { loadAlignConfig, loadVitConfig } from '../models/model-config.js';
import { decodeJpegSync, decodeToRgb, rgbToTensor, tensorLength, type RgbScratch } from '../models/preprocess.js';
import { jpegDecoderStatus } from '../models/jpeg-native.js';
import { loadTokenizer } from '../models/tokenizer.js';
import { currentThreadId } from '../metrics/thread-cpu.js';
import type { FromPreprocess, PreprocessInit, ToPreprocess } from './preprocess-protocol.js';
import { checkSha256 } from './sha256-claim.js';
import { ALIGN_MODEL_ID, VIT_MODEL_ID } from './types.js';
import { YoungCollector } from './young-collector.js';

// Every image is decoded once: libvips' operation cache would only hold memory.
sharp.cache(false);
// One image is decoded per pre-processing thread at a time and the pool already has a thread per core:
// libvips' own worker threads per pipeline (one per core by default) would only add hand-offs.
sharp.concurrency(1);

/**
 * The largest decode buffer a thread keeps between images (16 Mpx of RGB, above a 12 MP phone photo): one
 * grown for a larger image is dropped after that image, so it does not stay resident for the thread's life.
 */
const KEEP_SCRATCH_BYTES = 48 * 1024 * 1024;

const port = parentPort;
if (port === null) throw new Error('bug: preprocess-worker.ts must run in a worker thread');
const init = (workerData as { data: PreprocessInit }).data;

function post(message: FromPreprocess, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

/**
 * The SHA-256 of `bytes` when it is `expected`; else throws the `digest_mismatch` refusal. Hashed here,
 * on the thread that decodes these very bytes and before it does, so the main thread spends nothing on it
 * and an image whose digest is wrong is never decoded.
 */
function checkDigest(bytes: Uint8Array, expected: string): string {
  const { sha256, mismatch } = checkSha256(bytes, expected);
  if (mismatch !== undefined) throw mismatch;
  return sha256;
}

async function main(): Promise<void> {
  const alignDir = join(init.modelsDir, ALIGN_MODEL_ID);
  let loaded;
  try {
    loaded = await Promise.all([loadAlignConfig(alignDir), loadVitConfig(join(init.modelsDir, VIT_MODEL_ID)), loadTokenizer(alignDir)]);
  } catch (error) {
    post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
    port?.close();
    return;
  }
  const [align, vit, tokenizer] = loaded;
  const limits = { maxPixels: init.maxImagePixels };
  const young = new YoungCollector();
  // The native JPEG decoder writes every image into this one buffer (grown when an image does not fit):
  // decode and resize run back to back, with no await between them, so no other task reuses it meanwhile.
  const scratch: RgbScratch = { buffer: null };

  /** The tensor of one image task, and the bytes of the decoded image it was made from (garbage on return). */
  const tensorOf = async (task: Extract<ToPreprocess['task'], { kind: 'image' }>): Promise<{ pixels: Float32Array; decodedBytes: number }> => {
    const cfg = task.model === 'align' ? align.preprocess : vit.preprocess;
    const into = task.into !== undefined && task.into.byteLength === tensorLength(cfg) * Float32Array.BYTES_PER_ELEMENT ? new Float32Array(task.into) : undefined;
    const native = decodeJpegSync(task.bytes, limits, {}, scratch);
    if (native !== undefined) {
      const pixels = rgbToTensor(native, cfg, into);
      const kept = scratch.buffer;
      if (kept === null || kept.byteLength <= KEEP_SCRATCH_BYTES) return { pixels, decodedBytes: 0 };
      scratch.buffer = null;
      return { pixels, decodedBytes: kept.byteLength };
    }
    // The native decoder has declined this image (not a JPEG, not built, or a JPEG it hands to sharp): sharp decodes it.
    const rgb = await decodeToRgb(task.bytes, limits, { onThisThread: false });
    return { pixels: rgbToTensor(rgb, cfg, into), decodedBytes: rgb.data.byteLength };
  };

  const answer = async ({ id, task }: ToPreprocess): Promise<void> => {
    try {
      if (task.kind === 'tokenize') {
        post({ kind: 'tokens', id, ids: task.texts.map((t) => tokenizer.encode(t, init.maxTextTokens)) });
        return;
      }
      const sha256 = task.sha256 === undefined ? undefined : checkDigest(task.bytes, task.sha256);
      const { pixels, decodedBytes } = await tensorOf(task);
      const own = pixels.byteOffset === 0 && pixels.byteLength === pixels.buffer.byteLength ? pixels : new Float32Array(pixels);
      post({ kind: 'pixels', id, pixels: own, ...(sha256 !== undefined ? { sha256 } : {}) }, own.buffer instanceof ArrayBuffer ? [own.buffer] : []);
      // After the answer is posted, with the decoded image unreachable: a scavenge frees it (see young-collector.ts).
      young.track(decodedBytes);
    } catch (error) {
      if (error instanceof ImageInputError) post({ kind: 'image-error', id, type: error.type, message: error.message });
      else post({ kind: 'error', id, message: error instanceof Error ? error.message : String(error) });
    }
  };
  // `answer` catches every error itself and posts it back.
  port?.on('message', (message: ToPreprocess) => {
    void answer(message);
  });
  const tid = currentThreadId();
  post({ kind: 'ready', ...(tid !== undefined ? { tid } : {}), jpegDecoder: jpegDecoderStatus() });
}

void main();
