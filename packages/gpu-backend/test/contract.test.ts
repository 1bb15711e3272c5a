/**
 * The contract between this server and its callers: the real app, on the real ONNX backend and the
 * generated test models, answers every route, and every answer (success and problem) goes through the
 * schemas the worker parses with (`@coyo/backend-protocol`). A field renamed or dropped on one side fails
 * here, not first in the end-to-end suite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ClassifyAnswerSchema,
  EmbedImageAnswerSchema,
  EmbedTextAnswerSchema,
  HEADERS,
  HealthAnswerSchema,
  ModelsAnswerSchema,
  PROBLEMS,
  PhashAnswerSchema,
  PROBLEM_CONTENT_TYPE,
  ProblemAnswerSchema,
  ROUTES,
  ReadyAnswerSchema,
  decodeVectors,
  isProblemType,
  type ProblemType,
} from '@coyo/backend-protocol';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { loadModelsInfo, OnnxBackend } from '../src/backend/onnx.js';
import { Engine } from '../src/batching/engine.js';
import type { BatchingConfig, LimitsConfig } from '../src/config.js';
import { createApp } from '../src/http/app.js';
import { ServerStatus } from '../src/http/status.js';
import { silentLogger } from '../src/metrics/logger.js';
import { BackendMetrics } from '../src/metrics/metrics.js';
import { phashOf } from '../src/models/phash.js';
import { generateTestModels } from '../src/models/test-models.js';

const TOKEN = 'contract-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const MAX_QUEUE = 8;
const limits: LimitsConfig = { maxImageBytes: 200_000, maxImagePixels: 1_000_000, maxImagesPerRequest: 4, maxRequestPixels: 4_000_000, maxTextsPerRequest: 8, maxRequestBytes: 400_000 };
const batching: BatchingConfig = { maxBatchSize: 4, maxQueueDelayMs: 1, maxQueue: MAX_QUEUE };

let dir: string;
let backend: OnnxBackend;
let engine: Engine;
let app: ReturnType<typeof createApp>;
let starting: ReturnType<typeof createApp>;
let jpeg: Uint8Array;
let huge: Uint8Array;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'backend-contract-'));
  await generateTestModels(dir);
  const models = await loadModelsInfo(dir);
  backend = await OnnxBackend.create(
    { modelsDir: dir, device: 'cpu', precision: 'fp32', intraOpThreads: 1, preprocessThreads: 1, maxImagePixels: limits.maxImagePixels, logger: silentLogger },
    models,
  );
  const metrics = new BackendMetrics({ maxBatchSize: batching.maxBatchSize });
  const status = new ServerStatus(models);
  engine = new Engine({ backend, batching, metrics });
  status.markReady(engine);
  app = createApp({ config: { token: TOKEN, limits }, status, metrics });
  starting = createApp({ config: { token: TOKEN, limits }, status: new ServerStatus(models), metrics });
  jpeg = new Uint8Array(await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 90 } } }).jpeg().toBuffer());
  huge = new Uint8Array(await sharp({ create: { width: 1200, height: 1000, channels: 3, background: '#000' } }).png().toBuffer());
}, 120_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await backend.close();
});

/** The body of a 2xx answer, parsed as the worker parses it. */
async function answer<T>(response: Response, schema: z.ZodType<T>): Promise<T> {
  expect(response.status).toBe(200);
  const parsed = schema.safeParse(await response.json());
  if (!parsed.success) throw new Error(`the answer breaks the protocol: ${parsed.error.message}`);
  return parsed.data;
}

/** A problem answer, parsed as the worker parses it, with its type's status from the protocol's table. */
async function expectProblem(response: Response, type: ProblemType): Promise<void> {
  expect(response.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
  const body = ProblemAnswerSchema.parse(await response.json());
  expect(isProblemType(body.type)).toBe(true);
  expect(body.type).toBe(type);
  expect(response.status).toBe(PROBLEMS[type].status);
  expect(body.status).toBe(response.status);
  expect(body.title).toBe(PROBLEMS[type].title);
  expect(body.request_id).toBe(response.headers.get(HEADERS.requestId));
  if (response.status === 503) expect(Number(response.headers.get(HEADERS.retryAfter))).toBeGreaterThan(0);
}

function image(bytes: Uint8Array, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { ...AUTH, 'content-type': 'image/jpeg', ...headers }, body: bytes };
}

function images(...all: Uint8Array[]): RequestInit {
  const form = new FormData();
  for (const bytes of all) form.append('image', new Blob([bytes], { type: 'image/jpeg' }), 'x.jpg');
  return { method: 'POST', headers: AUTH, body: form };
}

function texts(body: unknown): RequestInit {
  return { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function expectAnsweredHeaders(response: Response, revision: string | undefined): void {
  expect(response.headers.get(HEADERS.modelRevision)).toBe(revision);
  expect(Number(response.headers.get(HEADERS.queueTime))).toBeGreaterThanOrEqual(0);
  expect(Number(response.headers.get(HEADERS.inferenceTime))).toBeGreaterThanOrEqual(0);
}

describe('answers', () => {
  it('GET /healthz and /readyz', async () => {
    const health = await answer(await app.request(ROUTES.health.path), HealthAnswerSchema);
    expect(health.test_models).toBe(true);
    expect(await answer(await app.request(ROUTES.ready.path), ReadyAnswerSchema)).toEqual({ status: 'ready' });
    const notReady = await starting.request(ROUTES.ready.path);
    expect(notReady.status).toBe(503);
    expect(ReadyAnswerSchema.parse(await notReady.json())).toEqual({ status: 'starting' });
  });

  it('GET /v1/models lists both models with the revisions the backend computed', async () => {
    const models = await answer(await app.request(ROUTES.models.path, { headers: AUTH }), ModelsAnswerSchema);
    expect(models.models.map((m) => [m.id, m.revision])).toEqual([
      ['align-base', backend.revisions.align],
      ['vit-large-patch16-384', backend.revisions.vit],
    ]);
    expect(models.batching).toEqual({ max_batch_size: 4, max_queue_delay_ms: 1, max_queue: MAX_QUEUE });
  });

  it('POST /v1/embed/image, one raw image and a multipart pair', async () => {
    const one = await app.request(ROUTES.embedImage.path, image(jpeg));
    const single = await answer(one, EmbedImageAnswerSchema);
    expectAnsweredHeaders(one, single.revision);
    expect(decodeVectors(single.embeddings, 1, single.dim)).toHaveLength(1);
    const pair = await answer(await app.request(ROUTES.embedImage.path, images(jpeg, jpeg)), EmbedImageAnswerSchema);
    expect(decodeVectors(pair.embeddings, 2, pair.dim)).toHaveLength(2);
    expect(pair.revision).toBe(backend.revisions.align);
  });

  it('POST /v1/embed/text', async () => {
    const response = await app.request(ROUTES.embedText.path, texts({ texts: ['a photo of a cat', 'a dog'] }));
    const body = await answer(response, EmbedTextAnswerSchema);
    expectAnsweredHeaders(response, body.revision);
    expect(decodeVectors(body.embeddings, 2, body.dim)).toHaveLength(2);
    expect(body.tokens).toHaveLength(2);
  });

  it('POST /v1/phash, one raw image and a multipart pair, as phashOf hashes them', async () => {
    const expected = await phashOf(jpeg, { maxPixels: limits.maxImagePixels });
    expect(await answer(await app.request(ROUTES.phash.path, image(jpeg)), PhashAnswerSchema)).toEqual({ phashes: [expected] });
    const other = new Uint8Array(await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3a7' } }).png().toBuffer());
    const pair = await answer(await app.request(ROUTES.phash.path, images(other, jpeg)), PhashAnswerSchema);
    expect(pair.phashes).toEqual([await phashOf(other, { maxPixels: limits.maxImagePixels }), expected]);
  });

  it('POST /v1/classify', async () => {
    const response = await app.request(`${ROUTES.classify.path}?top_k=3`, images(jpeg, jpeg));
    const body = await answer(response, ClassifyAnswerSchema);
    expectAnsweredHeaders(response, backend.revisions.vit);
    expect(body.predictions.map((list) => list.length)).toEqual([3, 3]);
  });
});

describe('problems', () => {
  it('unauthorized (401) without the token', async () => {
    await expectProblem(await app.request(ROUTES.models.path), 'unauthorized');
  });

  it('not_found (404) on an unknown route', async () => {
    await expectProblem(await app.request('/v1/nothing', { headers: AUTH }), 'not_found');
  });

  it('invalid_request (400) on a malformed deadline and an empty text list', async () => {
    await expectProblem(await app.request(ROUTES.embedImage.path, image(jpeg, { [HEADERS.deadlineMs]: 'soon' })), 'invalid_request');
    await expectProblem(await app.request(ROUTES.embedText.path, texts({ texts: [] })), 'invalid_request');
  });

  it('unsupported_media_type (415) on bytes that are no image format', async () => {
    await expectProblem(await app.request(ROUTES.embedImage.path, image(new TextEncoder().encode('not an image at all'))), 'unsupported_media_type');
    await expectProblem(await app.request(ROUTES.phash.path, image(new TextEncoder().encode('not an image at all'))), 'unsupported_media_type');
  });

  it('payload_too_large (413) and image_too_large (413)', async () => {
    await expectProblem(await app.request(ROUTES.embedImage.path, image(new Uint8Array(limits.maxImageBytes + 1))), 'payload_too_large');
    await expectProblem(await app.request(ROUTES.embedImage.path, image(huge)), 'image_too_large');
  });

  it('invalid_image (422) on a truncated JPEG', async () => {
    await expectProblem(await app.request(ROUTES.classify.path, image(jpeg.subarray(0, jpeg.length / 2))), 'invalid_image');
  });

  it('overloaded (503) when the tower queue is full', async () => {
    const held = Array.from({ length: MAX_QUEUE }, () => engine.tryAcquirePermit('embed-text'));
    try {
      await expectProblem(await app.request(ROUTES.embedText.path, texts({ texts: ['a'] })), 'overloaded');
    } finally {
      for (const permit of held) permit.release();
    }
  });

  it('not_ready (503) while the models load', async () => {
    await expectProblem(await starting.request(ROUTES.embedImage.path, image(jpeg)), 'not_ready');
  });

  it('deadline_exceeded (504) when no time is left', async () => {
    await expectProblem(await app.request(ROUTES.embedText.path, { ...texts({ texts: ['a'] }), headers: { ...AUTH, 'content-type': 'application/json', [HEADERS.deadlineMs]: '0' } }), 'deadline_exceeded');
  });
});
