/**
 * Both local CLIs print their result on stdout for scripts to capture (`coyo-ingest`'s JSON summary,
 * `keys create`'s key). The ingest opens local state through wrangler, which announces a `.dev.vars`
 * beside the configuration on stdout; `pnpm dev` setups have one, so the CLIs must keep stdout clean
 * with it present.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/stack';
import { CLI, WRANGLER_CONFIG } from './cli';

let temp: string;
let config: string;

/** The environment of a shell where nobody chose a wrangler log level. */
function shellEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.WRANGLER_LOG;
  return env;
}

function run(args: readonly string[], cwd = REPO_ROOT) {
  return spawnSync(process.execPath, args, { cwd, env: shellEnv(), encoding: 'utf8', timeout: 120_000 });
}

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'coyo-dev-vars-'));
  config = join(temp, 'wrangler.toml');
  await copyFile(WRANGLER_CONFIG, config);
  await writeFile(join(temp, '.dev.vars'), 'BACKEND_TOKEN=local-development-token\n');
});

afterAll(async () => {
  if (temp) await rm(temp, { recursive: true, force: true });
});

describe('local CLIs with a .dev.vars beside the wrangler configuration', () => {
  it('coyo-ingest prints only its JSON summary on stdout', () => {
    const sample = run([CLI, 'sample', '--rows', '300', '--seed', '5', '--files', '1', '--out', join(temp, 'input')]);
    expect(sample.status, sample.stderr).toBe(0);
    const ingest = run([
      CLI, 'ingest', join(temp, 'input'), '--target', 'local', '--config', config, '--persist', join(temp, 'state', 'v3'),
      '--work-dir', join(temp, 'work'), '--progress', 'none',
    ]);
    expect(ingest.status, ingest.stderr).toBe(0);
    expect(ingest.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(ingest.stdout)).toMatchObject({ shards: 1, uploaded: 1 });
  });

  it('keys create prints only the key on stdout', () => {
    const script = join(REPO_ROOT, 'packages', 'worker', 'scripts', 'keys.ts');
    const created = run(['--import', 'tsx', script, 'create', '--name', 'dev-vars', '--config', config, '--persist-to', join(temp, 'state')], join(REPO_ROOT, 'packages', 'worker'));
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^coyo_[0-9A-Za-z]{32}\n$/);
  });
});
