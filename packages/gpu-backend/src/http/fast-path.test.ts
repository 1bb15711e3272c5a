/**
 * The direct text route answers as the Hono app does. Each case sends the same request to the app
 * (`app.request()`) and to a node:http server that has only the direct routes (anything they pass on is
 * answered 599, so every answer compared here is theirs), and compares status, the headers a caller
 * reads, and the body byte for byte.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBackend } from '../backend/fake.js';
import { Engine } from '../batching/engine.js';
import { BackendMetrics } from '../metrics/metrics.js';
import { createApp, type AppDeps } from './app.js';
import { directRoutes } from './fast-path.js';
import { ServerStatus } from './status.js';
import { TEST_LIMITS } from '../../test/http-limits.js';

const TOKEN = 'fast-path-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** Headers a caller of the text route reads. */
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
async function both(s: Side, headers: Record<string, string>, body: string, path = '/v1/embed/text'): Promise<[Summary, Summary]> {
  const init = { method: 'POST', headers, body };
  // As over the wire: a client states the length of a body it has whole.
  const viaApp = await summarise(await s.app.request(path, { ...init, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }));
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
      ['POST', '/v1/embed/image'],
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
