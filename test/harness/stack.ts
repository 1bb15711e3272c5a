/**
 * Starts the real local stack for end-to-end tests: the GPU backend as its own Node process (CPU, the
 * generated test models) and the edge worker in the real Workers runtime from the root wrangler.toml,
 * with local R2/KV state in a temporary folder and one API key seeded in KV.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getPlatformProxy, unstable_startWorker } from 'wrangler';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const MODELS_DIR = process.env.COYO_TEST_MODELS_DIR ?? join(REPO_ROOT, 'models');
const WRANGLER_CONFIG = join(REPO_ROOT, 'wrangler.toml');

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('no port'));
        return;
      }
      server.close(() => {
        resolvePort(address.port);
      });
    });
  });
}

async function waitFor(url: string, timeoutMs: number, child?: ChildProcess, log?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) {
      throw new Error(`process exited with ${child.exitCode} before ${url} answered:\n${log?.() ?? ''}`);
    }
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${log?.() ?? ''}`);
}

export interface BackendHandle {
  url: string;
  token: string;
  process: ChildProcess;
  logs: () => string;
  stop: () => Promise<void>;
}

/** Spawns `packages/gpu-backend` (`tsx src/main.ts`) on a free port and waits for `/readyz`. */
export async function startBackend(
  options: { env?: Record<string, string> | undefined; token?: string | undefined; /** Default: a free port. */ port?: number | undefined } = {},
): Promise<BackendHandle> {
  if (!existsSync(join(MODELS_DIR, 'align-base', 'onnx', 'vision_model.onnx'))) {
    throw new Error(`no models in ${MODELS_DIR}: run \`pnpm gen:models\` first`);
  }
  const port = options.port ?? (await freePort());
  const token = options.token ?? `test-${randomBytes(8).toString('hex')}`;
  const backendDir = join(REPO_ROOT, 'packages', 'gpu-backend');
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: backendDir,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      MODELS_DIR,
      BACKEND_TOKEN: token,
      COYO_DEVICE: 'cpu',
      COYO_HTTP_PROCESSES: '1',
      PREPROCESS_THREADS: '1',
      ORT_INTRA_OP_THREADS: '1',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((r) => {
      child.once('exit', () => {
        r();
      });
    });
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(`${url}/readyz`, 90_000, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, token, process: child, logs: () => output, stop };
}

/** The KV record of an API key, as the worker's auth middleware reads it. */
export interface SeededKey {
  key: string;
  id: string;
}

/** Creates an API key and stores only its hash (and metadata) in the local KV state under `persistDir`. */
export async function seedApiKey(
  persistDir: string,
  options: { name?: string; scopes?: string[]; tier?: 'standard' | 'high'; disabled?: boolean } = {},
): Promise<SeededKey> {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const bytes = randomBytes(32);
  const key = `coyo_${Array.from(bytes, (b) => alphabet[b % 62]).join('')}`;
  const id = key.slice(0, 12);
  const hash = createHash('sha256').update(key).digest('hex');
  const record = {
    id,
    name: options.name ?? 'e2e',
    scopes: options.scopes ?? ['inference', 'coyo'],
    tier: options.tier ?? 'high',
    created_at: new Date().toISOString(),
    disabled: options.disabled ?? false,
  };
  const proxy = await getPlatformProxy<{ API_KEYS: KVNamespaceLike }>({
    configPath: WRANGLER_CONFIG,
    persist: { path: persistDir },
  });
  try {
    await proxy.env.API_KEYS.put(`sha256:${hash}`, JSON.stringify(record), {
      metadata: { id, name: record.name, disabled: record.disabled },
    });
  } finally {
    await proxy.dispose();
  }
  return { key, id };
}

interface KVNamespaceLike {
  put(key: string, value: string, options?: { metadata?: unknown }): Promise<void>;
}

export interface WorkerHandle {
  url: string;
  stop: () => Promise<void>;
}

/**
 * The `IMAGE_EGRESS` binding `pnpm dev` gives the worker: image URLs fetched through a workerd network
 * service that connects to public addresses only (`@coyo/local-egress`, a Miniflare plugin).
 */
export const PUBLIC_EGRESS_BINDING = {
  type: 'unsafe_public_egress',
  dev: { plugin: { package: '@coyo/local-egress', name: 'PUBLIC_EGRESS' } },
} as const;

/** Starts the edge worker from the root wrangler.toml in the local Workers runtime. */
export async function startWorker(options: {
  backendUrl: string;
  backendToken: string;
  persistDir: string;
  vars?: Record<string, string> | undefined;
  /** Bind `IMAGE_EGRESS` as `pnpm dev` does, so image URLs reach public addresses only. */
  publicEgress?: boolean;
  /** Serve the worker's V8 inspector (Chrome DevTools Protocol) on this loopback port (default: none). */
  inspectorPort?: number | undefined;
}): Promise<WorkerHandle> {
  const vars = Object.fromEntries(
    Object.entries({ BACKEND_URL: options.backendUrl, ...options.vars }).map(([k, value]) => [k, { type: 'plain_text' as const, value }]),
  );
  const worker = await unstable_startWorker({
    config: WRANGLER_CONFIG,
    bindings: {
      ...vars,
      BACKEND_TOKEN: { type: 'secret_text', value: options.backendToken },
      ...(options.publicEgress === true ? { IMAGE_EGRESS: PUBLIC_EGRESS_BINDING } : {}),
    },
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: options.inspectorPort === undefined ? false : { hostname: '127.0.0.1', port: options.inspectorPort },
      persist: options.persistDir,
      watch: false,
      logLevel: 'warn',
    },
  });
  await worker.ready;
  const url = (await worker.url).toString().replace(/\/$/, '');
  return { url, stop: () => worker.dispose() };
}

export interface Stack {
  workerUrl: string;
  backendUrl: string;
  backendToken: string;
  apiKey: string;
  /** `apiKey` first, then the extra keys asked for (each has its own rate-limit budget). */
  apiKeys: string[];
  persistDir: string;
  backend: BackendHandle;
  stop: () => Promise<void>;
}

/** Backend + worker + one API key with every scope, all on loopback; `stop()` tears everything down. */
export async function startStack(
  options: {
    backendEnv?: Record<string, string>;
    workerVars?: Record<string, string>;
    extraKeys?: number;
    /** Local state to start from (e.g. with a COYO dataset already ingested); removed by `stop()`. */
    persistDir?: string;
    /** Serve the worker's V8 inspector on this loopback port (for CPU profiles). */
    workerInspectorPort?: number;
  } = {},
): Promise<Stack> {
  const persistDir = options.persistDir ?? mkdtempSync(join(tmpdir(), 'coyo-stack-'));
  const backend = await startBackend({ env: options.backendEnv });
  try {
    // `dev.persist` names the folder under which wrangler keeps its `v3` state.
    const apiKeys: string[] = [];
    for (let i = 0; i <= (options.extraKeys ?? 0); i++) apiKeys.push((await seedApiKey(join(persistDir, 'v3'), { name: `e2e-${i}` })).key);
    const key = apiKeys[0];
    if (key === undefined) throw new Error('bug: no API key was seeded');
    const worker = await startWorker({ backendUrl: backend.url, backendToken: backend.token, persistDir, vars: options.workerVars, inspectorPort: options.workerInspectorPort });
    return {
      workerUrl: worker.url,
      backendUrl: backend.url,
      backendToken: backend.token,
      apiKey: key,
      apiKeys,
      persistDir,
      backend,
      stop: async () => {
        await worker.stop();
        await backend.stop();
        rmSync(persistDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await backend.stop();
    throw error;
  }
}
