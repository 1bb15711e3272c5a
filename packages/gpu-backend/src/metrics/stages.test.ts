/**
 * `/metrics` after real requests on the generated test models (real sessions, tokenizer and image
 * pre-processing): the stage histograms and event-loop series exist, and their numbers agree with the
 * answers' own timing headers and with each other.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../batching/engine.js';
import { loadModelsInfo, OnnxBackend } from '../backend/onnx.js';
import { createApp } from '../http/app.js';
import { ServerStatus } from '../http/status.js';
import { generateTestModels } from '../models/test-models.js';
import { silentLogger } from './logger.js';
import { BackendMetrics, STAGES } from './metrics.js';

const TOKEN = 'stage-metrics-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let dir: string;
let backend: OnnxBackend;
let app: ReturnType<typeof createApp>;
let jpeg: Uint8Array;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stage-metrics-'));
  await generateTestModels(dir);
  const models = await loadModelsInfo(dir);
  backend = await OnnxBackend.create(
    { modelsDir: dir, device: 'cpu', precision: 'fp32', intraOpThreads: 1, preprocessThreads: 1, maxImagePixels: 1_000_000, logger: silentLogger },
    models,
  );
  const batching = { maxBatchSize: 8, maxQueueDelayMs: 1, maxQueue: 64 };
  const metrics = new BackendMetrics({ maxBatchSize: batching.maxBatchSize });
  metrics.trackThreads(() => backend.threadLoops());
  const status = new ServerStatus(models);
  status.markReady(new Engine({ backend, batching, metrics }));
  const limits = { maxImageBytes: 1 << 20, maxImagePixels: 1_000_000, maxImagesPerRequest: 4, maxTextsPerRequest: 8, maxRequestBytes: 4 << 20, maxRequestPixels: 4_000_000 };
  app = createApp({ config: { token: TOKEN, limits }, status, metrics });
  jpeg = new Uint8Array(
    await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 10, g: 120, b: 200 } } }).jpeg().toBuffer(),
  );
}, 60_000);

afterAll(async () => {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every sample of `name` in a text exposition, as label text → value. */
function samples(page: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of page.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

function value(page: string, name: string, labels: string): number {
  const v = samples(page, name).get(labels);
  if (v === undefined) throw new Error(`no ${name}${labels} in:\n${page}`);
  return v;
}

async function scrape(): Promise<string> {
  const response = await app.request('/metrics');
  expect(response.status).toBe(200);
  return response.text();
}

describe('stage metrics', () => {
  it('count every stage once per answered request, by route, and agree with the timing headers', async () => {
    const textTimes = { queue: 0, inference: 0 };
    for (const texts of [['a photo of a cat'], ['a dog', 'two dogs on a sofa', 'a bird']]) {
      const response = await app.request('/v1/embed/text', {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/json' },
        body: JSON.stringify({ texts }),
      });
      expect(response.status).toBe(200);
      textTimes.queue += Number(response.headers.get('x-queue-time'));
      textTimes.inference += Number(response.headers.get('x-inference-time'));
      await response.arrayBuffer();
    }
    for (const route of ['/v1/embed/image', '/v1/classify']) {
      const response = await app.request(route, { method: 'POST', headers: { ...AUTH, 'content-type': 'image/jpeg' }, body: jpeg });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    // A refused request is not an answered one: it adds to no stage.
    const refused = await app.request('/v1/embed/text', { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: '{' });
    expect(refused.status).toBe(400);

    const page = await scrape();
    expect(page).toContain('# TYPE coyo_backend_stage_seconds histogram\n');
    for (const [route, answered] of [['/v1/embed/text', 2], ['/v1/embed/image', 1], ['/v1/classify', 1]] as const) {
      for (const stage of STAGES) {
        const labels = `{route="${route}",stage="${stage}"}`;
        expect(value(page, 'coyo_backend_stage_seconds_count', labels), labels).toBe(answered);
        const sum = value(page, 'coyo_backend_stage_seconds_sum', labels);
        expect(sum, labels).toBeGreaterThanOrEqual(0);
        expect(value(page, 'coyo_backend_stage_seconds_bucket', `{route="${route}",stage="${stage}",le="+Inf"}`)).toBe(answered);
      }
      // Real work happened in the stages that do it.
      expect(value(page, 'coyo_backend_stage_seconds_sum', `{route="${route}",stage="inference"}`)).toBeGreaterThan(0);
      expect(value(page, 'coyo_backend_stage_seconds_sum', `{route="${route}",stage="preprocess"}`)).toBeGreaterThan(0);
    }
    // Queue and inference are the engine's own timings, the ones the headers carry (rounded to 0.1 ms there).
    const textSum = (stage: string) => value(page, 'coyo_backend_stage_seconds_sum', `{route="/v1/embed/text",stage="${stage}"}`) * 1000;
    expect(Math.abs(textSum('queue') - textTimes.queue)).toBeLessThanOrEqual(0.1);
    expect(Math.abs(textSum('inference') - textTimes.inference)).toBeLessThanOrEqual(0.1);
    // Each request's model time is also in the per-tower histogram, which counts every run once.
    const towerInference = value(page, 'coyo_backend_inference_time_seconds_sum', '{tower="align-text"}') * 1000;
    expect(textSum('inference')).toBeCloseTo(towerInference, 6);
  });

  it('reports the event loop as counters that grow and a utilisation share', async () => {
    const first = await scrape();
    const active = value(first, 'coyo_backend_event_loop_active_seconds_total', '{thread="main"}');
    const idle = value(first, 'coyo_backend_event_loop_idle_seconds_total', '{thread="main"}');
    const share = value(first, 'coyo_backend_event_loop_utilization', '{thread="main"}');
    expect(first).toContain('# TYPE coyo_backend_event_loop_active_seconds_total counter\n');
    expect(active).toBeGreaterThan(0);
    expect(idle).toBeGreaterThanOrEqual(0);
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThanOrEqual(1);
    // Busy the loop: active time can only grow.
    const until = performance.now() + 20;
    while (performance.now() < until) { /* spin */ }
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await scrape();
    expect(value(second, 'coyo_backend_event_loop_active_seconds_total', '{thread="main"}')).toBeGreaterThan(active + 0.015);
    expect(value(second, 'coyo_backend_event_loop_idle_seconds_total', '{thread="main"}')).toBeGreaterThanOrEqual(idle);
  });

  it('reports the pre-processing and session threads, which were busy serving the requests above', async () => {
    const page = await scrape();
    const threads = [...samples(page, 'coyo_backend_event_loop_active_seconds_total').keys()];
    expect(threads.sort()).toEqual(
      ['main', 'preprocess:0', 'session:align-text', 'session:align-vision', 'session:vit'].map((t) => `{thread="${t}"}`),
    );
    // Images were decoded on the pool's thread and every tower ran at least one batch (warm-up included).
    expect(value(page, 'coyo_backend_event_loop_active_seconds_total', '{thread="preprocess:0"}')).toBeGreaterThan(0);
    for (const tower of ['align-text', 'align-vision', 'vit']) {
      expect(value(page, 'coyo_backend_event_loop_active_seconds_total', `{thread="session:${tower}"}`)).toBeGreaterThan(0);
      const share = value(page, 'coyo_backend_event_loop_utilization', `{thread="session:${tower}"}`);
      expect(share).toBeGreaterThan(0);
      expect(share).toBeLessThanOrEqual(1);
    }
  });
});
