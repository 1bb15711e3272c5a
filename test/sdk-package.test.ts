/**
 * What a user gets from `npm i @coyo/sdk`: the tarball (`npm pack` and `pnpm pack` give the same
 * files), installed offline into an empty project and used from plain Node as ESM and as CommonJS
 * (without require(esm)), type-checked by TypeScript consumers (node16 `.cts`, bundler resolution),
 * run as the `coyo` command, bundled into a Worker under wrangler dev, and loaded by a web page in
 * headless Chromium from another origin — each against the real local stack.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type * as CoyoSdk from '@coyo/sdk';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unstable_startWorker } from 'wrangler';
import { REPO_ROOT, startStack, type Stack } from './harness/stack.ts';

const run = promisify(execFile);
const SDK_DIR = join(REPO_ROOT, 'packages', 'sdk');
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TSC = createRequire(join(REPO_ROOT, 'package.json')).resolve('typescript/bin/tsc');

/** The part of esbuild's API this test uses. */
interface Esbuild {
  build(options: Record<string, unknown> & { write: false }): Promise<{ outputFiles: { contents: Uint8Array }[] }>;
}

/** Every file under a folder, by relative path, with its bytes. */
function tree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path));
    }
  };
  walk(dir);
  return files;
}

/** Packs the SDK with a package manager into its own folder and unpacks it there. */
async function pack(tool: 'npm' | 'pnpm', into: string): Promise<{ tarball: string; files: Map<string, Buffer> }> {
  mkdirSync(into, { recursive: true });
  await run(tool, ['pack', '--pack-destination', into], { cwd: SDK_DIR });
  const name = readdirSync(into).find((f) => f.endsWith('.tgz'));
  if (name === undefined) throw new Error(`${tool} pack wrote no tarball`);
  execFileSync('tar', ['-xzf', name], { cwd: into });
  return { tarball: join(into, name), files: tree(join(into, 'package')) };
}

describe('@coyo/sdk as a published package', () => {
  let stack: Stack;
  let project: string;
  let packs: Record<'npm' | 'pnpm', Map<string, Buffer>>;
  let env: NodeJS.ProcessEnv;
  let tarball: string;
  let started: Promise<Stack> | undefined;

  beforeAll(async () => {
    project = mkdtempSync(join(tmpdir(), 'coyo-sdk-consumer-'));
    started = startStack();
    started.catch(() => undefined);
    // One after the other: both may rebuild dist/ through the package's lifecycle scripts.
    const npm = await pack('npm', join(project, 'npm-pack'));
    const pnpm = await pack('pnpm', join(project, 'pnpm-pack'));
    packs = { npm: npm.files, pnpm: pnpm.files };
    tarball = npm.tarball;
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    // Offline: the SDK has no runtime dependencies, so the tarball alone must be enough.
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', npm.tarball], { cwd: project });
    writeFileSync(join(project, 'cat.png'), Buffer.from(PNG_B64, 'base64'));
    stack = await started;
    env = { ...process.env, COYO_BASE_URL: stack.workerUrl, COYO_API_KEY: stack.apiKey };
  });
  afterAll(async () => {
    // The stack starts while the SDK is packed: stop it even when the packing failed.
    await (await started?.catch(() => undefined))?.stop();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('packs the same files with npm and pnpm: built code, declarations, LICENSE; no sources', () => {
    expect([...packs.npm.keys()].sort()).toEqual([...packs.pnpm.keys()].sort());
    for (const [path, bytes] of packs.npm) {
      if (path !== 'package.json') expect(bytes.equals(packs.pnpm.get(path) ?? Buffer.alloc(0)), path).toBe(true);
    }
    // pnpm re-serialises the manifest and drops the `prepare` script (it only serves installs from git).
    const manifests = (['npm', 'pnpm'] as const).map((tool) => {
      const { scripts: _scripts, ...rest } = JSON.parse(packs[tool].get('package.json')?.toString() ?? '{}') as Record<string, unknown>;
      return rest;
    });
    expect(manifests[0]).toEqual(manifests[1]);
    const paths = [...packs.npm.keys()];
    for (const file of ['LICENSE', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'dist/node.js', 'dist/node.cjs', 'dist/bin.js']) {
      expect(paths).toContain(file);
    }
    expect(paths.some((p) => p.startsWith('src/'))).toBe(false);
    const manifest = JSON.parse(packs.npm.get('package.json')?.toString() ?? '{}') as Record<string, unknown>;
    expect(manifest).toMatchObject({ sideEffects: false, engines: { node: '>=18.3' }, license: 'Apache-2.0', type: 'module' });
    expect(manifest['dependencies']).toBeUndefined();
    const entryPoints = JSON.stringify([manifest['main'], manifest['types'], manifest['exports'], manifest['bin']]);
    expect(entryPoints).not.toMatch(/src\//);
    for (const target of entryPoints.match(/\.\/dist\/[\w.-]+|dist\/[\w.-]+/g) ?? []) expect(paths).toContain(target.replace(/^\.\//, ''));
  });

  it('resolves in every TypeScript mode (attw) and passes publint --strict', async () => {
    // The tarball already packed, rather than packing (and building) twice more.
    const [attw, publint] = await Promise.all([
      run('pnpm', ['exec', 'attw', tarball], { cwd: SDK_DIR, timeout: 120_000 }),
      run('pnpm', ['exec', 'publint', '--strict', '--pack', 'false', join(project, 'npm-pack', 'package')], { cwd: SDK_DIR, timeout: 120_000 }),
    ]);
    expect(attw.stdout).toMatch(/No problems found/);
    expect(publint.stdout).toMatch(/All good/);
  });

  it('runs as ESM from plain Node', async () => {
    writeFileSync(
      join(project, 'main.mjs'),
      `import { Coyo, AuthenticationError, VERSION } from '@coyo/sdk';
import { fileFromPath } from '@coyo/sdk/node';
const coyo = new Coyo();
const scores = await coyo.zeroShot({ image: await fileFromPath('cat.png'), labels: ['cat', 'dog'] });
const denied = await new Coyo({ apiKey: 'coyo_wrong' }).models.list().catch((e) => e);
console.log(JSON.stringify({ labels: scores.map((s) => s.label).sort(), requestId: scores.requestId, denied: denied instanceof AuthenticationError, deniedId: denied.requestId, VERSION }));
`,
    );
    // Asynchronously: wrangler's local proxy to the worker lives in this process's event loop.
    const { stdout } = await run(process.execPath, ['main.mjs'], { cwd: project, env, timeout: 60_000 });
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ labels: ['cat', 'dog'], denied: true, VERSION: '0.1.0' });
    expect(result['requestId']).toMatch(/\S/);
    expect(result['deniedId']).toMatch(/\S/);
  });

  it('runs as CommonJS without require(esm), one error class across entries', async () => {
    writeFileSync(
      join(project, 'main.cjs'),
      `const { Coyo, CoyoError, CoyoInputError } = require('@coyo/sdk');
const { fileFromPath } = require('@coyo/sdk/node');
(async () => {
  const scores = await new Coyo().classify({ image: await fileFromPath('cat.png'), top_k: 2 });
  const missing = await fileFromPath('missing.png').catch((e) => e);
  console.log(JSON.stringify({ n: scores.length, input: missing instanceof CoyoInputError && missing instanceof CoyoError }));
})();
`,
    );
    const { stdout } = await run(process.execPath, ['--no-experimental-require-module', 'main.cjs'], { cwd: project, env, timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({ n: 2, input: true });
  });

  it('type-checks node16 CommonJS and bundler consumers, rejecting misuse', async () => {
    const probes = `
const coyo = new Coyo({ baseURL: 'http://127.0.0.1:8787', apiKey: 'coyo_x', maxRetries: 1, timeout: 5000 });
export async function use(): Promise<LabelScore[]> {
  const { rows } = await coyo.coyo.batch([1, 2], { columns: ['url'] });
  // @ts-expect-error an absent id is null
  const url: string | null | undefined = rows[0].url;
  const safe: string | null | undefined = rows[0]?.url;
  for await (const row of coyo.coyo.filter({ min_width: 10 })) void row.id;
  const { data, requestId } = await coyo.models.list().withResponse();
  void [url, safe, data, requestId];
  // @ts-expect-error columns are the dataset's
  void coyo.coyo.retrieve(1, { columns: ['nope'] });
  // @ts-expect-error labels must be strings
  void coyo.zeroShot({ image: 'https://example.com/a.jpg', labels: [1] });
  // @ts-expect-error an image is not a number
  void coyo.classify({ image: 5 });
  return coyo.zeroShot({ image: new URL('https://example.com/cat.jpg'), labels: ['cat'] });
}
`;
    writeFileSync(join(project, 'consumer.cts'), `import { Coyo, type LabelScore } from '@coyo/sdk';\nimport { fileFromPath } from '@coyo/sdk/node';\nvoid fileFromPath;\n${probes}`);
    writeFileSync(join(project, 'consumer.ts'), `import { Coyo, type LabelScore } from '@coyo/sdk';\n${probes}`);
    // No @types/node: the declarations must stand on the standard DOM library alone (and it keeps tsc fast).
    const tsc = async (module: string, resolution: string, file: string) => {
      const config = { compilerOptions: { noEmit: true, strict: true, target: 'es2022', lib: ['es2023', 'dom'], types: [], module, moduleResolution: resolution }, files: [file] };
      writeFileSync(join(project, `tsconfig.${resolution}.json`), JSON.stringify(config));
      await run(process.execPath, [TSC, '-p', `tsconfig.${resolution}.json`], { cwd: project }).catch((error: unknown) => {
        throw new Error(`tsc (${resolution}):\n${(error as { stdout?: string }).stdout ?? String(error)}`);
      });
    };
    await Promise.all([tsc('node16', 'node16', 'consumer.cts'), tsc('esnext', 'bundler', 'consumer.ts')]);
  });

  it('runs the coyo command with exit codes by error class', async () => {
    const bin = join(project, 'node_modules', '.bin', 'coyo');
    const { stdout } = await run(bin, ['zero-shot', 'cat.png', '--labels', 'cat,dog'], { cwd: project, env, timeout: 60_000 });
    expect((JSON.parse(stdout) as { label: string }[]).map((s) => s.label).sort()).toEqual(['cat', 'dog']);
    const denied = await run(bin, ['models'], { cwd: project, env: { ...env, COYO_API_KEY: 'coyo_wrong' }, timeout: 60_000 }).catch((e: unknown) => e);
    expect(denied).toMatchObject({ code: 3 });
    expect((denied as { stderr?: unknown }).stderr).toMatch(/AuthenticationError/);
  });

  it('works in a Worker bundled by wrangler', async () => {
    const dir = join(project, 'worker');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'wrangler.toml'), 'name = "sdk-consumer"\nmain = "index.mjs"\ncompatibility_date = "2026-04-26"\n');
    writeFileSync(
      join(dir, 'index.mjs'),
      `import { Coyo, APIError } from '@coyo/sdk';
export default {
  async fetch(_request, env) {
    const coyo = new Coyo({ baseURL: env.COYO_BASE_URL, apiKey: env.COYO_API_KEY });
    const png = Uint8Array.from(atob(env.PNG_B64), (c) => c.charCodeAt(0));
    const scores = await coyo.zeroShot({ image: new Blob([png], { type: 'image/png' }), labels: ['cat', 'dog'] });
    const missing = await coyo.coyo.retrieve(1).catch((e) => e);
    return Response.json({ labels: scores.map((s) => s.label).sort(), requestId: scores.requestId, missing: missing.name, typed: missing instanceof APIError });
  },
};
`,
    );
    const worker = await unstable_startWorker({
      config: join(dir, 'wrangler.toml'),
      bindings: {
        COYO_BASE_URL: { type: 'plain_text', value: stack.workerUrl },
        COYO_API_KEY: { type: 'secret_text', value: stack.apiKey },
        PNG_B64: { type: 'plain_text', value: PNG_B64 },
      },
      dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, persist: false, watch: false, logLevel: 'warn' },
    });
    try {
      await worker.ready;
      const response = await fetch(await worker.url);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body['labels']).toEqual(['cat', 'dog']);
      expect(body['requestId']).toMatch(/\S/);
      // This stack holds no COYO data: whatever the edge answers must arrive as a typed APIError.
      expect(body['typed'], String(body['missing'])).toBe(true);
    } finally {
      await worker.dispose();
    }
  });

  it('bundles small for browsers and runs in Chromium from another origin', async () => {
    // wrangler's own esbuild, the bundler a Worker build uses too.
    const esbuild = createRequire(createRequire(import.meta.url).resolve('wrangler'))('esbuild') as Esbuild;
    const bundle = await esbuild.build({
      stdin: { contents: "export { Coyo, CoyoInputError, APIConnectionError } from '@coyo/sdk';", resolveDir: project },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      write: false,
    });
    const code = bundle.outputFiles[0]?.contents ?? new Uint8Array();
    const gzip = gzipSync(code, { level: 9 }).byteLength;
    console.log(`@coyo/sdk browser bundle: ${String(code.byteLength)} B minified, ${String(gzip)} B gzip`);
    expect(gzip).toBeLessThan(8_000);

    const page = `<!doctype html><meta charset="utf-8"><script type="module">
import * as sdk from '/sdk.js';
window.sdk = sdk;
window.ready = true;
</script>`;
    const server: Server = createServer((req, res) => {
      if (req.url === '/sdk.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
      else res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const tab = await browser.newPage();
      await tab.goto(`http://127.0.0.1:${String((server.address() as AddressInfo).port)}/`);
      await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      const result = await tab.evaluate(
        async ({ baseURL, apiKey, png }) => {
          const { Coyo, CoyoInputError, APIConnectionError } = (window as unknown as { sdk: typeof CoyoSdk }).sdk;
          let guarded = false;
          try {
            new Coyo({ baseURL, apiKey });
          } catch (error) {
            guarded = error instanceof CoyoInputError;
          }
          const coyo = new Coyo({ baseURL, apiKey, dangerouslyAllowBrowser: true });
          const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
          const scores = await coyo.zeroShot({ image: new Blob([bytes], { type: 'image/png' }), labels: ['cat', 'dog'] });
          const blocked = await new Coyo({ baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0, defaultHeaders: { 'x-tenant': 't1' } })
            .models.list()
            .catch((e: unknown) => e);
          return {
            guarded,
            labels: scores.map((s) => s.label).sort(),
            requestId: scores.requestId,
            blocked: blocked instanceof APIConnectionError ? blocked.message : String(blocked),
          };
        },
        { baseURL: stack.workerUrl, apiKey: stack.apiKey, png: PNG_B64 },
      );
      expect(result.guarded).toBe(true);
      expect(result.labels).toEqual(['cat', 'dog']);
      expect(result.requestId).toMatch(/\S/);
      expect(result.blocked).toMatch(/x-tenant/);
    } finally {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

