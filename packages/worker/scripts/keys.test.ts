/**
 * The key CLI opens local KV state by the `API_KEYS` namespace id in wrangler.toml, read without
 * loading wrangler; the namespace's state is stored under a name derived from that id, so reading
 * the wrong one would show an empty key list. The package script runs a bundle of keys.ts built on
 * first use (`keys-cli.mjs`), rebuilt when a source is newer. (The CLI against real state, and a key
 * it creates used with the served worker: test/browser/keys-cli.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { statSync, utimesSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError, DEFAULT_CONFIG, localKvNamespaceId } from './keys';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coyo-keys-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function config(text: string): Promise<string> {
  const path = join(dir, `${String(Math.random()).slice(2)}.toml`);
  await writeFile(path, text);
  return path;
}

describe('localKvNamespaceId', () => {
  it("reads the repository's wrangler.toml", async () => {
    await expect(localKvNamespaceId(DEFAULT_CONFIG)).resolves.toBe('coyo-api-keys');
  });

  it('picks the API_KEYS table among several, in either order of its fields and either quote style', async () => {
    const path = await config(
      [
        'name = "x"',
        '[[kv_namespaces]]',
        'binding = "CACHE"',
        'id = "cache-id"',
        '',
        '[vars]',
        'id = "not-this"',
        '[[kv_namespaces]]',
        "id = 'keys-id' # comment",
        "binding = 'API_KEYS'",
        '[[r2_buckets]]',
        'binding = "API_KEYS"',
        'id = "not-this-either"',
      ].join('\n'),
    );
    await expect(localKvNamespaceId(path)).resolves.toBe('keys-id');
  });

  it('refuses a configuration without an API_KEYS namespace, or a missing file, with a CliError naming it', async () => {
    const path = await config('[[kv_namespaces]]\nbinding = "CACHE"\nid = "cache-id"\n');
    await expect(localKvNamespaceId(path)).rejects.toThrow(CliError);
    await expect(localKvNamespaceId(path)).rejects.toThrow(/binding = "API_KEYS"/);
    await expect(localKvNamespaceId(join(dir, 'absent.toml'))).rejects.toThrow(/cannot read .*absent\.toml/);
  });
});

describe('keys-cli.mjs (the package script)', () => {
  const launcher = join(import.meta.dirname, 'keys-cli.mjs');
  const bundle = join(import.meta.dirname, '..', 'dist', 'keys.mjs');
  const run = (...args: string[]) => spawnSync(process.execPath, [launcher, ...args], { encoding: 'utf8' });

  it('builds the bundle when it is older than its sources, then runs the command from it', () => {
    const persistTo = join(dir, 'state-rebuild');
    expect(run('list', '--persist-to', persistTo).status).toBe(0);
    // Older than every source: a stale bundle.
    utimesSync(bundle, 0, 0);
    const created = run('create', '--name', 'from the bundle', '--persist-to', persistTo);
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^coyo_[0-9A-Za-z]{32}\n$/);
    expect(statSync(bundle).mtimeMs).toBeGreaterThan(0);
    const listed = run('list', '--json', '--persist-to', persistTo);
    expect(listed.status, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ id: created.stdout.slice(0, 12), name: 'from the bundle', disabled: false }]);
  });

  it('runs a fresh bundle as it is, without building it again', () => {
    expect(run('--help').status).toBe(0);
    const built = statSync(bundle).mtimeMs;
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: pnpm --filter @coyo/worker keys');
    expect(statSync(bundle).mtimeMs).toBe(built);
  });

  it('passes usage errors through with exit code 2', () => {
    const res = run('frobnicate');
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('unknown command "frobnicate"');
  });
});
