import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { Engine } from '../batching/engine.js';
import { FakeBackend, FAKE_MIN_IMAGE_BYTES, FAKE_REVISIONS } from '../backend/fake.js';
import type { BatchingConfig, LimitsConfig } from '../config.js';
import { BackendMetrics } from '../metrics/metrics.js';
import { createApp } from './app.js';
import { ServerStatus } from './status.js';
import { TEST_LIMITS } from '../../test/http-limits.js';

const TOKEN = 'test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface SetupOptions {
  maxConcurrentPhash?: number;
  limits?: Partial<LimitsConfig>;
  batching?: Partial<BatchingConfig>;
  token?: string | undefined;
  ready?: boolean;
}

function setup(options: SetupOptions = {}) {
  const backend = new FakeBackend({ testModels: true, warning: 'synthetic weights' });
  const batching: BatchingConfig = { maxBatchSize: 8, maxQueueDelayMs: 1, maxQueue: 64, ...options.batching };
  const limits: LimitsConfig = { ...TEST_LIMITS, ...options.limits };
  const metrics = new BackendMetrics({ maxBatchSize: batching.maxBatchSize });
  const status = new ServerStatus(backend.models);
  const engine = new Engine({ backend, batching, metrics });
  if (options.ready !== false) status.markReady(engine);
  const token = 'token' in options ? options.token : TOKEN;
  const app = createApp({ config: { token, limits }, status, metrics, ...(options.maxConcurrentPhash !== undefined ? { maxConcurrentPhash: options.maxConcurrentPhash } : {}) });
  return { app, backend, status, engine, metrics };
}

/** A fake PNG of `size` bytes: the PNG signature, then filler. */
function png(size: number): Uint8Array {
  const bytes = new Uint8Array(size).fill(7);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return bytes;
}

function imageRequest(bytes: Uint8Array, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { ...AUTH, 'content-type': 'image/png', ...headers }, body: bytes };
}

function form(...images: Array<{ bytes: Uint8Array; type?: string } | string>): FormData {
  const f = new FormData();
  for (const image of images) {
    if (typeof image === 'string') f.append('image', image);
    else f.append('image', new Blob([image.bytes], { type: image.type ?? 'image/png' }), 'x.png');
  }
  return f;
}

function textRequest(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

async function problem(response: Response) {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (await response.json()) as { type: string; title: string; status: number; detail: string; request_id: string };
}

describe('health and readiness', () => {
  it('answers /healthz with the test-model warning and no auth, and the device once the sessions have loaded', async () => {
    const { app } = setup();
    const response = await app.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', test_models: true, warning: 'synthetic weights', device: 'cpu' });
    const loading = await setup({ ready: false }).app.request('/healthz');
    expect(await loading.json()).toEqual({ status: 'ok', test_models: true, warning: 'synthetic weights' });
  });

  it('answers /healthz while a batch is running', async () => {
    const { app, backend } = setup();
    const started = backend.hold();
    const pending = app.request('/v1/embed/image', imageRequest(png(20)));
    await started;
    expect(backend.running).toBe(1);
    const health = await app.request('/healthz');
    expect(health.status).toBe(200);
    backend.release();
    expect((await pending).status).toBe(200);
  });

  it('answers /readyz 503 before warm-up, 200 when ready and 503 while draining', async () => {
    const { app, status, engine } = setup({ ready: false });
    expect((await app.request('/readyz')).status).toBe(503);
    status.markReady(engine);
    expect((await app.request('/readyz')).status).toBe(200);
    status.beginDrain();
    expect((await app.request('/readyz')).status).toBe(503);
  });

  it('refuses /v1 work with 503 not_ready before warm-up', async () => {
    const { app } = setup({ ready: false });
    const response = await app.request('/v1/embed/text', textRequest({ texts: ['a'] }));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect((await problem(response)).type).toBe('not_ready');
  });

  it('refuses new /v1 work with 503 not_ready while draining but finishes admitted work', async () => {
    const { app, backend, status } = setup();
    const started = backend.hold();
    const admitted = app.request('/v1/embed/image', imageRequest(png(20)));
    await started;
    status.beginDrain();
    const late = await app.request('/v1/embed/image', imageRequest(png(20)));
    expect((await problem(late)).type).toBe('not_ready');
    const idle = status.idle();
    backend.release();
    expect((await admitted).status).toBe(200);
    await idle;
    expect(status.inFlight).toBe(0);
  });
});

describe('auth', () => {
  it('answers 401 problem+json without a bearer token', async () => {
    const { app } = setup();
    const response = await app.request('/v1/models');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    const body = await problem(response);
    expect(body).toMatchObject({ type: 'unauthorized', status: 401, title: 'Unauthorized' });
    expect(body.request_id).toBe(response.headers.get('x-request-id'));
  });

  it('answers 401 for a wrong token', async () => {
    const { app } = setup();
    const response = await app.request('/v1/models', { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(response.status).toBe(401);
  });

  it('lets requests through without a token when auth is off', async () => {
    const { app } = setup({ token: undefined });
    expect((await app.request('/v1/models')).status).toBe(200);
  });

  it('keeps /healthz, /readyz and /metrics open', async () => {
    const { app } = setup();
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await app.request(path)).status).toBe(200);
  });
});

describe('POST /v1/embed/text', () => {
  it('returns one embedding and token count per text, in order', async () => {
    const { app } = setup();
    const response = await app.request('/v1/embed/text', textRequest({ texts: ['one', 'two words', 'and three words'] }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { model: string; dim: number; embeddings: number[][]; tokens: number[] };
    expect(body.model).toBe('align-base');
    expect(body.dim).toBe(640);
    expect(body.tokens).toEqual([3, 4, 5]);
    // The fake writes each text's token count into dimension 0: answers reached the right texts.
    expect(body.embeddings.map((e) => e[0])).toEqual([3, 4, 5]);
    expect(body.embeddings.every((e) => e.length === 640)).toBe(true);
  });

  it('pads a text batch to its longest text, not to 64', async () => {
    const { app, backend } = setup();
    await app.request('/v1/embed/text', textRequest({ texts: ['a', 'a b c d'] }));
    expect(backend.runs).toEqual([{ tower: 'align-text', batch: 2, seqLen: 6 }]);
  });

  it('answers 400 invalid_request for malformed JSON', async () => {
    const { app } = setup();
    const response = await app.request('/v1/embed/text', textRequest('{"texts": ['));
    expect(response.status).toBe(400);
    expect((await problem(response)).type).toBe('invalid_request');
  });

  it('answers 400 for more texts than allowed', async () => {
    const { app } = setup();
    const response = await app.request('/v1/embed/text', textRequest({ texts: ['a', 'b', 'c', 'd'] }));
    expect(response.status).toBe(400);
    expect((await problem(response)).detail).toContain('at most 3');
  });

  it('answers 400 for an empty list and for a text over 2048 characters', async () => {
    const { app } = setup();
    expect((await app.request('/v1/embed/text', textRequest({ texts: [] }))).status).toBe(400);
    expect((await app.request('/v1/embed/text', textRequest({ texts: ['x'.repeat(2049)] }))).status).toBe(400);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const { app } = setup();
    const response = await app.request('/v1/embed/text', textRequest('texts=a', { 'content-type': 'text/plain' }));
    expect(response.status).toBe(415);
  });
});

describe('POST /v1/embed/image', () => {
  it('embeds a raw image body and sets the timing and request-id headers', async () => {
    const { app } = setup();
    const response = await app.request('/v1/embed/image', imageRequest(png(40), { 'x-request-id': 'abc-123' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('abc-123');
    expect(Number(response.headers.get('x-queue-time'))).toBeGreaterThanOrEqual(0);
    expect(Number(response.headers.get('x-inference-time'))).toBeGreaterThanOrEqual(0);
    const body = (await response.json()) as { model: string; dim: number; embeddings: number[][] };
    expect(body).toMatchObject({ model: 'align-base', dim: 640 });
    expect(body.embeddings.map((e) => e[0])).toEqual([40]);
  });

  it('generates a request id when none is sent', async () => {
    const { app } = setup();
    const response = await app.request('/v1/embed/image', imageRequest(png(40)));
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('embeds every multipart image part in request order', async () => {
    const { app, backend } = setup();
    const response = await app.request('/v1/embed/image', {
      method: 'POST',
      headers: AUTH,
      body: form({ bytes: png(30) }, { bytes: png(50) }, { bytes: png(20), type: 'application/octet-stream' }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { embeddings: number[][] };
    expect(body.embeddings.map((e) => e[0])).toEqual([30, 50, 20]);
    expect(backend.runs).toEqual([{ tower: 'align-vision', batch: 3 }]);
  });

  it('answers 413 when the images declare more pixels than MAX_REQUEST_PIXELS, before decoding any', async () => {
    const { app, backend } = setup({ limits: { maxImageBytes: 100_000, maxRequestBytes: 500_000, maxRequestPixels: 1_000_000 } });
    // 600×600 = 360,000 pixels each, a few hundred bytes compressed: three exceed the budget, two do not.
    const real = new Uint8Array(
      await sharp({ create: { width: 600, height: 600, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toBuffer(),
    );
    const three = await app.request('/v1/embed/image', { method: 'POST', headers: AUTH, body: form({ bytes: real }, { bytes: real }, { bytes: real }) });
    expect(three.status).toBe(413);
    const body = await problem(three);
    expect(body.type).toBe('payload_too_large');
    expect(body.detail).toContain('1080000 pixels');
    expect(backend.runs).toEqual([]);
    const raw = await setup({ limits: { maxImageBytes: 100_000, maxRequestPixels: 359_999 } }).app.request('/v1/classify', imageRequest(real));
    expect(raw.status).toBe(413);
    const two = await app.request('/v1/embed/image', { method: 'POST', headers: AUTH, body: form({ bytes: real }, { bytes: real }) });
    expect(two.status).toBe(200);
  });

  it('answers 413 from Content-Length before reading the body', async () => {
    const { app } = setup();
    let pulled = false;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulled = true;
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    const response = await app.request('/v1/embed/image', {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'image/png', 'content-length': '1001' },
      body,
      duplex: 'half',
    });
    expect(response.status).toBe(413);
    expect((await problem(response)).type).toBe('payload_too_large');
    expect(pulled).toBe(false);
  });

  it('answers 413 when a body without Content-Length grows past the limit while read', async () => {
    const { app } = setup();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 300;
        controller.enqueue(png(300));
        if (sent > 5000) controller.close();
      },
    });
    const response = await app.request('/v1/embed/image', {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'image/png' },
      body,
      duplex: 'half',
    });
    expect(response.status).toBe(413);
    expect(sent).toBeLessThan(5000);
  });

  it('answers 415 for a Content-Type that is not an image', async () => {
    const { app } = setup();
    const response = await app.request('/v1/embed/image', imageRequest(png(40), { 'content-type': 'text/plain' }));
    expect(response.status).toBe(415);
    expect((await problem(response)).type).toBe('unsupported_media_type');
  });

  it('answers 415 for bytes that are no known image format', async () => {
    const { app } = setup();
    const response = await app.request('/v1/embed/image', imageRequest(new TextEncoder().encode('hello, this is text')));
    expect(response.status).toBe(415);
  });

  it('answers 422 for a broken image and keeps serving', async () => {
    const { app } = setup();
    const broken = await app.request('/v1/embed/image', imageRequest(png(FAKE_MIN_IMAGE_BYTES - 1)));
    expect(broken.status).toBe(422);
    expect((await problem(broken)).type).toBe('invalid_image');
    const next = await app.request('/v1/embed/image', imageRequest(png(40)));
    expect(next.status).toBe(200);
  });

  it('answers 400 for more multipart images than allowed', async () => {
    const { app } = setup();
    const images = Array.from({ length: 5 }, () => ({ bytes: png(20) }));
    const response = await app.request('/v1/embed/image', { method: 'POST', headers: AUTH, body: form(...images) });
    expect(response.status).toBe(400);
  });

  it('answers 413 for one multipart image over the per-image limit', async () => {
    const { app } = setup();
    const response = await app.request('/v1/embed/image', { method: 'POST', headers: AUTH, body: form({ bytes: png(1001) }) });
    expect(response.status).toBe(413);
  });

  it('answers 400 for a form without an image file part', async () => {
    const { app } = setup();
    const noPart = new FormData();
    noPart.append('file', new Blob([png(20)]), 'x.png');
    expect((await app.request('/v1/embed/image', { method: 'POST', headers: AUTH, body: noPart })).status).toBe(400);
    expect((await app.request('/v1/embed/image', { method: 'POST', headers: AUTH, body: form('not a file') })).status).toBe(400);
  });

  it('answers 500 internal with a generic detail when the model run fails', async () => {
    const { app, backend } = setup();
    backend.failNext(new Error('CUDA out of memory'));
    const response = await app.request('/v1/embed/image', imageRequest(png(40)));
    expect(response.status).toBe(500);
    const body = await problem(response);
    expect(body.type).toBe('internal');
    expect(body.detail).not.toContain('CUDA');
  });
});

describe('POST /v1/classify', () => {
  it('returns the top 5 predictions per image by default, best first', async () => {
    const { app } = setup();
    const response = await app.request('/v1/classify', imageRequest(png(23)));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { model: string; predictions: Array<Array<{ label: string; score: number; index: number }>> };
    expect(body.model).toBe('vit-large-patch16-384');
    const [list] = body.predictions;
    expect(list).toHaveLength(5);
    // The fake's logits peak at byteLength % labels = 23 % 10.
    expect(list?.[0]).toMatchObject({ label: 'label 3', index: 3 });
    const scores = list?.map((p) => p.score) ?? [];
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('honours top_k and caps it at the number of labels', async () => {
    const { app } = setup();
    const two = (await (await app.request('/v1/classify?top_k=2', imageRequest(png(20)))).json()) as { predictions: unknown[][] };
    expect(two.predictions[0]).toHaveLength(2);
    const all = (await (await app.request('/v1/classify?top_k=500', imageRequest(png(20)))).json()) as { predictions: unknown[][] };
    expect(all.predictions[0]).toHaveLength(10);
  });

  it('answers 400 for a top_k that is not a positive integer', async () => {
    const { app } = setup();
    for (const k of ['0', '-1', '2.5', 'many']) {
      expect((await app.request(`/v1/classify?top_k=${k}`, imageRequest(png(20)))).status).toBe(400);
    }
  });
});

describe('queueing', () => {
  it('answers 503 overloaded with Retry-After to a pHash request past the concurrency bound, before reading its body', async () => {
    const { app } = setup({ maxConcurrentPhash: 1 });
    let send!: ReadableStreamDefaultController<Uint8Array>;
    const held = new ReadableStream<Uint8Array>({ start: (controller) => { send = controller; } });
    const first = app.request('/v1/phash', { method: 'POST', headers: { ...AUTH, 'content-type': 'image/png' }, body: held, duplex: 'half' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const refused = await app.request('/v1/phash', imageRequest(png(20)));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await problem(refused)).type).toBe('overloaded');
    send.close();
    expect((await first).status).toBe(400);
    // The slot is free again once the first request has ended.
    expect((await app.request('/v1/phash', imageRequest(png(20)))).status).not.toBe(503);
  });

  it('answers 503 overloaded with Retry-After at once when the queue is full', async () => {
    const { app, backend } = setup({ batching: { maxQueue: 4, maxBatchSize: 2, maxQueueDelayMs: 0 } });
    const started = backend.hold();
    const running = app.request('/v1/embed/text', textRequest({ texts: ['a', 'b'] }));
    await started;
    const queued = app.request('/v1/embed/text', textRequest({ texts: ['c', 'd', 'e'] }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const refused = await app.request('/v1/embed/text', textRequest({ texts: ['f', 'g'] }));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await problem(refused)).type).toBe('overloaded');
    backend.release();
    expect((await running).status).toBe(200);
    expect((await queued).status).toBe(200);
  });

  it('answers 504 deadline_exceeded for work still queued when its deadline passes', async () => {
    const { app, backend } = setup({ batching: { maxQueueDelayMs: 0 } });
    const started = backend.hold();
    const running = app.request('/v1/embed/image', imageRequest(png(20)));
    await started;
    const late = await app.request('/v1/embed/image', imageRequest(png(30), { 'x-deadline-ms': '20' }));
    expect(late.status).toBe(504);
    expect((await problem(late)).type).toBe('deadline_exceeded');
    backend.release();
    expect((await running).status).toBe(200);
    expect(backend.runs).toEqual([{ tower: 'align-vision', batch: 1 }]);
  });

  it('answers 504 at once for a deadline of 0 ms', async () => {
    const { app, backend } = setup();
    const response = await app.request('/v1/embed/image', imageRequest(png(20), { 'x-deadline-ms': '0' }));
    expect(response.status).toBe(504);
    expect(backend.runs).toEqual([]);
  });

  it('answers 400 for an x-deadline-ms that is not a whole number', async () => {
    const { app } = setup();
    expect((await app.request('/v1/embed/image', imageRequest(png(20), { 'x-deadline-ms': 'soon' }))).status).toBe(400);
  });

  it('drops queued work of a client that disconnected', async () => {
    const { app, backend } = setup({ batching: { maxQueueDelayMs: 0 } });
    const started = backend.hold();
    const running = app.request('/v1/embed/image', imageRequest(png(20)));
    await started;
    const controller = new AbortController();
    const abandoned = app.request('/v1/embed/image', { ...imageRequest(png(30)), signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    expect((await abandoned).status).toBe(499);
    backend.release();
    expect((await running).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(backend.runs).toEqual([{ tower: 'align-vision', batch: 1 }]);
  });

  it('counts a client that disconnected while sending its body as 499, not as a server error', async () => {
    const { app, metrics } = setup();
    const controller = new AbortController();
    // What the HTTP server hands over when the connection drops mid-upload: an aborted signal and a body
    // stream that errors.
    const body = new ReadableStream<Uint8Array>({
      start(stream) {
        stream.enqueue(png(20).subarray(0, 10));
      },
      pull(stream) {
        controller.abort();
        stream.error(new Error('aborted'));
      },
    });
    const response = await app.request('/v1/embed/image', {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'image/png' },
      body,
      duplex: 'half',
      signal: controller.signal,
    });
    expect(response.status).toBe(499);
    expect(metrics.requests.get({ route: '/v1/embed/image', status: '499' })).toBe(1);
    expect(metrics.requests.get({ route: '/v1/embed/image', status: '500' })).toBe(0);
  });
});

describe('GET /v1/models and /metrics', () => {
  it('describes the models, device and batching knobs', async () => {
    const { app } = setup();
    const response = await app.request('/v1/models', { headers: AUTH });
    expect(await response.json()).toEqual({
      device: 'cpu',
      test_models: true,
      warning: 'synthetic weights',
      models: [
        {
          id: 'align-base',
          revision: FAKE_REVISIONS.align,
          task: 'zero-shot-image-classification',
          image_size: 289,
          embedding_dim: 640,
          max_text_tokens: 64,
          temperature: 0.01,
        },
        { id: 'vit-large-patch16-384', revision: FAKE_REVISIONS.vit, task: 'image-classification', image_size: 384, num_labels: 10 },
      ],
      batching: { max_batch_size: 8, max_queue_delay_ms: 1, max_queue: 64 },
    });
  });

  it('names in every answer, body and header, the revision /v1/models reports for its model', async () => {
    const { app } = setup();
    const listed = (await (await app.request('/v1/models', { headers: AUTH })).json()) as { models: { id: string; revision: string }[] };
    const revisionOf = (id: string) => listed.models.find((m) => m.id === id)?.revision;
    expect(revisionOf('align-base')).toMatch(/^[0-9a-f]{16}$/);
    expect(revisionOf('vit-large-patch16-384')).toMatch(/^[0-9a-f]{16}$/);
    const answers = [
      ['align-base', await app.request('/v1/embed/image', imageRequest(png(40)))],
      ['align-base', await app.request('/v1/embed/text', textRequest({ texts: ['a cat'] }))],
      ['vit-large-patch16-384', await app.request('/v1/classify', imageRequest(png(40)))],
    ] as const;
    for (const [id, response] of answers) {
      expect(response.status).toBe(200);
      expect(response.headers.get('x-model-revision')).toBe(revisionOf(id));
      expect(((await response.json()) as { revision: string }).revision).toBe(revisionOf(id));
    }
  });

  it('exposes requests by route and status, batch sizes and queue depths', async () => {
    const { app } = setup();
    await app.request('/v1/embed/image', imageRequest(png(20)));
    await app.request('/v1/embed/image', imageRequest(new Uint8Array(0)));
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain('coyo_backend_requests_total{route="/v1/embed/image",status="200"} 1');
    expect(text).toContain('coyo_backend_requests_total{route="/v1/embed/image",status="400"} 1');
    expect(text).toContain('coyo_backend_batch_size_count{tower="align-vision"} 1');
    expect(text).toContain('coyo_backend_queue_depth{tower="vit"} 0');
  });

  it('answers unknown routes with a 404 problem', async () => {
    const { app } = setup();
    const response = await app.request('/nope');
    expect(response.status).toBe(404);
    expect((await problem(response)).type).toBe('not_found');
  });
});
