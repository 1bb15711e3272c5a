/**
 * Backend faults, end to end: the real worker in front of the real backend on a fixed loopback port,
 * which the suite kills (SIGKILL), stalls (SIGSTOP) and replaces with a server answering garbage. The
 * edge must answer only 503/504 with Retry-After while the backend is gone or stalled, 502 for
 * answers it cannot trust (and cache none of them), and serve again within 1 s of the backend being
 * ready. Past its admission limit the edge refuses at once (503 `overloaded` with Retry-After) instead
 * of queueing.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, seedApiKey, startBackend, startWorker, type BackendHandle, type WorkerHandle } from '../harness/stack';
import { byMode, delay } from './mode';

/** The edge's time budget for one request's backend work, short so a stall is seen quickly. */
const DEADLINE_MS = 4000;
/** Backend-bound requests the edge serves at once: no other case here sends more than this. */
const MAX_IN_FLIGHT = 8;

let port: number;
let backend: BackendHandle | undefined;
let worker: WorkerHandle;
let persistDir: string;
let apiKey: string;
const token = `faults-${randomUUID()}`;

function running(): BackendHandle {
  if (backend === undefined) throw new Error('the backend is not running');
  return backend;
}

async function restartBackend(): Promise<BackendHandle> {
  backend = await startBackend({ port, token });
  return backend;
}

function embed(text = `a photo ${randomUUID()}`): Promise<Response> {
  return fetch(`${worker.url}/v1/embeddings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ texts: [text] }),
  });
}

/** Status, Retry-After and content type of one answer; the body is read so the connection is freed. */
interface Answer {
  status: number;
  retryAfter: string | null;
  contentType: string | null;
  ms: number;
}

async function answer(request: () => Promise<Response>): Promise<Answer> {
  const start = performance.now();
  const res = await request();
  await res.arrayBuffer();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), contentType: res.headers.get('content-type'), ms: performance.now() - start };
}

/** Runs `total` requests at `concurrency`, calling `during` once `after` of them have been answered. */
async function load(total: number, concurrency: number, after: number, during: () => void): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  let fired = false;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next += 1;
        answers.push(await answer(() => embed()));
        if (!fired && answers.length >= after) {
          fired = true;
          during();
        }
      }
    }),
  );
  return answers;
}

function expectRetryableProblem(a: Answer, status: number): void {
  expect(a.status).toBe(status);
  expect(a.contentType).toMatch(/^application\/problem\+json/);
  expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
}

/** Sum of a Prometheus series over its labels. */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${running().url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

beforeAll(async () => {
  port = await freePort();
  persistDir = mkdtempSync(join(tmpdir(), 'coyo-faults-'));
  await restartBackend();
  ({ key: apiKey } = await seedApiKey(join(persistDir, 'v3'), { scopes: ['inference'] }));
  worker = await startWorker({
    backendUrl: `http://127.0.0.1:${port}`,
    backendToken: token,
    persistDir,
    vars: { BACKEND_DEADLINE_MS: String(DEADLINE_MS), ADMISSION_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT) },
  });
});

afterAll(async () => {
  if (backend?.process.exitCode === null) backend.process.kill('SIGCONT');
  await worker.stop();
  await backend?.stop();
  rmSync(persistDir, { recursive: true, force: true });
});

describe('backend killed mid-load', () => {
  it('answers only 200 or 503 with Retry-After, and serves again within 1 s of the restarted backend being ready', async () => {
    expect((await embed()).status).toBe(200);
    const victim = running();
    const total = byMode(48, 200);
    const answers = await load(total, 8, byMode(8, 40), () => victim.process.kill('SIGKILL'));
    expect(answers).toHaveLength(total);
    const failed = answers.filter((a) => a.status !== 200);
    expect(failed.length).toBeGreaterThan(0);
    for (const a of failed) expectRetryableProblem(a, 503);

    const health = (await (await fetch(`${worker.url}/healthz`)).json()) as { backend?: { circuit?: string } };
    expect(health.backend?.circuit).toBeDefined();

    const restarted = await restartBackend();
    // startBackend returned once /readyz answered 200: from here the edge has 1 s.
    const ready = performance.now();
    let served: number | undefined;
    while (performance.now() - ready < 5000) {
      const a = await answer(() => embed());
      if (a.status === 200) {
        served = performance.now() - ready;
        break;
      }
      expectRetryableProblem(a, 503);
      await delay(25);
    }
    expect(restarted.process.exitCode).toBeNull();
    expect(served, 'the edge did not serve again within 5 s').toBeDefined();
    expect(served).toBeLessThanOrEqual(1000);
  });
});

describe('backend stalled (SIGSTOP)', () => {
  it('answers 504 with Retry-After at the deadline and leaves no work behind once the backend resumes', async () => {
    const stalled = running();
    expect((await embed()).status).toBe(200);
    stalled.process.kill('SIGSTOP');
    let answers: Answer[];
    try {
      answers = await Promise.all(Array.from({ length: byMode(2, 8) }, () => answer(() => embed())));
    } finally {
      stalled.process.kill('SIGCONT');
    }
    for (const a of answers) {
      expectRetryableProblem(a, 504);
      expect(a.ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
      expect(a.ms).toBeLessThan(DEADLINE_MS + 3000);
    }
    // Once it runs again, the backend drops the work whose caller has gone: nothing stays queued.
    let depth = Number.NaN;
    for (let i = 0; i < 50; i++) {
      depth = await metric('coyo_backend_queue_depth');
      if (depth === 0) break;
      await delay(100);
    }
    expect(depth).toBe(0);
    const after = await answer(() => embed());
    expect(after.status).toBe(200);
  });
});

/** The edge's admission limiter, as `/healthz` reports it. */
interface Admission {
  in_flight: number;
  max_in_flight: number;
  body_bytes: number;
  admitted: number;
  refused: number;
}

async function admission(): Promise<Admission> {
  const health = (await (await fetch(`${worker.url}/healthz`)).json()) as { admission: Admission };
  return health.admission;
}

function percentileOf(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** A request expected to be refused: its answer and the problem type it names. */
async function refusal(): Promise<Answer & { problemType: unknown }> {
  const start = performance.now();
  const res = await embed();
  const body = (await res.json()) as { type?: unknown };
  return { status: res.status, retryAfter: res.headers.get('retry-after'), contentType: res.headers.get('content-type'), ms: performance.now() - start, problemType: body.type };
}

describe('above the admission limit', () => {
  it('refuses at once with 503 overloaded and Retry-After while the isolate is full, and serves again when it drains', async () => {
    const stalled = running();
    expect((await embed()).status).toBe(200);
    const before = await admission();
    expect(before).toMatchObject({ in_flight: 0, max_in_flight: MAX_IN_FLIGHT, body_bytes: 0 });

    stalled.process.kill('SIGSTOP');
    let held: Promise<Answer>[] = [];
    let refusals: (Answer & { problemType: unknown })[] = [];
    let full: Admission | undefined;
    try {
      const bodies = Array.from({ length: MAX_IN_FLIGHT }, () => JSON.stringify({ texts: [`a photo ${randomUUID()}`] }));
      held = bodies.map((body) =>
        answer(() =>
          fetch(`${worker.url}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body }),
        ),
      );
      // The stalled backend holds every permit until the deadline.
      for (let i = 0; i < 40 && full?.in_flight !== MAX_IN_FLIGHT; i++) {
        full = await admission();
        if (full.in_flight !== MAX_IN_FLIGHT) await delay(50);
      }
      expect(full?.in_flight).toBe(MAX_IN_FLIGHT);
      // Charged by their declared Content-Length, as they arrived over HTTP.
      expect(full?.body_bytes).toBe(bodies.reduce((sum, body) => sum + Buffer.byteLength(body), 0));

      const extra = byMode(16, 64);
      refusals = await Promise.all(Array.from({ length: extra }, () => refusal()));
      const after = await admission();
      expect(after.refused - before.refused).toBe(extra);
      expect(after.admitted - before.admitted).toBe(MAX_IN_FLIGHT);
    } finally {
      stalled.process.kill('SIGCONT');
    }
    for (const a of refusals) {
      expectRetryableProblem(a, 503);
      expect(a.problemType).toBe('https://coyo-edge.dev/problems/overloaded');
    }
    const ms = refusals.map((a) => a.ms);
    console.log(`admission refusals: ${refusals.length}, p50 ${percentileOf(ms, 50).toFixed(1)} ms, p99 ${percentileOf(ms, 99).toFixed(1)} ms (held requests: ${MAX_IN_FLIGHT})`);

    // The held requests end (served once the backend resumes, or 504 at the deadline) and give their permits back.
    for (const a of await Promise.all(held)) {
      if (a.status !== 200) expectRetryableProblem(a, 504);
    }
    expect(await admission()).toMatchObject({ in_flight: 0, body_bytes: 0 });
    // Timeouts may have opened the circuit; it closes once the backend answers /readyz.
    let res = await answer(() => embed());
    for (let i = 0; i < 40 && res.status === 503; i++) {
      await delay(25);
      res = await answer(() => embed());
    }
    expect(res.status).toBe(200);
  });
});

/**
 * What a broken backend sends for an inference call: each case is a different lie. All are 502 except
 * a connection dropped mid-body, which the edge treats as the backend being unreachable: 503 with
 * Retry-After, like a refused connection.
 */
type Garbage = [name: string, send: (res: ServerResponse) => void, status?: 503];
const GARBAGE: readonly Garbage[] = [
  ['HTML instead of JSON', (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>oops</html>')],
  ['JSON of the wrong shape', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"embeddings":"none"}')],
  [
    'an embedding count that does not match the texts',
    (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ model: 'align-base', dim: 4, embeddings: [], tokens: [] })),
  ],
  ...byMode<Garbage[]>(
    [],
    [
      ['non-numbers in the vector', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"model":"align-base","dim":2,"embeddings":[["a","b"]],"tokens":[1]}')],
      [
        'a body cut short (the connection dropped mid-body)',
        (res) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' }).write('{"model":"align-base","dim":', () => res.socket?.destroy());
        },
        503,
      ],
      ['an empty 200', (res) => res.writeHead(200).end()],
      ['a 200 of truncated JSON', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"model":')],
    ],
  ),
];

describe('backend answering garbage', () => {
  it('answers 502 for every broken answer (503 for a dropped connection) and caches none of them', async () => {
    const real = running();
    const models = await (await fetch(`${real.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })).text();
    await real.stop();
    backend = undefined;

    let current = 0;
    const fake: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/readyz') res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
      else if (path === '/healthz') res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok","test_models":true}');
      else if (path === '/v1/models') res.writeHead(200, { 'content-type': 'application/json' }).end(models);
      else GARBAGE[current]?.[1](res);
    });
    await new Promise<void>((resolve) => fake.listen(port, '127.0.0.1', resolve));
    const texts = GARBAGE.map(() => `garbage ${randomUUID()}`);
    try {
      for (const [i, [name, , status = 502]] of GARBAGE.entries()) {
        current = i;
        const a = await answer(() => embed(texts[i]));
        if (status === 503) expectRetryableProblem(a, 503);
        expect(a.status, name).toBe(status);
        expect(a.contentType, name).toMatch(/^application\/problem\+json/);
      }
    } finally {
      fake.closeAllConnections();
      await new Promise<void>((resolve) => {
        fake.close(() => {
          resolve();
        });
      });
    }

    await restartBackend();
    for (const text of texts) {
      let res = await embed(text);
      for (let i = 0; i < 40 && res.status === 503; i++) {
        await delay(25);
        res = await embed(text);
      }
      expect(res.status).toBe(200);
      expect(res.headers.get('x-cache')).toBe('miss');
      const again = await embed(text);
      expect(again.status).toBe(200);
      expect(again.headers.get('x-cache')).toBe('hit');
    }
  });
});
