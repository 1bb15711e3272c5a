/**
 * Server configuration, read once from the environment at start-up. Every variable is documented with its
 * default and unit in `packages/gpu-backend/README.md`; a bad value stops the process with a message that
 * names the variable.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const MIB = 1024 * 1024;

/**
 * Most HTTP processes a replica starts by default. Each process holds its own sessions on the device
 * (GPU memory per model ×N) and its own batchers (batches ÷N at a given load), and its main thread only
 * parses, admits and serialises (about 1–2 ms per request): four main threads keep a GPU fed at thousands
 * of requests per second, and the host's other cores go to the pre-processing threads.
 */
export const MAX_DEFAULT_PROCESSES = 4;

/** `COYO_HTTP_PROCESSES` when unset: one per core, at most {@link MAX_DEFAULT_PROCESSES}. */
export function defaultProcesses(cores = availableParallelism()): number {
  return Math.max(1, Math.min(cores, MAX_DEFAULT_PROCESSES));
}

/** `PREPROCESS_THREADS` when unset: the host's cores shared out among the processes, at least one each. */
export function defaultPreprocessThreads(processes: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / processes));
}

/**
 * `ORT_INTRA_OP_THREADS` when unset: the host's cores shared out among the processes, at least one
 * each. onnxruntime's own choice (one per physical core) gives every process all the cores: with N
 * processes that is N× more pool threads than cores, woken at every parallel operator.
 */
export function defaultIntraOpThreads(processes: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / processes));
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** Environment value: absent and empty both mean "use the default". */
const raw = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** A number variable in [min, max]; `whole` ones accept `40e6`-style notation as long as the value is whole. */
function numeric<F extends number | undefined>(fallback: F, min: number, max: number, whole: boolean) {
  const kind = whole ? 'a whole number' : 'a number';
  return raw.pipe(
    z
      .string()
      .optional()
      .transform((v, ctx): number | F => {
        if (v === undefined) return fallback;
        const n = Number(v);
        if (!Number.isFinite(n) || (whole && !Number.isInteger(n)) || n < min || n > max) {
          ctx.addIssue({ code: 'custom', message: `must be ${kind} from ${min} to ${max}, got "${v}"` });
          return z.NEVER;
        }
        return n;
      }),
  );
}

const integer = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) => numeric(fallback, min, max, true);
/** A whole-number variable whose default depends on other variables: `undefined` when unset. */
const optionalInteger = (min: number, max: number) => numeric(undefined, min, max, true);
const decimal = (fallback: number, min: number, max: number) => numeric(fallback, min, max, false);

/** A `0`/`1` switch, off unless set. */
function flag() {
  return raw.pipe(z.enum(['0', '1']).optional()).transform((v) => v === '1');
}

/** A `0`/`1` switch, on unless set to `0`. */
function flagOn() {
  return raw.pipe(z.enum(['0', '1']).optional()).transform((v) => v !== '0');
}

function choice<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return raw.pipe(z.enum(values).optional()).transform((v) => v ?? fallback);
}

const EnvSchema = z.object({
  PORT: integer(8788, 0, 65535),
  HOST: raw.transform((v) => v ?? '127.0.0.1'),
  MODELS_DIR: raw.transform((v) => v ?? fileURLToPath(new URL('../../../models', import.meta.url))),
  BACKEND_TOKEN: raw.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  ALLOW_NO_AUTH: flag(),
  MAX_BATCH_SIZE: integer(32, 1, 4096),
  MAX_QUEUE_DELAY_MS: decimal(2, 0, 60_000),
  MAX_QUEUE: integer(1024, 1, 1_000_000),
  DISPATCH_WHEN_IDLE: flagOn(),
  MAX_PADDING_RATIO: decimal(1.25, 1, 64),
  MAX_IMAGE_BYTES: integer(20 * MIB, 1, 2 ** 31 - 1),
  MAX_IMAGE_PIXELS: integer(40_000_000, 1, 2 ** 31 - 1),
  MAX_IMAGES_PER_REQUEST: integer(32, 1, 4096),
  MAX_REQUEST_PIXELS: integer(100_000_000, 1, Number.MAX_SAFE_INTEGER),
  MAX_TEXTS_PER_REQUEST: integer(256, 1, 4096),
  MAX_REQUEST_BYTES: integer(64 * MIB, 1, 2 ** 31 - 1),
  PREPROCESS_THREADS: optionalInteger(1, 256),
  COYO_HTTP_PROCESSES: integer(defaultProcesses(), 1, 256),
  COYO_DEVICE: choice(['auto', 'cuda', 'webgpu', 'cpu'], 'auto'),
  COYO_PRECISION: choice(['fp32', 'fp16'], 'fp32'),
  ORT_INTRA_OP_THREADS: optionalInteger(0, 1024),
  ORT_ALLOW_SPINNING: flag(),
  COYO_GENERATE_TEST_MODELS: flag(),
});

/** `auto` tries cuda, then webgpu, then the CPU (`backend/session-worker.ts`). */
export type DeviceChoice = 'auto' | 'cuda' | 'webgpu' | 'cpu';
export type Precision = 'fp32' | 'fp16';

/** Dynamic-batching knobs, applied to each model tower on its own (Triton's vocabulary). */
export interface BatchingConfig {
  /** Most items in one model run. */
  maxBatchSize: number;
  /** How long the oldest queued item may wait for a fuller batch, in ms. */
  maxQueueDelayMs: number;
  /** Admission limit: items queued (or being pre-processed) per tower before new work is refused. */
  maxQueue: number;
  /**
   * Start an item at once when it reaches an idle tower instead of holding it for `maxQueueDelayMs`
   * (`DISPATCH_WHEN_IDLE`, on unless set to 0; a batcher given no value keeps Triton's behaviour, off). Items answered by a run that just ended still get
   * `maxQueueDelayMs` from the end of that run for their callers to come back and share the next batch.
   */
  dispatchWhenIdle?: boolean;
  /**
   * Length-aware towers (text) only: most padded tokens a batch may compute per token it holds
   * (`batch × longest ÷ sum of lengths`); items that would exceed it wait for a batch of their own length.
   * Absent: no limit.
   */
  maxPaddingRatio?: number;
}

/** Input limits, checked by the HTTP layer and by image decoding. */
export interface LimitsConfig {
  maxImageBytes: number;
  maxImagePixels: number;
  maxImagesPerRequest: number;
  /** Most header-declared pixels (width × height) summed over the images of one request. */
  maxRequestPixels: number;
  maxTextsPerRequest: number;
  maxRequestBytes: number;
}

export interface Config {
  port: number;
  host: string;
  modelsDir: string;
  /** `undefined` only when ALLOW_NO_AUTH=1 and no token is set. */
  token: string | undefined;
  batching: BatchingConfig;
  limits: LimitsConfig;
  /** Image decode/resize and tokenisation threads, per process. */
  preprocessThreads: number;
  /**
   * HTTP processes sharing the port (`COYO_HTTP_PROCESSES`, node:cluster): each holds its own sessions on
   * the same device and its own batchers. 1 serves from this process alone.
   */
  processes: number;
  device: DeviceChoice;
  precision: Precision;
  /** Per session; 0 lets onnxruntime choose. */
  intraOpThreads: number;
  /** Whether idle onnxruntime threads busy-wait for work (onnxruntime's default) instead of sleeping. */
  allowSpinning: boolean;
  generateTestModels: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses the environment into a {@link Config}. Throws {@link ConfigError} naming each bad variable, so the
 * process fails at start rather than on the first request.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.BACKEND_TOKEN === undefined && !e.ALLOW_NO_AUTH) {
    problems.push('BACKEND_TOKEN: required (set ALLOW_NO_AUTH=1 to run without auth on a loopback HOST)');
  }
  if (e.BACKEND_TOKEN === undefined && e.ALLOW_NO_AUTH && !LOOPBACK_HOSTS.has(e.HOST)) {
    problems.push(`ALLOW_NO_AUTH: only allowed when HOST is a loopback address, got HOST="${e.HOST}"`);
  }
  const largestRequest = Math.max(e.MAX_IMAGES_PER_REQUEST, e.MAX_TEXTS_PER_REQUEST);
  if (e.MAX_QUEUE < largestRequest) {
    problems.push(
      `MAX_QUEUE: must be at least MAX_IMAGES_PER_REQUEST and MAX_TEXTS_PER_REQUEST (${largestRequest}), got ${e.MAX_QUEUE}`,
    );
  }
  if (e.MAX_REQUEST_BYTES < e.MAX_IMAGE_BYTES) {
    problems.push(`MAX_REQUEST_BYTES: must be at least MAX_IMAGE_BYTES (${e.MAX_IMAGE_BYTES}), got ${e.MAX_REQUEST_BYTES}`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);

  return {
    port: e.PORT,
    host: e.HOST,
    modelsDir: e.MODELS_DIR,
    token: e.BACKEND_TOKEN,
    batching: {
      maxBatchSize: e.MAX_BATCH_SIZE,
      maxQueueDelayMs: e.MAX_QUEUE_DELAY_MS,
      maxQueue: e.MAX_QUEUE,
      dispatchWhenIdle: e.DISPATCH_WHEN_IDLE,
      maxPaddingRatio: e.MAX_PADDING_RATIO,
    },
    limits: {
      maxImageBytes: e.MAX_IMAGE_BYTES,
      maxImagePixels: e.MAX_IMAGE_PIXELS,
      maxImagesPerRequest: e.MAX_IMAGES_PER_REQUEST,
      maxRequestPixels: e.MAX_REQUEST_PIXELS,
      maxTextsPerRequest: e.MAX_TEXTS_PER_REQUEST,
      maxRequestBytes: e.MAX_REQUEST_BYTES,
    },
    preprocessThreads: e.PREPROCESS_THREADS ?? defaultPreprocessThreads(e.COYO_HTTP_PROCESSES),
    processes: e.COYO_HTTP_PROCESSES,
    device: e.COYO_DEVICE,
    precision: e.COYO_PRECISION,
    intraOpThreads: e.ORT_INTRA_OP_THREADS ?? defaultIntraOpThreads(e.COYO_HTTP_PROCESSES),
    allowSpinning: e.ORT_ALLOW_SPINNING,
    generateTestModels: e.COYO_GENERATE_TEST_MODELS,
  };
}
