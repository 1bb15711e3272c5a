/**
 * The direct routes (text, classify, image embeddings) answer as the Hono app does. Each case sends the same request to the app
 * (`app.request()`) and to a node:http server that has only the direct routes (anything they pass on is
 * answered 599, so every answer compared here is theirs), and compares status, the headers a caller
 * reads, and the body byte for byte.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatContentDigest } from '@coyo/backend-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBackend } from '../backend/fake.js';
import type { PreprocessOptions } from '../backend/types.js';
import { Engine } from '../batching/engine.js';
import { BackendMetrics } from '../metrics/metrics.js';
import { createApp, type AppDeps } from './app.js';
import { directRoutes } from './fast-path.js';
import { ServerStatus } from './status.js';
import { TEST_LIMITS } from '../../test/http-limits.js';

const TOKEN = 'fast-path-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** Headers a caller of the inference routes reads. */
const COMPARED_HEADERS = [
  'content-type',
  'x-request-id',
  'x-model-revision',
  'vary',
  'www-authenticate',
  'retry-after',
  'x-embedding-model',
  'x-embedding-dim',
  'x-embedding-count',
  'x-text-tokens',
  'x-coyo-verified-sha256',
];

interface Side {
  backend: FakeBackend;
  app: ReturnType<typeof createApp>;
  url: string;
  metrics: BackendMetrics;
  close: () => Promise<void>;
}

const sides: Side[] = [];

/** An app and a direct-routes server over one engine (`maxQueue` 0 refuses everything as overloaded). */
async function side(options: { ready?: boolean; maxQueue?: number } = {}): Promise<Side> {
  const backend = new FakeBackend({ testModels: true });
  const metrics = new BackendMetrics({ maxBatchSize: 4 });
  const status = new ServerStatus(backend.models);
  if (options.ready !== false) {
    status.markReady(new Engine({ backend, batching: { maxBatchSize: 4, maxQueueDelayMs: 1, maxQueue: options.maxQueue ?? 16 }, metrics }));
  }
  const deps: AppDeps = { config: { token: TOKEN, limits: TEST_LIMITS }, status, metrics };
  const direct = directRoutes(deps);
  const server: Server = createServer((req, res) => {
    if (!direct(req, res)) res.writeHead(599).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const s: Side = {
    backend,
    app: createApp(deps),
    url: `http://127.0.0.1:${port}`,
    metrics,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => { resolve(); });
    }),
  };
  sides.push(s);
  return s;
}

let ready: Side;

beforeAll(async () => {
  ready = await side();
});

afterAll(async () => {
  await Promise.all(sides.map((s) => s.close()));
});

interface Summary {
  status: number;
  headers: Record<string, string | null>;
  timings: boolean;
  body: string;
}

async function summarise(response: Response): Promise<Summary> {
  const headers = Object.fromEntries(COMPARED_HEADERS.map((h) => [h, response.headers.get(h)]));
  const queue = response.headers.get('x-queue-time');
  const inference = response.headers.get('x-inference-time');
  const timings = queue !== null && inference !== null && /^\d+(\.\d)?$/.test(queue) && /^\d+(\.\d)?$/.test(inference);
  return { status: response.status, headers, timings, body: Buffer.from(await response.arrayBuffer()).toString('base64') };
}

/** The same request through both paths. */
async function both(s: Side, headers: Record<string, string>, body: string | Uint8Array<ArrayBuffer>, path = '/v1/embed/text'): Promise<[Summary, Summary]> {
  const init = { method: 'POST', headers, body };
  // As over the wire: a client states the length of a body it has whole.
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  const viaApp = await summarise(await s.app.request(path, { ...init, headers: { ...headers, 'content-length': String(length) } }));
  const viaDirect = await summarise(await fetch(`${s.url}${path}`, init));
  return [viaApp, viaDirect];
}

const json = { ...AUTH, 'content-type': 'application/json', 'x-request-id': 'req-1' };

describe('the direct text route answers as the app does', () => {
  it('for good requests, JSON and binary answers alike', async () => {
    for (const [headers, body] of [
      [json, JSON.stringify({ texts: ['a photo of a cat'] })],
      [json, JSON.stringify({ texts: ['one', 'two, with more words', 'ÉCOLE café 🐱'], extra: true })],
      [{ ...json, accept: 'application/octet-stream' }, JSON.stringify({ texts: ['binary', 'rows'] })],
      [{ ...json, accept: 'application/json;q=0.5, application/octet-stream' }, JSON.stringify({ texts: ['ranked'] })],
    ] as const) {
      const [viaApp, viaDirect] = await both(ready, headers, body);
      expect(viaApp.status).toBe(200);
      expect(viaApp.timings && viaDirect.timings).toBe(true);
      expect(viaDirect).toEqual(viaApp);
    }
  });

  it('for refused requests: auth, media type, body, limits and deadline', async () => {
    const cases: Array<[Record<string, string>, string, number]> = [
      [{ 'content-type': 'application/json', 'x-request-id': 'r' }, '{"texts":["x"]}', 401],
      [{ ...json, authorization: 'Bearer wrong' }, '{"texts":["x"]}', 401],
      [{ ...json, authorization: `Bearer ${TOKEN}x` }, '{"texts":["x"]}', 401],
      [{ ...json, authorization: `Basic ${TOKEN}` }, '{"texts":["x"]}', 401],
      [{ ...json, 'content-type': 'text/plain' }, '{"texts":["x"]}', 415],
      [json, '{"texts":', 400],
      [json, '\xff\xfe', 400],
      [json, '{"texts":[]}', 400],
      [json, '{"texts":["a","b","c","d"]}', 400],
      [json, '{"texts":[1]}', 400],
      [json, JSON.stringify({ texts: ['x'.repeat(5000)] }), 400],
      [json, JSON.stringify({ texts: ['y'], pad: 'z'.repeat(3 * 2048 * 6 + 64 * 1024) }), 413],
      [{ ...json, 'x-deadline-ms': 'soon' }, '{"texts":["x"]}', 400],
      [{ ...json, 'x-deadline-ms': '0' }, '{"texts":["x"]}', 504],
    ];
    for (const [headers, body, status] of cases) {
      const [viaApp, viaDirect] = await both(ready, headers, body);
      expect({ status: viaApp.status, body: Buffer.from(viaApp.body, 'base64').toString() }).toMatchObject({ status });
      expect(viaDirect).toEqual(viaApp);
    }
  });

  it('for a server still loading and an overloaded queue (503 with Retry-After)', async () => {
    for (const s of [await side({ ready: false }), await side({ maxQueue: 0 })]) {
      const [viaApp, viaDirect] = await both(s, json, '{"texts":["x"]}');
      expect(viaApp.status).toBe(503);
      expect(viaApp.headers['retry-after']).toBe('1');
      expect(viaDirect).toEqual(viaApp);
    }
  });

  it('with a fresh request id when the caller sends none or an unusable one', async () => {
    for (const id of [undefined, 'has spaces', 'x'.repeat(256)]) {
      const headers: Record<string, string> = { ...AUTH, 'content-type': 'application/json', ...(id !== undefined ? { 'x-request-id': id } : {}) };
      const response = await fetch(`${ready.url}/v1/embed/text`, { method: 'POST', headers, body: '{"texts":["x"]}' });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      await response.arrayBuffer();
    }
  });

  it('counts its requests and stage times in the same series', async () => {
    const s = await side();
    await both(s, json, '{"texts":["x"]}');
    await both(s, { ...json, authorization: 'Bearer no' }, '{"texts":["x"]}');
    expect(s.metrics.requests.get({ route: '/v1/embed/text', status: '200' })).toBe(2);
    expect(s.metrics.requests.get({ route: '/v1/embed/text', status: '401' })).toBe(2);
    expect(s.metrics.render()).toContain('coyo_backend_stage_seconds_count{route="/v1/embed/text",stage="serialise"} 2\n');
  });

  it('reads a body sent in chunks without a length, and refuses one that grows past the limit while read', async () => {
    const chunked = (parts: string[]) =>
      fetch(`${ready.url}/v1/embed/text`, {
        method: 'POST',
        headers: json,
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
            controller.close();
          },
        }),
        duplex: 'half',
      });
    const whole = JSON.stringify({ texts: ['a photo of a cat', 'two'] });
    const [viaApp] = await both(ready, json, whole);
    const inChunks = await summarise(await chunked([whole.slice(0, 7), whole.slice(7, 20), whole.slice(20)]));
    expect(inChunks).toEqual(viaApp);
    const limit = 3 * 2048 * 6 + 64 * 1024;
    const big = await chunked(['{"texts":["y"],"pad":"', ...Array.from({ length: 10 }, () => 'z'.repeat(limit / 8)), '"}']);
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ type: expect.stringContaining('payload_too_large') as unknown, detail: `the request body is larger than the limit of ${limit} bytes` });
  });

  it('answers 499 to a client that leaves while sending its body', async () => {
    const s = await side();
    const { request } = await import('node:http');
    const req = request(`${s.url}/v1/embed/text`, { method: 'POST', headers: { ...json, 'transfer-encoding': 'chunked' } });
    req.on('error', () => {});
    req.write('{"texts":["half');
    await new Promise((resolve) => setTimeout(resolve, 50));
    req.destroy();
    await expect.poll(() => s.metrics.requests.get({ route: '/v1/embed/text', status: '499' })).toBe(1);
  });

  it('drops the work of a client that leaves and counts it as 499, as the app does', async () => {
    const s = await side();
    const started = s.backend.hold();
    const first = fetch(`${s.url}/v1/embed/text`, { method: 'POST', headers: json, body: '{"texts":["runs"]}' });
    await started;
    // Queued behind the held run, then abandoned.
    const leaving = new AbortController();
    const gone = fetch(`${s.url}/v1/embed/text`, { method: 'POST', headers: json, body: '{"texts":["leaves"]}', signal: leaving.signal });
    await expect.poll(() => s.metrics.render().includes('coyo_backend_queue_depth{tower="align-text"} 1\n')).toBe(true);
    leaving.abort();
    await expect(gone).rejects.toThrow();
    await expect.poll(() => s.metrics.requests.get({ route: '/v1/embed/text', status: '499' })).toBe(1);
    s.backend.release();
    expect((await first).status).toBe(200);
    expect(s.metrics.rejected.get({ tower: 'align-text', reason: 'client_gone' })).toBe(1);
  });

  it('passes other requests on: other routes, methods, and the route with a query', async () => {
    for (const [method, path] of [
      ['POST', '/v1/phash'],
      ['GET', '/v1/embed/text'],
      ['POST', '/v1/embed/text?x=1'],
      ['GET', '/healthz'],
    ] as const) {
      const response = await fetch(`${ready.url}${path}`, { method, headers: json, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect(response.status).toBe(599);
      await response.arrayBuffer();
    }
  });
});

/** A fake PNG of `size` bytes (the signature, then filler), as the fake backend accepts it. */
function png(size: number, fill = 7): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size).fill(fill);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return bytes;
}

const image = { ...AUTH, 'content-type': 'image/png', 'x-request-id': 'img-1' };

describe('the direct image routes answer as the app does', () => {
  it('for good requests: classify with and without top_k, image embeddings in JSON and binary', async () => {
    for (const [headers, body, path] of [
      [image, png(40), '/v1/classify'],
      [{ ...image, 'content-type': 'application/octet-stream' }, png(300, 3), '/v1/classify?top_k=2'],
      [image, png(64), '/v1/classify?top_k=1000'],
      [{ ...image, 'content-type': 'image/jpeg; q=1' }, png(50), '/v1/classify?top_k=007'],
      [image, png(40), '/v1/embed/image'],
      [{ ...image, accept: 'application/octet-stream' }, png(999), '/v1/embed/image'],
    ] as const) {
      const [viaApp, viaDirect] = await both(ready, headers, body, path);
      expect(viaApp.status).toBe(200);
      expect(viaApp.timings && viaDirect.timings).toBe(true);
      expect(viaDirect).toEqual(viaApp);
    }
  });

  it('for refused requests: auth, media type, empty, oversized and broken images, top_k and deadline', async () => {
    const cases: Array<[Record<string, string>, Uint8Array<ArrayBuffer>, string, number]> = [
      [{ 'content-type': 'image/png', 'x-request-id': 'r' }, png(40), '/v1/classify', 401],
      [{ ...image, authorization: 'Bearer wrong' }, png(40), '/v1/embed/image', 401],
      [{ ...image, 'content-type': 'text/plain' }, png(40), '/v1/classify', 415],
      [{ ...image, 'content-type': 'application/json' }, png(40), '/v1/embed/image', 415],
      [image, new Uint8Array(0), '/v1/classify', 400],
      [image, png(1001), '/v1/classify', 413],
      [image, png(1001), '/v1/embed/image', 413],
      [image, new Uint8Array(40).fill(1), '/v1/classify', 415],
      [image, png(10), '/v1/embed/image', 422],
      [image, png(40), '/v1/classify?top_k=0', 400],
      [{ ...image, 'x-deadline-ms': 'soon' }, png(40), '/v1/classify', 400],
      [{ ...image, 'x-deadline-ms': '0' }, png(40), '/v1/classify?top_k=3', 504],
    ];
    for (const [headers, body, path, status] of cases) {
      const [viaApp, viaDirect] = await both(ready, headers, body, path);
      expect({ path, status: viaApp.status, body: Buffer.from(viaApp.body, 'base64').toString() }).toMatchObject({ status });
      expect(viaDirect).toEqual(viaApp);
    }
  });

  it('refuses a body over the limit by its Content-Length, without reading it', async () => {
    const response = await fetch(`${ready.url}/v1/classify`, { method: 'POST', headers: { ...image, 'content-length': '1001' }, body: png(1001) });
    expect(response.status).toBe(413);
    expect(response.headers.get('connection')).toBe('close');
    await response.arrayBuffer();
  });

  it('for a server still loading and an overloaded queue (503 with Retry-After)', async () => {
    for (const s of [await side({ ready: false }), await side({ maxQueue: 0 })]) {
      for (const path of ['/v1/classify', '/v1/embed/image']) {
        const [viaApp, viaDirect] = await both(s, image, png(40), path);
        expect(viaApp.status).toBe(503);
        expect(viaDirect).toEqual(viaApp);
      }
    }
  });

  it('gives the image to the backend in a buffer of its own, to be transferred', async () => {
    const s = await side();
    const seen: Array<{ whole: boolean; transfer: boolean | undefined; length: number }> = [];
    const original = s.backend.preprocessImage.bind(s.backend);
    s.backend.preprocessImage = (model, bytes, options) => {
      seen.push({ whole: bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength, transfer: options?.transfer, length: bytes.byteLength });
      return original(model, bytes, options);
    };
    // Declared length, and chunked without one.
    const declared = await fetch(`${s.url}/v1/classify`, { method: 'POST', headers: image, body: png(700) });
    const chunked = await fetch(`${s.url}/v1/embed/image`, {
      method: 'POST',
      headers: image,
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          const bytes = png(500);
          controller.enqueue(bytes.subarray(0, 200));
          controller.enqueue(bytes.subarray(200));
          controller.close();
        },
      }),
      duplex: 'half',
    });
    expect([declared.status, chunked.status]).toEqual([200, 200]);
    expect(seen).toEqual([
      { whole: true, transfer: true, length: 700 },
      { whole: true, transfer: true, length: 500 },
    ]);
  });

  it('counts its requests and stage times in the same series', async () => {
    const s = await side();
    await both(s, image, png(40), '/v1/classify?top_k=2');
    await both(s, { ...image, authorization: 'Bearer no' }, png(40), '/v1/embed/image');
    expect(s.metrics.requests.get({ route: '/v1/classify', status: '200' })).toBe(2);
    expect(s.metrics.requests.get({ route: '/v1/embed/image', status: '401' })).toBe(2);
    expect(s.metrics.render()).toContain('coyo_backend_stage_seconds_count{route="/v1/classify",stage="serialise"} 2\n');
  });

  it('passes multipart bodies and other queries on to the app', async () => {
    const form = new FormData();
    form.append('image', new Blob([png(40)], { type: 'image/png' }), 'x.png');
    for (const [path, init] of [
      ['/v1/classify', { body: form }],
      ['/v1/embed/image', { body: form }],
      ['/v1/classify?top_k=2&x=1', { headers: image, body: png(40) }],
      ['/v1/classify?top_k=abc', { headers: image, body: png(40) }],
      ['/v1/classify?k=2', { headers: image, body: png(40) }],
    ] as const) {
      const response = await fetch(`${ready.url}${path}`, { method: 'POST', ...init });
      expect(response.status).toBe(599);
      await response.arrayBuffer();
    }
  });
});

describe('content-digest on a raw image body, on both paths', () => {
  const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
  const body = png(120, 9);
  const digest = sha256(body);
  const claiming = (hex: string) => ({ ...image, 'content-digest': formatContentDigest(hex) });
  const routes = ['/v1/classify?top_k=3', '/v1/embed/image'] as const;

  it('confirms a matching sha-256 with x-coyo-verified-sha256 on an answer otherwise the same, JSON and binary', async () => {
    for (const [path, accept] of [...routes.map((r) => [r, {}] as const), ['/v1/embed/image', { accept: 'application/octet-stream' }] as const]) {
      const [plainApp, plainDirect] = await both(ready, { ...image, ...accept }, body, path);
      const [viaApp, viaDirect] = await both(ready, { ...claiming(digest), ...accept }, body, path);
      expect(viaApp.status).toBe(200);
      expect(viaApp.headers['x-coyo-verified-sha256']).toBe(digest);
      expect(viaDirect).toEqual(viaApp);
      expect(plainApp.headers['x-coyo-verified-sha256']).toBeNull();
      expect(plainDirect).toEqual(plainApp);
      expect({ ...viaApp, headers: { ...viaApp.headers, 'x-coyo-verified-sha256': null }, timings: true }).toEqual({ ...plainApp, timings: true });
    }
  });

  it('refuses a mismatching sha-256 with 400 digest_mismatch, and the model never runs', async () => {
    const s = await side();
    const claimed = sha256(png(120, 8));
    for (const path of routes) {
      const [viaApp, viaDirect] = await both(s, claiming(claimed), body, path);
      expect(viaApp.status).toBe(400);
      expect(JSON.parse(Buffer.from(viaApp.body, 'base64').toString())).toMatchObject({
        type: 'digest_mismatch',
        detail: `the body's SHA-256 is ${digest}; content-digest says ${claimed}`,
      });
      expect(viaApp.headers['x-coyo-verified-sha256']).toBeNull();
      expect(viaDirect).toEqual(viaApp);
    }
    expect(s.backend.runs).toEqual([]);
    expect(s.metrics.render()).not.toMatch(/coyo_backend_batch_size_count\{[^}]*\} [1-9]/);
  });

  it('refuses a malformed field with 400 invalid_request naming it', async () => {
    for (const value of ['sha-256=:abc', 'sha-256=:AAAA:', `sha-256=:${Buffer.alloc(32).toString('base64')}:, sha-256=:${Buffer.alloc(32).toString('base64')}:`]) {
      for (const path of routes) {
        const [viaApp, viaDirect] = await both(ready, { ...image, 'content-digest': value }, body, path);
        expect(viaApp.status).toBe(400);
        const answer = JSON.parse(Buffer.from(viaApp.body, 'base64').toString()) as { type: string; detail: string };
        expect(answer.type).toBe('invalid_request');
        expect(answer.detail).toMatch(/^content-digest is not a valid digest field: /);
        expect(viaDirect).toEqual(viaApp);
      }
    }
  });

  it('ignores a field that names only other algorithms: no hashing, no confirmation', async () => {
    const s = await side();
    const options: Array<PreprocessOptions | undefined> = [];
    const original = s.backend.preprocessImage.bind(s.backend);
    s.backend.preprocessImage = (model, bytes, o) => {
      options.push(o);
      return original(model, bytes, o);
    };
    const other = { ...image, 'content-digest': `sha-512=:${Buffer.alloc(64).toString('base64')}:` };
    for (const path of routes) {
      const [viaApp, viaDirect] = await both(s, other, body, path);
      expect(viaApp.status).toBe(200);
      expect(viaApp.headers['x-coyo-verified-sha256']).toBeNull();
      expect(viaDirect).toEqual(viaApp);
    }
    expect(options.map((o) => o?.sha256)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('ignores the field on a multipart body, which only the app serves', async () => {
    for (const path of routes) {
      const form = new FormData();
      form.append('image', new Blob([body], { type: 'image/png' }), 'x.png');
      for (const value of [formatContentDigest(sha256(png(120, 8))), formatContentDigest(digest), 'not a digest']) {
        const response = await ready.app.request(path, { method: 'POST', headers: { ...AUTH, 'content-digest': value }, body: form });
        expect(response.status).toBe(200);
        expect(response.headers.get('x-coyo-verified-sha256')).toBeNull();
      }
    }
  });
});
