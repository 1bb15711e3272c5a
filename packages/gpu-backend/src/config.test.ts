import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultIntraOpThreads, defaultPreprocessThreads, defaultProcesses, loadConfig, MAX_DEFAULT_PROCESSES } from './config.js';

const TOKEN = 'a-long-enough-secret';

describe('process and thread defaults', () => {
  it('start one process per core up to the cap, and share the cores out as pre-processing threads', () => {
    expect(MAX_DEFAULT_PROCESSES).toBe(4);
    expect([1, 2, 3, 4, 16, 64].map((cores) => defaultProcesses(cores))).toEqual([1, 2, 3, 4, 4, 4]);
    expect(defaultPreprocessThreads(4, 16)).toBe(4);
    expect(defaultPreprocessThreads(2, 2)).toBe(1);
    expect(defaultPreprocessThreads(4, 2)).toBe(1);
    expect(defaultPreprocessThreads(1, 8)).toBe(8);
  });

  it('share the cores out as onnxruntime intra-op threads per process unless ORT_INTRA_OP_THREADS is set', () => {
    expect([[1, 2], [2, 2], [4, 2], [4, 16], [1, 16]].map(([p, c]) => defaultIntraOpThreads(p ?? 1, c))).toEqual([2, 1, 1, 4, 16]);
    const cores = availableParallelism();
    expect(loadConfig({ BACKEND_TOKEN: TOKEN, COYO_HTTP_PROCESSES: '1' }).intraOpThreads).toBe(cores);
    expect(loadConfig({ BACKEND_TOKEN: TOKEN, COYO_HTTP_PROCESSES: String(cores * 2) }).intraOpThreads).toBe(1);
    expect(loadConfig({ BACKEND_TOKEN: TOKEN, COYO_HTTP_PROCESSES: '1', ORT_INTRA_OP_THREADS: '0' }).intraOpThreads, '0: onnxruntime chooses').toBe(0);
  });

  it('derive the pre-processing threads from COYO_HTTP_PROCESSES unless PREPROCESS_THREADS is set', () => {
    const cores = availableParallelism();
    expect(loadConfig({ BACKEND_TOKEN: TOKEN, COYO_HTTP_PROCESSES: '1' })).toMatchObject({ processes: 1, preprocessThreads: cores });
    expect(loadConfig({ BACKEND_TOKEN: TOKEN, COYO_HTTP_PROCESSES: '1', PREPROCESS_THREADS: '2' }).preprocessThreads).toBe(2);
    expect(() => loadConfig({ BACKEND_TOKEN: TOKEN, COYO_HTTP_PROCESSES: '0' })).toThrow(/COYO_HTTP_PROCESSES: must be a whole number from 1 to 256/);
    expect(() => loadConfig({ BACKEND_TOKEN: TOKEN, PREPROCESS_THREADS: '0' })).toThrow(/PREPROCESS_THREADS: must be a whole number from 1 to 256/);
  });
});

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({ BACKEND_TOKEN: TOKEN });
    expect(config).toMatchObject({
      port: 8788,
      host: '127.0.0.1',
      token: TOKEN,
      batching: { maxBatchSize: 32, maxQueueDelayMs: 2, maxQueue: 1024, dispatchWhenIdle: true, maxPaddingRatio: 1.25 },
      limits: {
        maxImageBytes: 20 * 1024 * 1024,
        maxImagePixels: 40_000_000,
        maxImagesPerRequest: 32,
        maxRequestPixels: 100_000_000,
        maxTextsPerRequest: 256,
        maxRequestBytes: 64 * 1024 * 1024,
      },
      processes: Math.min(availableParallelism(), MAX_DEFAULT_PROCESSES),
      preprocessThreads: Math.max(1, Math.floor(availableParallelism() / Math.min(availableParallelism(), MAX_DEFAULT_PROCESSES))),
      device: 'auto',
      precision: 'fp32',
      intraOpThreads: Math.max(1, Math.floor(availableParallelism() / Math.min(availableParallelism(), MAX_DEFAULT_PROCESSES))),
      allowSpinning: false,
      generateTestModels: false,
    });
    expect(config.modelsDir).toMatch(/models$/);
  });

  it('reads every knob from its variable', () => {
    const config = loadConfig({
      BACKEND_TOKEN: TOKEN,
      PORT: '9000',
      HOST: '0.0.0.0',
      MODELS_DIR: '/srv/models',
      MAX_BATCH_SIZE: '64',
      MAX_QUEUE_DELAY_MS: '0.5',
      MAX_QUEUE: '300',
      DISPATCH_WHEN_IDLE: '0',
      MAX_PADDING_RATIO: '1.5',
      MAX_IMAGE_PIXELS: '40e6',
      PREPROCESS_THREADS: '3',
      COYO_HTTP_PROCESSES: '6',
      COYO_DEVICE: 'cuda',
      COYO_PRECISION: 'fp16',
      ORT_INTRA_OP_THREADS: '4',
      ORT_ALLOW_SPINNING: '1',
      COYO_GENERATE_TEST_MODELS: '1',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      modelsDir: '/srv/models',
      batching: { maxBatchSize: 64, maxQueueDelayMs: 0.5, maxQueue: 300, dispatchWhenIdle: false, maxPaddingRatio: 1.5 },
      limits: { maxImagePixels: 40_000_000 },
      preprocessThreads: 3,
      processes: 6,
      device: 'cuda',
      precision: 'fp16',
      intraOpThreads: 4,
      allowSpinning: true,
      generateTestModels: true,
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ BACKEND_TOKEN: TOKEN, PORT: '' }).port).toBe(8788);
  });

  it('requires BACKEND_TOKEN unless ALLOW_NO_AUTH=1', () => {
    expect(() => loadConfig({})).toThrow(/BACKEND_TOKEN: required/);
    expect(loadConfig({ ALLOW_NO_AUTH: '1' }).token).toBeUndefined();
  });

  it('refuses ALLOW_NO_AUTH on a host that is not loopback', () => {
    expect(() => loadConfig({ ALLOW_NO_AUTH: '1', HOST: '0.0.0.0' })).toThrow(/ALLOW_NO_AUTH: only allowed/);
  });

  it('accepts every device choice, webgpu included, and names them when refusing one', () => {
    for (const device of ['auto', 'cuda', 'webgpu', 'cpu'] as const) {
      expect(loadConfig({ BACKEND_TOKEN: TOKEN, COYO_DEVICE: device }).device).toBe(device);
    }
    expect(() => loadConfig({ BACKEND_TOKEN: TOKEN, COYO_DEVICE: 'vulkan' })).toThrow(/COYO_DEVICE:.*webgpu/);
  });

  it('refuses a short BACKEND_TOKEN', () => {
    expect(() => loadConfig({ BACKEND_TOKEN: 'short' })).toThrow(/BACKEND_TOKEN: must be at least 16/);
  });

  it('names each variable that is out of range or malformed', () => {
    let error: unknown;
    try {
      loadConfig({ BACKEND_TOKEN: TOKEN, MAX_BATCH_SIZE: 'lots', PORT: '70000', COYO_DEVICE: 'gpu', ALLOW_NO_AUTH: 'yes' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['MAX_BATCH_SIZE', 'PORT', 'COYO_DEVICE', 'ALLOW_NO_AUTH']) expect(message).toContain(`${name}:`);
  });

  it('refuses a MAX_PADDING_RATIO below 1 and a DISPATCH_WHEN_IDLE that is not 0 or 1', () => {
    expect(() => loadConfig({ BACKEND_TOKEN: TOKEN, MAX_PADDING_RATIO: '0.9' })).toThrow(/MAX_PADDING_RATIO: must be a number from 1/);
    expect(() => loadConfig({ BACKEND_TOKEN: TOKEN, DISPATCH_WHEN_IDLE: 'yes' })).toThrow(/DISPATCH_WHEN_IDLE:/);
  });

  it('refuses a MAX_QUEUE smaller than the largest request', () => {
    expect(() => loadConfig({ BACKEND_TOKEN: TOKEN, MAX_QUEUE: '100' })).toThrow(/MAX_QUEUE: must be at least/);
  });

  it('refuses a MAX_REQUEST_BYTES smaller than MAX_IMAGE_BYTES', () => {
    expect(() => loadConfig({ BACKEND_TOKEN: TOKEN, MAX_IMAGE_BYTES: '2000', MAX_REQUEST_BYTES: '1000' })).toThrow(
      /MAX_REQUEST_BYTES/,
    );
  });
});
