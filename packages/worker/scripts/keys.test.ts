/**
 * The key CLI opens local KV state by the `API_KEYS` namespace id in wrangler.toml, read without
 * loading wrangler; the namespace's state is stored under a name derived from that id, so reading
 * the wrong one would show an empty key list. (The CLI against real state: test/browser/keys-cli.test.ts.)
 */
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
