/**
 * `pnpm dev`: the whole stack on this machine — the GPU backend on CPU (port 8788) and the edge worker in
 * the local Workers runtime (`wrangler dev`, port 8787) with local R2/KV state in `.wrangler/state`.
 * First run: creates `.dev.vars` with a random backend token, generates the test models when
 * `models/` holds none, loads a COYO sample into the local R2, and creates a local API key written to
 * `.wrangler/dev-api-key`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { getPlatformProxy } from 'wrangler';

const root = resolve(import.meta.dirname, '..');
const wranglerBin = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');
const modelsDir = resolve(process.env.MODELS_DIR ?? join(root, 'models'));
const persistDir = join(root, '.wrangler', 'state');
const keyFile = join(root, '.wrangler', 'dev-api-key');
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
    writeFileSync(devVars, `BACKEND_TOKEN=${randomBytes(24).toString('base64url')}\n`);
    log('created .dev.vars with a random BACKEND_TOKEN');
  }
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

function ensureApiKey(): string {
  if (existsSync(keyFile)) return readFileSync(keyFile, 'utf8').trim();
  mkdirSync(join(root, '.wrangler'), { recursive: true });
  const result = spawnSync(
    'pnpm',
    ['--silent', '--filter', '@coyo/worker', 'keys', 'create', '--name', 'local-dev', '--scopes', 'inference,coyo', '--tier', 'high', '--persist-to', persistDir],
    { cwd: root, encoding: 'utf8' },
  );
  const key = /coyo_[0-9A-Za-z]{32}/.exec(result.stdout)?.[0];
  if (result.status !== 0 || !key) throw new Error(`could not create a local API key:\n${result.stdout}\n${result.stderr}`);
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return key;
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
  log(`loading a ${rows}-row COYO sample into the local R2 (once)`);
  const sampleDir = join(root, '.wrangler', 'coyo-sample');
  const cli = join(root, 'packages', 'ingest', 'bin', 'coyo-ingest.mjs');
  run(process.execPath, [cli, 'sample', '--rows', rows, '--out', sampleDir]);
  run(process.execPath, [cli, 'ingest', sampleDir, '--target', 'local', '--config', join(root, 'wrangler.toml'), '--persist', join(persistDir, 'v3')]);
}

function start(name: string, cmd: string, args: string[], env: Record<string, string>, cwd = root): ChildProcess {
  // Same process group: Ctrl-C in the terminal reaches every process of the stack at once.
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      log(`${name} exited (${signal ?? code}); stopping the stack`);
      void stop(1);
    }
  });
  return child;
}

let stopping = false;
const children: { child: ChildProcess; signal: NodeJS.Signals }[] = [];
function signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // wrangler shuts workerd down on SIGINT (its Ctrl-C); the backend drains on SIGTERM.
  for (const { child, signal } of children) signalChild(child, signal);
  const killer = setTimeout(() => {
    for (const { child } of children) signalChild(child, 'SIGKILL');
  }, 15_000);
  await Promise.all(
    children.map(({ child }) =>
      child.exitCode === null && child.signalCode === null
        ? new Promise((r) => {
            child.once('exit', r);
          })
        : Promise.resolve(),
    ),
  );
  clearTimeout(killer);
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const token = backendToken();
ensureModels();
await ensureCoyoSample();
const apiKey = ensureApiKey();

children.push({
  signal: 'SIGTERM',
  child: start('gpu-backend', process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    PORT: backendPort,
    HOST: '127.0.0.1',
    MODELS_DIR: modelsDir,
    BACKEND_TOKEN: token,
    // One process (its own sessions) is plenty for local work; set COYO_HTTP_PROCESSES to try a replica.
    COYO_HTTP_PROCESSES: process.env.COYO_HTTP_PROCESSES ?? '1',
  }, join(root, 'packages', 'gpu-backend')),
});
// The pages are static assets: built before wrangler starts, then rebuilt on change.
const workerDir = join(root, 'packages', 'worker');
run(process.execPath, ['--import', 'tsx', 'scripts/build-assets.ts'], workerDir);
children.push({
  signal: 'SIGTERM',
  child: start('assets', process.execPath, ['--import', 'tsx', 'scripts/build-assets.ts', '--watch'], {}, workerDir),
});
children.push({
  signal: 'SIGINT',
  child: start('worker', process.execPath, [wranglerBin, 'dev', '--ip', '127.0.0.1', '--port', workerPort, '--persist-to', persistDir, '--var', `BACKEND_URL:http://127.0.0.1:${backendPort}`], {}),
});
log(`edge API:    http://127.0.0.1:${workerPort}  (playground at /, API reference at /docs; pages rebuilt on change)`);
log(`GPU backend: http://127.0.0.1:${backendPort}`);
log(`API key:     ${apiKey}  (also in .wrangler/dev-api-key)`);
