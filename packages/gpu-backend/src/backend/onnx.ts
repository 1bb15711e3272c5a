/**
 * The real backend: three onnxruntime sessions (ALIGN vision, ALIGN text, ViT), each owned by its own
 * thread, and a pool of pre-processing threads. The event loop only moves buffers between them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceChoice, Precision } from '../config.js';
import type { Logger } from '../metrics/logger.js';
import { loadAlignConfig, loadVitConfig } from '../models/model-config.js';
import { loadTokenizer, type BertTokenizer, type PaddedBatch } from '../models/tokenizer.js';
import { PreprocessPool } from './preprocess-pool.js';
import { modelRevisions } from './revision.js';
import { SessionHost } from './session-host.js';
import type { WireOutput, WireTensor } from './session-protocol.js';
import {
  ALIGN_IMAGE_SIZE,
  ALIGN_MODEL_ID,
  MAX_TEXT_TOKENS,
  TOWERS,
  VIT_IMAGE_SIZE,
  VIT_MODEL_ID,
  DEVICES,
  type Backend,
  type Device,
  type ImageModel,
  type ModelRevisions,
  type ModelsInfo,
  type PreprocessOptions,
  type ThreadLoop,
  type Tower,
} from './types.js';


/** The text tower's inputs, as `padBatch` makes them. */
const TEXT_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
/** Each tower's ONNX file (without `.onnx`) and the output it answers with. */
const SESSIONS: Record<Tower, { dir: string; file: string; output: string }> = {
  'align-vision': { dir: ALIGN_MODEL_ID, file: 'vision_model', output: 'image_embeds' },
  'align-text': { dir: ALIGN_MODEL_ID, file: 'text_model', output: 'text_embeds' },
  vit: { dir: VIT_MODEL_ID, file: 'model', output: 'logits' },
};

/** The tower each image model runs on. */
const IMAGE_TOWER: Record<ImageModel, Tower> = { align: 'align-vision', vit: 'vit' };

/** Requests with at most this many characters in all are tokenised on the event loop (well under 1 ms). */
export const INLINE_TOKENIZE_MAX_CHARS = 512;

export interface OnnxBackendOptions {
  modelsDir: string;
  device: DeviceChoice;
  precision: Precision;
  /** 0 lets onnxruntime choose. */
  intraOpThreads: number;
  /** `ORT_ALLOW_SPINNING`: let idle onnxruntime threads busy-wait (default: they sleep). */
  allowSpinning?: boolean;
  preprocessThreads: number;
  maxImagePixels: number;
  logger: Logger;
  /** Called once per session thread that dies while serving (see `SessionHostOptions.onDeath`). */
  onSessionDeath?: (tower: Tower, error: Error) => void;
}

/** The fp32 ONNX files every models folder must hold. */
export function requiredModelFiles(modelsDir: string): string[] {
  return TOWERS.map((t) => join(modelsDir, SESSIONS[t].dir, 'onnx', `${SESSIONS[t].file}.onnx`));
}

/** Whether `modelsDir` holds all three models. */
export function hasModels(modelsDir: string): boolean {
  return requiredModelFiles(modelsDir).every((f) => existsSync(f));
}

/**
 * The ONNX file for a tower: the `_fp16` variant when fp16 is asked for and present, else fp32 (and says
 * so in the log).
 */
export function modelFile(modelsDir: string, tower: Tower, precision: Precision, logger: Logger): string {
  const { dir, file } = SESSIONS[tower];
  const fp32 = join(modelsDir, dir, 'onnx', `${file}.onnx`);
  if (precision === 'fp16') {
    const fp16 = join(modelsDir, dir, 'onnx', `${file}_fp16.onnx`);
    if (existsSync(fp16)) return fp16;
    logger.warn('COYO_PRECISION=fp16 but no fp16 variant exists; using fp32', { tower, missing: fp16 });
  }
  return fp32;
}

/** Reads the models' JSON files (cheap, main thread): what /healthz and /v1/models report. */
export async function loadModelsInfo(modelsDir: string): Promise<ModelsInfo> {
  const [align, vit] = await Promise.all([loadAlignConfig(join(modelsDir, ALIGN_MODEL_ID)), loadVitConfig(join(modelsDir, VIT_MODEL_ID))]);
  const testModels = align.testModel || vit.testModel;
  const warning = align.warning ?? vit.warning;
  return {
    testModels,
    ...(warning !== undefined ? { warning } : testModels ? { warning: 'these are generated test models' } : {}),
    alignTemperature: align.temperature,
    vitLabels: vit.id2label,
    embeddingDim: align.projectionDim,
  };
}

function pixelsTensor(pixels: Float32Array, batch: number, size: number): WireTensor {
  return { type: 'float32', data: pixels, dims: [batch, 3, size, size] };
}

function pick(outputs: Record<string, WireOutput>, name: string, tower: Tower): Float32Array {
  const out = outputs[name] ?? (Object.keys(outputs).length === 1 ? Object.values(outputs)[0] : undefined);
  if (!out) throw new Error(`${tower}: the model has no output named ${name}`);
  return out.data;
}

export class OnnxBackend implements Backend {
  readonly device: Device;
  readonly jpegDecoder: 'libjpeg-turbo' | 'sharp';
  readonly models: ModelsInfo;
  readonly revisions: ModelRevisions;
  readonly #pool: PreprocessPool;
  readonly #sessions: Record<Tower, SessionHost>;
  readonly #tokenizer: BertTokenizer;
  /** The text inputs the text session declares, read once. */
  #textInputs: readonly (typeof TEXT_INPUTS)[number][] | undefined;

  private constructor(
    models: ModelsInfo,
    revisions: ModelRevisions,
    pool: PreprocessPool,
    sessions: Record<Tower, SessionHost>,
    tokenizer: BertTokenizer,
  ) {
    this.models = models;
    this.revisions = revisions;
    this.#pool = pool;
    this.#tokenizer = tokenizer;
    this.#sessions = sessions;
    // Sessions that differ (auto, one provider failing for one model) report the slowest device in use.
    this.device = DEVICES[Math.min(...TOWERS.map((t) => DEVICES.indexOf(sessions[t].device)))] ?? 'cpu';
    this.jpegDecoder = pool.jpegDecoder.decoder;
  }

  /**
   * Starts the pre-processing pool and the three sessions, runs one warm-up batch per session, and
   * resolves when all are ready. The model revisions are hashed on the main thread meanwhile, while the
   * session threads load, so hashing GBs of weights adds little to start-up. On failure, stops whatever
   * started (after its runs end) and rethrows.
   */
  static async create(options: OnnxBackendOptions, models: ModelsInfo): Promise<OnnxBackend> {
    const { logger } = options;
    // Each file is resolved once: the sessions load exactly the files the revisions hash.
    const files = Object.fromEntries(TOWERS.map((t) => [t, modelFile(options.modelsDir, t, options.precision, logger)])) as Record<Tower, string>;
    const hashStarted = performance.now();
    const hashing = modelRevisions(options.modelsDir, { alignVision: files['align-vision'], alignText: files['align-text'], vit: files.vit }).then(
      (revisions) => {
        logger.info('model revisions computed', { ...revisions, ms: Math.round(performance.now() - hashStarted) });
        return revisions;
      },
    );
    // Start everything in parallel, and wait for all of it even when one part fails: a session thread must
    // not be left loading (or be terminated) behind our back.
    const [poolResult, hostResults, revisionResult] = await Promise.all([
      Promise.allSettled([
        PreprocessPool.start({
          threads: options.preprocessThreads,
          init: { modelsDir: options.modelsDir, maxImagePixels: options.maxImagePixels, maxTextTokens: MAX_TEXT_TOKENS },
          logger,
        }),
      ]).then(([r]) => r),
      Promise.allSettled(
        TOWERS.map((tower) =>
          SessionHost.start({
            name: tower,
            modelPath: files[tower],
            device: options.device,
            intraOpThreads: options.intraOpThreads,
            allowSpinning: options.allowSpinning ?? false,
            ...(options.onSessionDeath ? { onDeath: (error: Error) => options.onSessionDeath?.(tower, error) } : {}),
          }),
        ),
      ),
      Promise.allSettled([hashing]).then(([r]) => r),
    ]);
    const results = [poolResult, ...hostResults];
    const closeStarted = () =>
      Promise.allSettled(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.close()] : [])));
    const failure = [...results, revisionResult].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure || poolResult.status !== 'fulfilled' || revisionResult.status !== 'fulfilled') {
      await closeStarted();
      throw failure?.reason ?? new Error('bug: pre-processing pool neither started nor failed');
    }
    const hosts = hostResults.map((r) => (r as PromiseFulfilledResult<SessionHost>).value);
    const sessions = Object.fromEntries(TOWERS.map((tower, i) => [tower, hosts[i]])) as Record<Tower, SessionHost>;
    for (const tower of TOWERS) {
      const host = sessions[tower];
      if (host.fallback !== undefined) {
        logger.warn(`COYO_DEVICE=auto: faster execution providers did not start; running on ${host.device}`, { tower, device: host.device, reasons: host.fallback });
      }
      logger.info('session loaded', { tower, device: host.device, inputs: host.inputs, outputs: host.outputs });
    }
    const devices = new Set(TOWERS.map((t) => sessions[t].device));
    if (devices.size > 1) {
      logger.warn('the sessions run on different devices; reporting the slowest', { devices: Object.fromEntries(TOWERS.map((t) => [t, sessions[t].device])) });
    }
    const tokenizer = await loadTokenizer(join(options.modelsDir, ALIGN_MODEL_ID));
    const backend = new OnnxBackend(models, revisionResult.value, poolResult.value, sessions, tokenizer);
    try {
      await backend.warmUp();
    } catch (error) {
      await backend.close();
      throw error;
    }
    const jpeg = poolResult.value.jpegDecoder;
    if (jpeg.decoder === 'sharp') logger.warn(`JPEGs are decoded with sharp: ${jpeg.reason}`);
    logger.info('backend ready', { device: backend.device, preprocess_threads: poolResult.value.threads, jpeg_decoder: jpeg.decoder });
    return backend;
  }

  /** One batch of one item through every session, so the first real request does not pay for lazy set-up. */
  async warmUp(): Promise<void> {
    const [ids] = await this.tokenize(['a photo of a cat']);
    await Promise.all([
      this.embedImages(new Float32Array(3 * ALIGN_IMAGE_SIZE * ALIGN_IMAGE_SIZE), 1),
      this.classifyImages(new Float32Array(3 * VIT_IMAGE_SIZE * VIT_IMAGE_SIZE), 1),
      this.embedTexts({
        inputIds: BigInt64Array.from(ids ?? [], (v) => BigInt(v)),
        attentionMask: new BigInt64Array(ids?.length ?? 0).fill(1n),
        tokenTypeIds: new BigInt64Array(ids?.length ?? 0),
        batch: 1,
        seqLen: ids?.length ?? 0,
      }),
    ]);
  }

  preprocessImage(model: ImageModel, bytes: Uint8Array, options?: PreprocessOptions): Promise<Float32Array> {
    // A buffer a finished run has given back, written in place by the pre-processing thread: no
    // allocation (and later collection) of a tensor per image.
    const size = model === 'align' ? ALIGN_IMAGE_SIZE : VIT_IMAGE_SIZE;
    const into = this.#sessions[IMAGE_TOWER[model]].takeSpare(3 * size * size * Float32Array.BYTES_PER_ELEMENT);
    return this.#pool.preprocessImage(model, bytes, { ...options, ...(into !== undefined ? { into } : {}) });
  }

  tokenize(texts: readonly string[], options?: PreprocessOptions): Promise<number[][]> {
    // Short requests (zero-shot labels) cost less to tokenise here than a trip to a thread.
    let chars = 0;
    for (const t of texts) chars += t.length;
    if (chars <= INLINE_TOKENIZE_MAX_CHARS) return Promise.resolve(texts.map((t) => this.#tokenizer.encode(t, MAX_TEXT_TOKENS)));
    return this.#pool.tokenize(texts, options);
  }

  threadLoops(): ThreadLoop[] {
    return [
      ...this.#pool.eventLoops().map((loop, i) => ({ thread: `preprocess:${i}`, ...loop })),
      ...TOWERS.map((tower) => ({ thread: `session:${tower}`, ...this.#sessions[tower].eventLoop() })),
    ];
  }

  pixelBuffer(model: ImageModel, length: number): Float32Array {
    const spare = this.#sessions[IMAGE_TOWER[model]].takeSpare(length * Float32Array.BYTES_PER_ELEMENT);
    return spare === undefined ? new Float32Array(length) : new Float32Array(spare);
  }

  recyclePixels(model: ImageModel, tensors: readonly Float32Array[]): void {
    const whole = tensors.filter((t) => t.byteOffset === 0 && t.byteLength === t.buffer.byteLength && t.buffer instanceof ArrayBuffer);
    this.#sessions[IMAGE_TOWER[model]].giveSpare(whole.map((t) => t.buffer as ArrayBuffer));
  }

  async embedImages(pixels: Float32Array, batch: number): Promise<Float32Array> {
    const outputs = await this.#sessions['align-vision'].run({ pixel_values: pixelsTensor(pixels, batch, ALIGN_IMAGE_SIZE) });
    return pick(outputs, SESSIONS['align-vision'].output, 'align-vision');
  }

  async classifyImages(pixels: Float32Array, batch: number): Promise<Float32Array> {
    const outputs = await this.#sessions.vit.run({ pixel_values: pixelsTensor(pixels, batch, VIT_IMAGE_SIZE) });
    return pick(outputs, SESSIONS.vit.output, 'vit');
  }

  async embedTexts(input: PaddedBatch): Promise<Float32Array> {
    const session = this.#sessions['align-text'];
    const dims = [input.batch, input.seqLen];
    const data = { input_ids: input.inputIds, attention_mask: input.attentionMask, token_type_ids: input.tokenTypeIds };
    // Some exports drop token_type_ids (all zeros for one segment): feed only what the model declares.
    const names = (this.#textInputs ??= TEXT_INPUTS.filter((name) => session.inputs.some((i) => i.name === name)));
    const feeds: Record<string, WireTensor> = {};
    for (const name of names) feeds[name] = { type: 'int64', data: data[name], dims };
    const outputs = await session.run(feeds);
    return pick(outputs, SESSIONS['align-text'].output, 'align-text');
  }

  /** Finishes pre-processing and runs in flight, releases the sessions and stops every thread. */
  async close(): Promise<void> {
    await Promise.all([this.#pool.close(), ...TOWERS.map((t) => this.#sessions[t].close())]);
  }
}
