/**
 * A replica of two HTTP processes (`COYO_HTTP_PROCESSES=2`): the real server (`tsx src/main.ts`) on
 * generated test models. Requests on fresh connections are served by both processes (the merged
 * `/metrics` counts them per `process`); a process killed outright is replaced while the other keeps
 * serving; SIGTERM stops every process and the primary exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestModels } from '../src/models/test-models.js';
import { freePort } from './free-port';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'replica-token-0123456789abcdef';

let dir: string;
let server: ChildProcess | undefined;
let port: number;
let output = '';

function running(): ChildProcess {
  if (server === undefined) throw new Error('the server was not started');
  return server;
}

/** One request on a connection of its own (no keep-alive pool), so the primary hands out each one anew. */
async function call(method: 'GET' | 'POST', path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }); });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => { req.destroy(new Error(`${method} ${path}: no answer within 10 s`)); });
    req.end(body);
  });
}

const embed = (i: number) => call('POST', '/v1/embed/text', JSON.stringify({ texts: [`a photo of thing ${i}`] }));

/** `{labels} → value` of every sample of `name` on the merged `/metrics` page. */
async function series(name: string): Promise<Map<string, number>> {
  const { status, text } = await call('GET', '/metrics');
  expect(status).toBe(200);
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([\w:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

/** Slot → pid of the processes the primary reports ready. */
async function readyProcesses(): Promise<Map<string, number>> {
  const ready = new Map<string, number>();
  for (const [labels, value] of await series('coyo_backend_process_ready')) {
    const m = /process="(\d+)",pid="(\d*)"/.exec(labels);
    if (m && value === 1) ready.set(m[1] ?? '', Number(m[2]));
  }
  return ready;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (running().exitCode !== null) throw new Error(`server exited with ${running().exitCode}:\n${output}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} within ${timeoutMs} ms:\n${output}`);
}

/** Requests answered 200 on `/v1/embed/text`, per process slot. */
async function servedBy(): Promise<Map<string, number>> {
  const served = new Map<string, number>();
  for (const [labels, value] of await series('coyo_backend_requests_total')) {
    const m = /process="(\d+)",route="\/v1\/embed\/text",status="200"/.exec(labels);
    if (m) served.set(m[1] ?? '', value);
  }
  return served;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'backend-replica-'));
  await generateTestModels(dir);
  port = await freePort();
  server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: PACKAGE_DIR,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      MODELS_DIR: dir,
      BACKEND_TOKEN: TOKEN,
      COYO_DEVICE: 'cpu',
      COYO_HTTP_PROCESSES: '2',
      PREPROCESS_THREADS: '1',
      ORT_INTRA_OP_THREADS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  server.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor('both processes ready', async () => ((await readyProcesses()).size === 2 ? true : undefined), 120_000);
}, 150_000);

afterAll(() => {
  if (server?.exitCode === null) server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('a replica of two HTTP processes', () => {
  it('serves requests from both processes and reports each in /metrics', async () => {
    for (let i = 0; i < 8; i++) expect((await embed(i)).status).toBe(200);
    const served = await servedBy();
    expect([...served.keys()].sort()).toEqual(['0', '1']);
    expect((served.get('0') ?? 0) + (served.get('1') ?? 0)).toBe(8);
    expect(served.get('0')).toBeGreaterThan(0);
    expect(served.get('1')).toBeGreaterThan(0);
    // Every process's own series come through, stage times and event loop included.
    const loop = await series('coyo_backend_event_loop_active_seconds_total');
    const mainLoops = [...loop.keys()].filter((labels) => labels.includes('thread="main"'));
    expect(mainLoops.sort()).toEqual(['{process="0",thread="main"}', '{process="1",thread="main"}']);
    expect([...loop.keys()]).toContain('{process="1",thread="session:align-text"}');
    // One HELP line per family although two processes report it.
    const { text } = await call('GET', '/metrics');
    expect(text.match(/^# HELP coyo_backend_requests_total /gm)).toHaveLength(1);
  });

  it('keeps serving when a process is killed, and replaces it', async () => {
    const before = await readyProcesses();
    const victim = before.get('0');
    const survivor = before.get('1');
    if (victim === undefined || survivor === undefined) throw new Error('both processes should be ready');
    const answered = await servedBy();
    process.kill(victim, 'SIGKILL');
    // Until the primary has seen the exit, a connection may still be handed to the dead process.
    await waitFor('the primary to see the process gone', async () => ((await readyProcesses()).get('0') !== victim ? true : undefined));

    for (let i = 0; i < 6; i++) expect((await embed(i)).status).toBe(200);
    // The dead process's counts are gone; the survivor's (and a ready replacement's, from zero) add up.
    const after = await servedBy();
    expect((after.get('0') ?? 0) + (after.get('1') ?? 0)).toBe((answered.get('1') ?? 0) + 6);
    expect(after.get('1')).toBeGreaterThan(answered.get('1') ?? 0);

    const replacement = await waitFor('a replacement process', async () => {
      const pid = (await readyProcesses()).get('0');
      return pid !== undefined && pid !== victim ? pid : undefined;
    });
    expect(alive(replacement)).toBe(true);
    expect((await series('coyo_backend_process_restarts_total')).get('{process="0"}')).toBe(1);
    for (let i = 0; i < 8; i++) expect((await embed(i)).status).toBe(200);
    // The replacement's counters start from zero, and it takes its share.
    expect((await servedBy()).get('0')).toBeGreaterThan(0);
  }, 90_000);

  it('stops every process on SIGTERM and exits 0', async () => {
    const pids = [...(await readyProcesses()).values()];
    expect(pids).toHaveLength(2);
    const exited = new Promise<number | null>((resolve) => running().once('exit', (code) => { resolve(code); }));
    running().kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(output).toContain('all HTTP processes stopped');
  }, 60_000);
});

describe('a replica whose processes cannot load the models', () => {
  it('stops and exits 1 rather than restarting processes that never became ready', async () => {
    const broken = mkdtempSync(join(tmpdir(), 'backend-replica-broken-'));
    try {
      await generateTestModels(broken);
      // The files are there (so the primary does not generate any), but a session cannot load from them.
      writeFileSync(join(broken, 'vit-large-patch16-384/onnx/model.onnx'), 'not an onnx model');
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: PACKAGE_DIR,
        env: {
          ...process.env,
          PORT: String(await freePort()),
          HOST: '127.0.0.1',
          MODELS_DIR: broken,
          BACKEND_TOKEN: TOKEN,
          COYO_DEVICE: 'cpu',
          COYO_HTTP_PROCESSES: '2',
          PREPROCESS_THREADS: '1',
          ORT_INTRA_OP_THREADS: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      child.stdout.on('data', (d: Buffer) => (log += d.toString()));
      child.stderr.on('data', (d: Buffer) => (log += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => { resolve(c); }));
      expect(code, log).toBe(1);
      expect(log).toContain('start-up failed');
      expect(log).not.toContain('starting another');
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  }, 90_000);
});
