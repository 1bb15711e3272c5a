/**
 * The key CLI (`packages/worker/scripts/keys.ts`) against real local KV state in a temporary folder:
 * in-process (Miniflare on the state `wrangler dev` uses, read back here through wrangler's platform
 * proxy as the worker sees it), through the wrangler CLI (the code path `--remote`
 * uses, pointed at local state), as a spawned command, and against the real worker, which must accept
 * a created key and refuse it once revoked.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPlatformProxy } from 'wrangler';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createKey,
  listKeys,
  openLocalNamespace,
  revokeKey,
  runCli,
  wranglerNamespace,
  type CliIo,
  type KeyNamespace,
} from '@coyo/worker/keys';
import { REPO_ROOT, startWorker } from '../harness/stack.ts';

const CONFIG = join(REPO_ROOT, 'wrangler.toml');
// What the package script runs: the prebuilt bundle of scripts/keys.ts.
const KEYS_SCRIPT = join(REPO_ROOT, 'packages', 'worker', 'scripts', 'keys-cli.mjs');
const KEY_PATTERN = /^coyo_[0-9A-Za-z]{32}$/;
const dirs: string[] = [];

function tempState(): string {
  const dir = mkdtempSync(join(tmpdir(), 'coyo-keys-test-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function captureIo(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => (out += t), err: (t) => (err += t), stdout: () => out, stderr: () => err };
}

async function withLocal<T>(persistTo: string, body: (ns: KeyNamespace) => Promise<T>): Promise<T> {
  const ns = await openLocalNamespace({ configPath: CONFIG, persistTo });
  try {
    return await body(ns);
  } finally {
    await ns.close();
  }
}

/** Reads one KV entry exactly as the worker would, bypassing the CLI's own code. */
async function readRaw(persistTo: string, name: string) {
  const proxy = await getPlatformProxy<{ API_KEYS: { getWithMetadata(k: string, t: 'text'): Promise<{ value: string | null; metadata: unknown }> } }>({
    configPath: CONFIG,
    persist: { path: join(persistTo, 'v3') },
  });
  try {
    return await proxy.env.API_KEYS.getWithMetadata(name, 'text');
  } finally {
    await proxy.dispose();
  }
}

describe('keys CLI on local state', () => {
  it('stores only the SHA-256 of a created key, with the record as value and {id, name, disabled} as metadata', async () => {
    const persistTo = tempState();
    const io = captureIo();
    const code = await runCli(['create', '--name', 'Alice laptop', '--tier', 'high', '--persist-to', persistTo, '--config', CONFIG], io);
    expect(code).toBe(0);
    const key = io.stdout().trim();
    expect(key).toMatch(KEY_PATTERN);
    expect(io.stderr()).toContain(key.slice(0, 12));
    expect(io.stderr()).not.toContain(key);

    const hash = `sha256:${createHash('sha256').update(key).digest('hex')}`;
    const stored = await readRaw(persistTo, hash);
    expect(stored.value).not.toBeNull();
    expect(stored.value).not.toContain(key);
    const record = JSON.parse(stored.value ?? '{}') as { created_at: string };
    expect(record).toMatchObject({ id: key.slice(0, 12), name: 'Alice laptop', scopes: ['inference', 'coyo'], tier: 'high', disabled: false });
    expect(Date.parse(record.created_at)).not.toBeNaN();
    expect(stored.metadata).toEqual({ id: key.slice(0, 12), name: 'Alice laptop', disabled: false });
  });

  it('lists keys without their secret and revokes one by id', async () => {
    const persistTo = tempState();
    const { a, b } = await withLocal(persistTo, async (ns) => ({
      a: await createKey(ns, { name: 'first', scopes: ['inference'], tier: 'standard' }),
      b: await createKey(ns, { name: 'second', scopes: ['coyo', 'admin'], tier: 'high' }),
    }));

    const listIo = captureIo();
    expect(await runCli(['list', '--json', '--persist-to', persistTo, '--config', CONFIG], listIo)).toBe(0);
    const listed = JSON.parse(listIo.stdout()) as { id: string; name: string; scopes: string[]; disabled: boolean }[];
    expect(listed.map((r) => [r.id, r.name, r.scopes, r.disabled])).toEqual([
      [a.record.id, 'first', ['inference'], false],
      [b.record.id, 'second', ['coyo', 'admin'], false],
    ]);
    expect(listIo.stdout()).not.toContain(a.key);

    const revokeIo = captureIo();
    expect(await runCli(['revoke', a.record.id, '--persist-to', persistTo, '--config', CONFIG], revokeIo)).toBe(0);
    expect(revokeIo.stderr()).toContain(`Revoked ${a.record.id}`);

    const after = await withLocal(persistTo, (ns) => listKeys(ns));
    expect(after.map((k) => ('record' in k ? [k.record.id, k.record.disabled] : [k.hash, k.invalid]))).toEqual([
      [a.record.id, true],
      [b.record.id, false],
    ]);
    const hashA = `sha256:${createHash('sha256').update(a.key).digest('hex')}`;
    expect((await readRaw(persistTo, hashA)).metadata).toEqual({ id: a.record.id, name: 'first', disabled: true });

    const tableIo = captureIo();
    expect(await runCli(['list', '--persist-to', persistTo, '--config', CONFIG], tableIo)).toBe(0);
    expect(tableIo.stdout()).toMatch(new RegExp(`${a.record.id}\\s+first\\s+standard\\s+inference\\s+\\S+ \\S+\\s+revoked`));
  });

  it('answers a revoke of an unknown id with exit code 1 and a message naming it', async () => {
    const io = captureIo();
    expect(await runCli(['revoke', 'coyo_Nope123', '--persist-to', tempState(), '--config', CONFIG], io)).toBe(1);
    expect(io.stderr()).toContain('no API key with id coyo_Nope123');
  });

  it.each([
    [['create'], '--name'],
    [['create', '--name', 'x', '--scopes', 'inference,root'], '--scopes'],
    [['create', '--name', 'x', '--tier', 'gold'], '--tier'],
    [['revoke', 'coyo_short'], 'an id is coyo_'],
    [['revoke'], 'exactly one key id'],
    [['list', '--remote', '--local'], 'one of --local and --remote'],
    [['frobnicate'], 'unknown command'],
    [['list', '--bogus'], 'bogus'],
  ])('refuses %j with exit code 2 and says why', async (args, reason) => {
    let opened = false;
    const io = captureIo();
    const code = await runCli(args, io, () => {
      opened = true;
      return Promise.reject(new Error('bug: storage opened for a refused command'));
    });
    expect(code).toBe(2);
    expect(io.stderr()).toContain(reason);
    expect(opened).toBe(false);
  });

  it('draws a new key when the first one has the id of a stored key, so an id names one key', async () => {
    const persistTo = tempState();
    const first = `coyo_Same123${'a'.repeat(25)}`;
    const clash = `coyo_Same123${'b'.repeat(25)}`;
    const fresh = `coyo_Other45${'c'.repeat(25)}`;
    const drawn = [clash, fresh];
    const created = await withLocal(persistTo, async (ns) => {
      await createKey(ns, { name: 'first', scopes: ['inference'], tier: 'standard', generate: () => first });
      return createKey(ns, { name: 'second', scopes: ['inference'], tier: 'standard', generate: () => drawn.shift() ?? '' });
    });
    expect(created.key).toBe(fresh);
    const ids = (await withLocal(persistTo, (ns) => listKeys(ns))).flatMap((k) => ('record' in k ? [k.record.id] : []));
    expect(ids.sort()).toEqual(['coyo_Other45', 'coyo_Same123']);
  });

  it('reports a stored record that fails validation instead of hiding it', async () => {
    const persistTo = tempState();
    await withLocal(persistTo, (ns) => ns.put('sha256:broken', '{"id":"nope"}', { metadata: { id: 'nope' } }));
    const listed = await withLocal(persistTo, (ns) => listKeys(ns));
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ hash: 'sha256:broken' });
    expect('invalid' in (listed[0] ?? {})).toBe(true);
  });
});

describe('keys CLI through the wrangler CLI (the --remote code path, aimed at local state)', () => {
  it('writes records the local proxy reads, and reads records the proxy wrote', async () => {
    const persistTo = tempState();
    const viaWrangler = wranglerNamespace({ configPath: CONFIG, location: { remote: false, persistTo } });
    const created = await createKey(viaWrangler, { name: 'from wrangler', scopes: ['inference', 'coyo'], tier: 'standard' });
    expect(created.key).toMatch(KEY_PATTERN);

    const seenLocally = await withLocal(persistTo, async (ns) => {
      const other = await createKey(ns, { name: 'from proxy', scopes: ['coyo'], tier: 'high' });
      return { listed: await listKeys(ns), other };
    });
    expect(seenLocally.listed.flatMap((k) => ('record' in k ? [k.record.name] : []))).toEqual(['from wrangler', 'from proxy']);

    const revoked = await revokeKey(viaWrangler, seenLocally.other.record.id);
    expect(revoked).toEqual([{ record: { ...seenLocally.other.record, disabled: true }, changed: true }]);
    const final = await withLocal(persistTo, (ns) => listKeys(ns));
    expect(final.map((k) => ('record' in k ? [k.record.name, k.record.disabled] : []))).toEqual([
      ['from wrangler', false],
      ['from proxy', true],
    ]);
    const hash = `sha256:${createHash('sha256').update(seenLocally.other.key).digest('hex')}`;
    expect((await readRaw(persistTo, hash)).metadata).toEqual({ id: seenLocally.other.record.id, name: 'from proxy', disabled: true });
  });
});

describe('keys CLI with the real worker', () => {
  it('creates a key the worker accepts, and after revoke the worker refuses it with 403', async () => {
    const persistTo = tempState();
    // As a person runs it: the package script, key alone on stdout.
    const created = spawnSync(process.execPath, [KEYS_SCRIPT, 'create', '--name', 'e2e', '--persist-to', persistTo], {
      cwd: join(REPO_ROOT, 'packages', 'worker'),
      encoding: 'utf8',
    });
    expect(created.status, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(KEY_PATTERN);

    // The backend is never reached: a validation failure answers before any model call.
    const worker = await startWorker({ backendUrl: 'http://127.0.0.1:9', backendToken: 'unused', persistDir: persistTo });
    try {
      const call = () =>
        fetch(`${worker.url}/v1/zero-shot`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: '{}',
        });
      const accepted = await call();
      expect(accepted.status).toBe(400);

      const revoked = spawnSync(process.execPath, [KEYS_SCRIPT, 'revoke', key.slice(0, 12), '--persist-to', persistTo], {
        cwd: join(REPO_ROOT, 'packages', 'worker'),
        encoding: 'utf8',
      });
      expect(revoked.status, revoked.stderr).toBe(0);

      const refused = await call();
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { detail: string }).detail).toContain(key.slice(0, 12));
    } finally {
      await worker.stop();
    }
  });
});
