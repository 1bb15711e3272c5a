import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startStack, type Stack } from './harness/stack.ts';

// What a user gets from `npm i @coyo/sdk`: the packed tarball, installed with npm into an empty
// project, imported from plain Node and type-checked from a TypeScript consumer.
describe('@coyo/sdk as a published package', () => {
  let stack: Stack;
  let project: string;

  beforeAll(async () => {
    project = mkdtempSync(join(tmpdir(), 'coyo-sdk-consumer-'));
    const sdkDir = join(REPO_ROOT, 'packages', 'sdk');
    execFileSync('pnpm', ['pack', '--pack-destination', project], { cwd: sdkDir, stdio: 'pipe' });
    const tarball = readdirSync(project).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('pnpm pack wrote no tarball');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `./${tarball}`], { cwd: project, stdio: 'pipe' });
    stack = await startStack();
  });
  afterAll(async () => {
    // Unset when beforeAll failed before starting it.
    await (stack as Stack | undefined)?.stop();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('ships built JavaScript and declarations only', () => {
    const files = readdirSync(join(project, 'node_modules', '@coyo', 'sdk', 'dist'));
    expect(files).toContain('index.js');
    expect(files).toContain('index.d.ts');
    expect(readdirSync(join(project, 'node_modules', '@coyo', 'sdk'))).not.toContain('src');
  });

  it('classifies an image from plain Node after npm install', async () => {
    writeFileSync(
      join(project, 'main.mjs'),
      `import { Coyo, AuthenticationError } from '@coyo/sdk';
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC', 'base64');
const coyo = new Coyo({ baseURL: process.env.COYO_BASE_URL, apiKey: process.env.COYO_API_KEY });
const scores = await coyo.zeroShot({ image: png, labels: ['cat', 'dog'] });
const denied = await new Coyo({ baseURL: process.env.COYO_BASE_URL, apiKey: 'coyo_wrong' }).models.list().catch((e) => e);
console.log(JSON.stringify({ scores, denied: denied instanceof AuthenticationError, requestId: typeof denied.requestId }));
`,
    );
    // Asynchronously: wrangler's local proxy to the worker lives in this process's event loop.
    const { stdout: out } = await promisify(execFile)(process.execPath, ['main.mjs'], {
      cwd: project,
      env: { ...process.env, COYO_BASE_URL: stack.workerUrl, COYO_API_KEY: stack.apiKey },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const result = JSON.parse(out) as { scores: { label: string; score: number }[]; denied: boolean; requestId: string };
    expect(result.scores.map((s) => s.label).sort()).toEqual(['cat', 'dog']);
    const [best, second] = result.scores;
    expect(best?.score).toBeGreaterThanOrEqual(second?.score ?? Number.POSITIVE_INFINITY);
    expect(result.denied).toBe(true);
    expect(result.requestId).toBe('string');
  });

  it('type-checks a TypeScript consumer against the published declarations', () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      `import { Coyo, type LabelScore } from '@coyo/sdk';
const coyo = new Coyo({ baseURL: 'http://127.0.0.1:8787', apiKey: 'coyo_x', maxRetries: 1 });
export async function run(): Promise<LabelScore[]> {
  const row = await coyo.coyo.retrieve(2680060225205);
  const url: string | null | undefined = row.row?.url;
  // @ts-expect-error a missing value in the dataset is served as null
  const strict: string | undefined = row.row?.url;
  void url;
  void strict;
  return coyo.zeroShot({ image: { url: 'https://example.com/cat.jpg' }, labels: ['cat'] });
}
// @ts-expect-error labels must be strings
void coyo.zeroShot({ image: { url: 'https://example.com/a.jpg' }, labels: [1] });
`,
    );
    const tsc = createRequire(join(REPO_ROOT, 'package.json')).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', 'false', '--types', 'node', '--typeRoots', join(REPO_ROOT, 'test', 'node_modules', '@types'), 'consumer.ts'], {
      cwd: project,
      stdio: 'pipe',
    });
  });
});
