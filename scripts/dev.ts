/**
 * `pnpm dev`: the whole stack on this machine — the GPU backend on CPU (port 8788, `BACKEND_PORT`) and the
 * edge worker in the local Workers runtime (`wrangler dev`, port 8787, `WORKER_PORT`) with local R2/KV
 * state in `.wrangler/state` (`DEV_STATE_DIR` moves `.wrangler`'s part of it elsewhere).
 * First run: creates `.dev.vars` (mode 0600) with a random backend token, generates the test models when
 * `models/` holds none, loads a synthetic COYO sample into the local R2, and creates a local API key
 * written to `.wrangler/dev-api-key` (mode 0600; the log says where, never the key).
 *
 * It supervises: a backend that exits is restarted with back-off (0.5 s doubling to 8 s) while the worker
 * stays up and answers 503 with `Retry-After`; the worker or the asset watcher exiting stops the stack.
 * Children run in their own process groups, so Ctrl-C reaches this script alone, which stops them in
 * order and exits 0.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { getPlatformProxy } from 'wrangler';

const root = resolve(import.meta.dirname, '..');
const wranglerBin = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');
const modelsDir = resolve(process.env.MODELS_DIR ?? join(root, 'models'));
const stateDir = resolve(process.env.DEV_STATE_DIR ?? join(root, '.wrangler'));
const persistDir = join(stateDir, 'state');
const keyFile = join(stateDir, 'dev-api-key');
const workerPort = process.env.WORKER_PORT ?? '8787';
const backendPort = process.env.BACKEND_PORT ?? '8788';

function log(message: string): void {
  console.log(`\x1b[36m[dev]\x1b[0m ${message}`);
}

function run(cmd: string, args: string[], cwd = root): void {
  const result = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status}`);
}

function backendToken(): string {
  const devVars = join(root, '.dev.vars');
  if (!existsSync(devVars)) {
    writeFileSync(devVars, `BACKEND_TOKEN=${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    log('created .dev.vars (mode 0600) with a random BACKEND_TOKEN');
  }
  // A secret: readable by its owner only, also when an older version created it world-readable.
  chmodSync(devVars, 0o600);
  const match = /^BACKEND_TOKEN=(.+)$/m.exec(readFileSync(devVars, 'utf8'));
  if (!match?.[1]) throw new Error('.dev.vars has no BACKEND_TOKEN line');
  return match[1].trim();
}

function ensureModels(): void {
  const align = join(modelsDir, 'align-base', 'onnx', 'vision_model.onnx');
  const vit = join(modelsDir, 'vit-large-patch16-384', 'onnx', 'model.onnx');
  if (existsSync(align) && existsSync(vit)) return;
  log(`no models in ${modelsDir}: generating the small TEST models (their scores are meaningless)`);
  run('pnpm', ['--filter', '@coyo/gpu-backend', 'gen:models', '--out', modelsDir]);
}

function ensureApiKey(): void {
  if (existsSync(keyFile)) return;
  mkdirSync(stateDir, { recursive: true });
  const result = spawnSync(
    'pnpm',
    ['--silent', '--filter', '@coyo/worker', 'keys', 'create', '--name', 'local-dev', '--scopes', 'inference,coyo', '--tier', 'high', '--persist-to', persistDir],
    { cwd: root, encoding: 'utf8' },
  );
  const key = /coyo_[0-9A-Za-z]{32}/.exec(result.stdout)?.[0];
  if (result.status !== 0 || !key) throw new Error(`could not create a local API key:\n${result.stdout}\n${result.stderr}`);
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  log(`created a local API key in ${keyFile}`);
}

async function ensureCoyoSample(): Promise<void> {
  const proxy = await getPlatformProxy<{ COYO_BUCKET: { head(key: string): Promise<unknown> } }>({
    configPath: join(root, 'wrangler.toml'),
    persist: { path: join(persistDir, 'v3') },
  });
  const present = (await proxy.env.COYO_BUCKET.head('current.json')) !== null;
  await proxy.dispose();
  if (present) return;
  const rows = process.env.COYO_SAMPLE_ROWS ?? '200000';
  log(`loading a ${rows}-row synthetic COYO sample into the local R2 (once)`);
  const sampleDir = join(stateDir, 'coyo-sample');
  const cli = join(root, 'packages', 'ingest', 'bin', 'coyo-ingest.mjs');
  run(process.execPath, [cli, 'sample', '--rows', rows, '--out', sampleDir]);
  run(process.execPath, [cli, 'ingest', sampleDir, '--target', 'local', '--config', join(root, 'wrangler.toml'), '--persist', join(persistDir, 'v3')]);
}

/** One process of the stack: how to start it, how to stop it, and whether it is restarted when it dies. */
interface Service {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /**
   * The signal its process group gets to shut down cleanly: wrangler stops workerd and esbuild's watcher
   * stops on SIGINT (Ctrl-C), the backend drains on SIGTERM.
   */
  stopSignal: NodeJS.Signals;
  /** Restarted with back-off when it exits (the backend); otherwise its exit stops the stack. */
  restart: boolean;
  child?: ChildProcess | undefined;
  /** Consecutive quick deaths, for the back-off. */
  failures: number;
  restartTimer?: NodeJS.Timeout | undefined;
}

/** Back-off before restarting a service that died: 0.5 s doubling to 8 s; reset once it stayed up 30 s. */
const RESTART_BASE_MS = 500;
const RESTART_CAP_MS = 8_000;
const STABLE_AFTER_MS = 30_000;

const services: Service[] = [];
let stopping = false;

function alive(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Signals a child's whole process group (wrangler's workerd, esbuild's service), as a terminal's Ctrl-C would. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

function launch(service: Service): void {
  const startedAt = Date.now();
  // Own process group (detached) and no stdin: Ctrl-C reaches only this script, which stops the stack in
  // order, and a child never reads the terminal (wrangler then runs without its hot keys).
  const child = spawn(service.command, service.args, {
    cwd: service.cwd,
    env: { ...process.env, ...service.env },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  service.child = child;
  log(`${service.name} started (pid ${String(child.pid)})`);
  child.on('error', (err) => {
    log(`${service.name} could not start: ${err.message}`);
  });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    const how = signal ?? `code ${String(code)}`;
    if (!service.restart) {
      log(`${service.name} exited (${how}); stopping the stack`);
      void stop(1);
      return;
    }
    if (Date.now() - startedAt >= STABLE_AFTER_MS) service.failures = 0;
    const delay = Math.min(RESTART_CAP_MS, RESTART_BASE_MS * 2 ** service.failures);
    service.failures += 1;
    log(`${service.name} exited (${how}); restarting it in ${delay / 1000} s (the edge answers 503 with Retry-After meanwhile)`);
    service.restartTimer = setTimeout(() => {
      service.restartTimer = undefined;
      if (!stopping) launch(service);
    }, delay);
  });
}

function supervise(service: Omit<Service, 'failures' | 'child' | 'restartTimer'>): void {
  const s: Service = { ...service, failures: 0 };
  services.push(s);
  launch(s);
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const s of services) clearTimeout(s.restartTimer);
  const running = services.flatMap((s) => (alive(s.child) ? [{ child: s.child, signal: s.stopSignal }] : []));
  for (const { child, signal } of running) signalGroup(child, signal);
  const killer = setTimeout(() => {
    for (const { child } of running) signalGroup(child, 'SIGKILL');
  }, 15_000);
  await Promise.all(running.map(({ child }) => (alive(child) ? new Promise((r) => child.once('exit', r)) : Promise.resolve())));
  clearTimeout(killer);
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGHUP', () => void stop(0));
// Should this script die some other way, its children (in their own groups) must not outlive it.
process.on('exit', () => {
  for (const s of services) if (alive(s.child)) signalGroup(s.child, 'SIGTERM');
});

/** Resolves once `url` answers at all (any status): the server behind it is up. */
async function answers(url: string): Promise<void> {
  for (;;) {
    if (stopping) return new Promise(() => {});
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const token = backendToken();
ensureModels();
await ensureCoyoSample();
ensureApiKey();

supervise({
  name: 'gpu-backend',
  command: process.execPath,
  args: ['--import', 'tsx', 'src/main.ts'],
  env: {
    PORT: backendPort,
    HOST: '127.0.0.1',
    MODELS_DIR: modelsDir,
    BACKEND_TOKEN: token,
    // One process (its own sessions) is plenty for local work; set COYO_HTTP_PROCESSES to try a replica.
    COYO_HTTP_PROCESSES: process.env.COYO_HTTP_PROCESSES ?? '1',
  },
  cwd: join(root, 'packages', 'gpu-backend'),
  stopSignal: 'SIGTERM',
  restart: true,
});
// The pages are static assets: built before wrangler starts, then rebuilt on change.
const workerDir = join(root, 'packages', 'worker');
run(process.execPath, ['--import', 'tsx', 'scripts/build-assets.ts'], workerDir);
supervise({
  name: 'assets',
  command: process.execPath,
  args: ['--import', 'tsx', 'scripts/build-assets.ts', '--watch'],
  env: {},
  cwd: workerDir,
  stopSignal: 'SIGINT',
  restart: false,
});
supervise({
  name: 'worker',
  command: process.execPath,
  args: [wranglerBin, 'dev', '--ip', '127.0.0.1', '--port', workerPort, '--persist-to', persistDir, '--var', `BACKEND_URL:http://127.0.0.1:${backendPort}`],
  env: {},
  cwd: root,
  stopSignal: 'SIGINT',
  restart: false,
});
// Announced when the edge answers, not when it was asked to start.
await answers(`http://127.0.0.1:${workerPort}/healthz`);
log(`edge API:    http://127.0.0.1:${workerPort}  (playground at /, API reference at /docs; pages rebuilt on change)`);
log(`GPU backend: http://127.0.0.1:${backendPort}  (restarted with back-off if it dies)`);
log(`API key:     in ${keyFile}  (KEY=$(cat ${keyFile}))`);
