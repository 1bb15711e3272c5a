/**
 * `pnpm dev`'s supervision, end to end: `pnpm dev` on free ports with its own state folder; the
 * backend is killed with SIGKILL mid-use, the edge keeps answering (503 with Retry-After, never a
 * refused connection), the backend is restarted and the edge serves again; Ctrl-C stops everything
 * with exit status 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, freePort } from './harness/stack.ts';

let dev: ChildProcess;
let output = '';
let stateDir: string;
let workerUrl: string;
let apiKey: string;
const devVars = join(REPO_ROOT, '.dev.vars');
/** Whether a developer's .dev.vars was there before: one this test made is removed afterwards. */
let devVarsExisted = true;

/** Resolves with the first match of `pattern` in dev's output after `from`, polling. */
async function waitForOutput(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(output.slice(from));
    if (match) return match;
    if (dev.exitCode !== null) throw new Error(`pnpm dev exited with ${String(dev.exitCode)}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`no ${String(pattern)} in dev's output within ${timeoutMs} ms:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function embed(): Promise<Response> {
  return fetch(`${workerUrl}/v1/embeddings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    // A fresh text every time, so no cache answers for the backend.
    body: JSON.stringify({ texts: [`a photo ${randomUUID()}`] }),
  });
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'coyo-dev-'));
  devVarsExisted = existsSync(devVars);
  const [workerPort, backendPort] = [await freePort(), await freePort()];
  workerUrl = `http://127.0.0.1:${workerPort}`;
  dev = spawn('pnpm', ['dev'], {
    cwd: REPO_ROOT,
    env: { ...process.env, WORKER_PORT: String(workerPort), BACKEND_PORT: String(backendPort), DEV_STATE_DIR: stateDir, COYO_SAMPLE_ROWS: '100' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, as a terminal would start it.
    detached: true,
  });
  dev.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  dev.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitForOutput(/edge API: +http/, 150_000);
  apiKey = readFileSync(join(stateDir, 'dev-api-key'), 'utf8').trim();
}, 180_000);

afterAll(() => {
  if (dev.exitCode === null && dev.pid !== undefined) process.kill(-dev.pid, 'SIGKILL');
  rmSync(stateDir, { recursive: true, force: true });
  if (!devVarsExisted) rmSync(devVars, { force: true });
});

describe('pnpm dev supervision', () => {
  it('keeps secrets out of the log and out of other users’ reach', () => {
    expect(output).not.toContain(apiKey);
    expect(output).toContain(join(stateDir, 'dev-api-key'));
    expect(statSync(devVars).mode & 0o077).toBe(0);
    expect(statSync(join(stateDir, 'dev-api-key')).mode & 0o077).toBe(0);
  });

  it('starts quietly, with image egress limited to public addresses', () => {
    expect(output).not.toContain('Request.cf');
    expect(output).not.toContain('"unsafe" fields are experimental');
    expect(output).not.toContain('faster execution providers did not start');
    expect(output).toMatch(/env\.IMAGE_EGRESS \(unsafe_public_egress\)/);
  });

  it('answers 503 with Retry-After while a killed backend is restarted, then serves again', async () => {
    // The edge announced itself only once it answered, so the stack serves at once.
    let res = await embed();
    for (let i = 0; i < 50 && res.status === 503; i++) {
      // The backend may still be warming up (503 not_ready) when the edge is first up.
      await new Promise((r) => setTimeout(r, 200));
      res = await embed();
    }
    expect(res.status).toBe(200);

    const started = [...output.matchAll(/gpu-backend started \(pid (\d+)\)/g)];
    const pid = Number(started.at(-1)?.[1]);
    expect(pid).toBeGreaterThan(0);
    const mark = output.length;
    process.kill(pid, 'SIGKILL');

    const statuses = new Set<number>();
    let recovered = false;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      res = await embed();
      if (res.status === 200) {
        recovered = true;
        break;
      }
      statuses.add(res.status);
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(recovered).toBe(true);
    expect(statuses).toEqual(new Set([503]));
    await waitForOutput(/gpu-backend exited \(SIGKILL\); restarting it in/, 1000, mark);
  }, 60_000);

  it('stops the whole stack on Ctrl-C with exit status 0', async () => {
    const exited = new Promise<number | null>((resolve) => {
      dev.once('exit', (code) => {
        resolve(code);
      });
    });
    // Ctrl-C: SIGINT to the terminal's foreground process group.
    if (dev.pid === undefined) throw new Error('dev has no pid');
    process.kill(-dev.pid, 'SIGINT');
    expect(await exited).toBe(0);
    expect(output).not.toContain('ELIFECYCLE');
    await expect(fetch(`${workerUrl}/healthz`)).rejects.toThrow();
  }, 30_000);
});
