/**
 * The real server as a process: `tsx src/main.ts` on a free port with generated test models, talking
 * HTTP. Slow-ish (threads and sessions start for real), so one process serves every check in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestModels } from './models/test-models.js';
import { freePort } from '../test/free-port';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'e2e-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let dir: string;
let child: ChildProcess | undefined;
let base: string;
let output = '';
let exited: Promise<number | null>;
let photo: Uint8Array;

/** The server process, once `beforeAll` has started it. */
function running(): ChildProcess {
  if (child === undefined) throw new Error('the server process was not started');
  return child;
}

async function waitForReady(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { exitCode } = running();
    if (exitCode !== null) throw new Error(`server exited with ${exitCode}:\n${output}`);
    const response = await fetch(`${base}/readyz`).catch(() => undefined);
    if (response?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server not ready within ${timeoutMs} ms:\n${output}`);
}

function imageForm(images: Uint8Array[]): FormData {
  const form = new FormData();
  for (const bytes of images) form.append('image', new Blob([bytes], { type: 'image/jpeg' }), 'photo.jpg');
  return form;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'backend-e2e-'));
  await generateTestModels(dir);
  photo = new Uint8Array(
    await sharp({ create: { width: 640, height: 480, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
      .jpeg()
      .toBuffer(),
  );
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: PACKAGE_DIR,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      MODELS_DIR: dir,
      BACKEND_TOKEN: TOKEN,
      COYO_DEVICE: 'cpu',
      COYO_HTTP_PROCESSES: '1',
      PREPROCESS_THREADS: '1',
      ORT_INTRA_OP_THREADS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = server;
  server.stdout.on('data', (d: Buffer) => (output += d.toString()));
  server.stderr.on('data', (d: Buffer) => (output += d.toString()));
  exited = new Promise((resolve) => server.once('exit', (code) => { resolve(code); }));
  await waitForReady(60_000);
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('backend process', () => {
  it('reports the generated test models on /healthz and /v1/models', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok', test_models: true });
    const models = (await (await fetch(`${base}/v1/models`, { headers: AUTH })).json()) as Record<string, unknown>;
    expect(models).toMatchObject({ device: 'cpu', test_models: true });
    expect(typeof models.warning).toBe('string');
    expect(output).toContain('SERVING GENERATED TEST MODELS');
  });

  it('embeds texts: one 640-wide vector and a token count per text', async () => {
    const response = await fetch(`${base}/v1/embed/text`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ texts: ['a photo of a cat', 'a photo of a dog on a couch'] }),
    });
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('x-inference-time'))).toBeGreaterThanOrEqual(0);
    const body = (await response.json()) as { model: string; dim: number; embeddings: number[][]; tokens: number[] };
    expect(body).toMatchObject({ model: 'align-base', dim: 640 });
    expect(body.embeddings.map((e) => e.length)).toEqual([640, 640]);
    expect(body.tokens[0]).toBeLessThan(body.tokens[1] ?? 0);
  });

  it('embeds a raw image body into one 640-wide vector', async () => {
    const response = await fetch(`${base}/v1/embed/image`, { method: 'POST', headers: { ...AUTH, 'content-type': 'image/jpeg' }, body: photo });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { embeddings: number[][] };
    expect(body.embeddings.map((e) => e.length)).toEqual([640]);
  });

  it('classifies multipart images with top_k predictions each', async () => {
    const response = await fetch(`${base}/v1/classify?top_k=3`, { method: 'POST', headers: AUTH, body: imageForm([photo, photo]) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { model: string; predictions: Array<Array<{ label: string; score: number; index: number }>> };
    expect(body.model).toBe('vit-large-patch16-384');
    expect(body.predictions.map((p) => p.length)).toEqual([3, 3]);
    expect(body.predictions[0]?.[0]?.score).toBeGreaterThan(0);
  });

  it('answers 422 for a truncated image and keeps serving', async () => {
    const broken = await fetch(`${base}/v1/embed/image`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'image/jpeg' },
      body: photo.subarray(0, photo.length / 3),
    });
    expect(broken.status).toBe(422);
    const next = await fetch(`${base}/v1/embed/image`, { method: 'POST', headers: { ...AUTH, 'content-type': 'image/jpeg' }, body: photo });
    expect(next.status).toBe(200);
  });

  it('answers /healthz while a large request is being processed', async () => {
    let done = false;
    const big = fetch(`${base}/v1/classify`, { method: 'POST', headers: AUTH, body: imageForm(Array.from({ length: 16 }, () => photo)) }).then((r) => {
      done = true;
      return r;
    });
    // Read through a call: `done` changes while this loop awaits, which narrowing does not see.
    const finished = (): boolean => done;
    let answeredDuring = 0;
    while (!finished()) {
      const health = await fetch(`${base}/healthz`);
      if (health.status === 200 && !finished()) answeredDuring += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await big).status).toBe(200);
    expect(answeredDuring).toBeGreaterThan(0);
  });

  it('drains on SIGTERM: finishes the request in flight, then exits 0', async () => {
    const inFlight = fetch(`${base}/v1/classify`, { method: 'POST', headers: AUTH, body: imageForm(Array.from({ length: 16 }, () => photo)) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    running().kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { predictions: unknown[] }).predictions).toHaveLength(16);
    expect(await exited).toBe(0);
    expect(output).toContain('shutting down: draining');
    expect(output).toContain('"stopped"');
  });
}, 60_000);
