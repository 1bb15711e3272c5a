/**
 * The WebGPU device path for real: onnxruntime-node's WebGPU execution provider (Dawn over Vulkan),
 * on the CPU through Chromium's SwiftShader Vulkan driver, with the generated test models. Sessions
 * start on `webgpu`, batches go through the engine's batchers, and the answers match the CPU
 * provider's within {@link RELATIVE_TOLERANCE}.
 *
 * It needs Debian's `libvulkan1` and Chromium's `vk_swiftshader_icd.json` (scripts/setup.sh installs
 * both) and fails without them; `COYO_SKIP_WEBGPU=1` skips it on a machine that cannot have them.
 * `VK_ICD_FILENAMES` and `XDG_RUNTIME_DIR` are used as set, else pointed at SwiftShader and the temp dir.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../batching/engine.js';
import { createApp } from '../http/app.js';
import { ServerStatus } from '../http/status.js';
import { silentLogger } from '../metrics/logger.js';
import { BackendMetrics } from '../metrics/metrics.js';
import { generateTestModels } from '../models/test-models.js';
import { hasModels, loadModelsInfo, OnnxBackend } from './onnx.js';
import { SessionHost } from './session-host.js';
import type { ModelsInfo } from './types.js';

const SKIP = process.env.COYO_SKIP_WEBGPU === '1';
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));
/** `pnpm gen:models` writes here; when it has not run, the models are generated into a temp dir. */
const SHARED_MODELS = fileURLToPath(new URL('../../../../models', import.meta.url));
const TOKEN = 'webgpu-test-token-0123456789';
const BATCHING = { maxBatchSize: 8, maxQueueDelayMs: 50, maxQueue: 64 };

/**
 * Largest difference allowed between a WebGPU and a CPU output, relative to the largest magnitude in the
 * CPU output: SwiftShader measured ≈ 1e-4 (float32 kernels that sum in a different order), so 1e-3
 * leaves room without hiding a wrong kernel, which differs by far more.
 */
const RELATIVE_TOLERANCE = 1e-3;

/** Max |a − b| over max |b|: 0 for identical vectors. */
function relativeError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] ?? Number.NaN) - (b[i] ?? 0)));
    scale = Math.max(scale, Math.abs(b[i] ?? 0));
  }
  return scale === 0 ? diff : diff / scale;
}

interface Served {
  backend: OnnxBackend;
  engine: Engine;
  metrics: BackendMetrics;
  status: ServerStatus;
}

async function serve(modelsDir: string, models: ModelsInfo, device: 'cpu' | 'webgpu'): Promise<Served> {
  const backend = await OnnxBackend.create(
    { modelsDir, device, precision: 'fp32', intraOpThreads: 1, preprocessThreads: 1, maxImagePixels: 1_000_000, logger: silentLogger },
    models,
  );
  const metrics = new BackendMetrics({ maxBatchSize: BATCHING.maxBatchSize });
  const engine = new Engine({ backend, batching: BATCHING, metrics });
  const status = new ServerStatus(models);
  status.markReady(engine);
  return { backend, engine, metrics, status };
}

/** One sample of a metric in the text exposition. */
function sample(page: string, series: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no ${series} in:\n${page}`);
  return Number(line.slice(series.length + 1));
}

let tempModels: string | undefined;
let modelsDir: string;
let gpu: Served | undefined;
let cpu: Served | undefined;
let images: Uint8Array[];

beforeAll(async () => {
  if (SKIP) return;
  process.env.XDG_RUNTIME_DIR ??= tmpdir();
  process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
  const icds = process.env.VK_ICD_FILENAMES.split(':').filter((f) => f !== '');
  if (!icds.some((f) => existsSync(f))) {
    throw new Error(
      `no Vulkan driver: VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES} does not exist. ` +
        'Run scripts/setup.sh (it installs chromium, whose SwiftShader driver this test uses, and libvulkan1), ' +
        'or set COYO_SKIP_WEBGPU=1 to skip the WebGPU tests on a machine that cannot have them.',
    );
  }
  if (hasModels(SHARED_MODELS)) {
    modelsDir = SHARED_MODELS;
  } else {
    tempModels = mkdtempSync(join(tmpdir(), 'webgpu-models-'));
    await generateTestModels(tempModels);
    modelsDir = tempModels;
  }
  const models = await loadModelsInfo(modelsDir);
  [gpu, cpu] = await Promise.all([serve(modelsDir, models, 'webgpu'), serve(modelsDir, models, 'cpu')]);
  const photo = (r: number, g: number, b: number, width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: { r, g, b }, noise: { type: 'gaussian', mean: 128, sigma: 50 } } })
      .jpeg()
      .toBuffer()
      .then((buf) => new Uint8Array(buf));
  images = await Promise.all([photo(200, 30, 90, 320, 240), photo(20, 160, 60, 200, 300), photo(90, 90, 220, 256, 256)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([gpu?.backend.close(), cpu?.backend.close()]);
  if (tempModels !== undefined) rmSync(tempModels, { recursive: true, force: true });
});

function served(s: Served | undefined): Served {
  if (s === undefined) throw new Error('the backends were not started');
  return s;
}

describe.skipIf(SKIP)('WebGPU execution provider (SwiftShader)', () => {
  it('runs every session on webgpu and reports it on /healthz and /v1/models', async () => {
    const { backend, status, metrics } = served(gpu);
    expect(backend.device).toBe('webgpu');
    expect(served(cpu).backend.device).toBe('cpu');
    const limits = { maxImageBytes: 1 << 20, maxImagePixels: 1_000_000, maxImagesPerRequest: 4, maxTextsPerRequest: 8, maxRequestBytes: 4 << 20, maxRequestPixels: 4_000_000 };
    const app = createApp({ config: { token: TOKEN, limits }, status, metrics });
    expect(await (await app.request('/healthz')).json()).toMatchObject({ status: 'ok', device: 'webgpu' });
    const models = await app.request('/v1/models', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await models.json()).toMatchObject({ device: 'webgpu' });
  });

  it('embeds texts batched by the engine, matching the CPU provider', async () => {
    const requests = [['a photo of a cat', 'two dogs playing on a sofa in the afternoon sun', 'a bird'], ['a red car', 'an empty street at night']];
    const run = (s: Served) => Promise.all(requests.map((texts) => s.engine.embedTexts(texts, s.engine.tryAcquirePermit('embed-text'))));
    const [onGpu, onCpu] = await Promise.all([run(served(gpu)), run(served(cpu))]);
    const page = served(gpu).metrics.render();
    // Five texts in at most two runs: the engine batched them (one request alone is a batch of three).
    expect(sample(page, 'coyo_backend_batch_size_sum{tower="align-text"}')).toBe(5);
    expect(sample(page, 'coyo_backend_batch_size_count{tower="align-text"}')).toBeLessThanOrEqual(2);
    for (const [r, answer] of onGpu.entries()) {
      expect(answer.embeddings).toHaveLength(requests[r]?.length ?? -1);
      for (const [i, embedding] of answer.embeddings.entries()) {
        expect(embedding).toHaveLength(640);
        expect(relativeError(embedding, onCpu[r]?.embeddings[i] ?? new Float32Array())).toBeLessThan(RELATIVE_TOLERANCE);
      }
    }
  });

  it('embeds and classifies a batch of images, matching the CPU provider', async () => {
    const run = (s: Served) =>
      Promise.all([
        s.engine.embedImages(images, s.engine.tryAcquirePermit('embed-image')),
        s.engine.classify(images, 1000, s.engine.tryAcquirePermit('classify')),
      ]);
    const [[gpuEmbeds, gpuClasses], [cpuEmbeds, cpuClasses]] = await Promise.all([run(served(gpu)), run(served(cpu))]);
    const page = served(gpu).metrics.render();
    expect(sample(page, 'coyo_backend_batch_size_sum{tower="align-vision"}')).toBe(3);
    expect(sample(page, 'coyo_backend_batch_size_count{tower="align-vision"}')).toBe(1);
    expect(sample(page, 'coyo_backend_batch_size_count{tower="vit"}')).toBe(1);
    for (const [i, embedding] of gpuEmbeds.embeddings.entries()) {
      expect(relativeError(embedding, cpuEmbeds.embeddings[i] ?? new Float32Array())).toBeLessThan(RELATIVE_TOLERANCE);
    }
    // Scores by class index (the order of near-equal scores may differ between providers).
    const byIndex = (predictions: readonly { index: number; score: number }[]) => {
      const scores = new Float32Array(1000);
      for (const p of predictions) scores[p.index] = p.score;
      return scores;
    };
    expect(gpuClasses.predictions).toHaveLength(3);
    for (const [i, predictions] of gpuClasses.predictions.entries()) {
      expect(predictions).toHaveLength(1000);
      expect(relativeError(byIndex(predictions), byIndex(cpuClasses.predictions[i] ?? []))).toBeLessThan(RELATIVE_TOLERANCE);
    }
  });

  it('auto passes over CUDA, says why, and runs on webgpu', async () => {
    const host = await SessionHost.start({ name: 'auto', modelPath: join(modelsDir, 'align-base', 'onnx', 'text_model.onnx'), device: 'auto', intraOpThreads: 1 });
    try {
      expect(host.device).toBe('webgpu');
      expect(host.fallback).toMatch(/^cuda: /);
    } finally {
      await host.close();
    }
  });

  it('stops the server with a clear message when COYO_DEVICE=webgpu finds no adapter', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: PACKAGE_DIR,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        MODELS_DIR: modelsDir,
        ALLOW_NO_AUTH: '1',
        COYO_DEVICE: 'webgpu',
        COYO_HTTP_PROCESSES: '1',
        PREPROCESS_THREADS: '1',
        ORT_INTRA_OP_THREADS: '1',
        VK_ICD_FILENAMES: join(tmpdir(), 'no-such-vulkan-driver.json'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, output).toBe(1);
    expect(output).toContain('could not load the models');
    expect(output).toContain('COYO_DEVICE=webgpu but the WebGPU execution provider failed to start');
    expect(output).toContain('libvulkan1');
  }, 30_000);
});
