/// <reference types="node" />
/**
 * API key management for coyo-edge: create, list and revoke keys in the `API_KEYS` KV namespace.
 *
 *   pnpm --filter @coyo/worker keys create --name "Alice laptop" [--scopes inference,coyo] [--tier standard|high]
 *   pnpm --filter @coyo/worker keys list [--json]
 *   pnpm --filter @coyo/worker keys revoke coyo_AbC1234
 *
 * Target (one of):
 *   --local                 the local state `wrangler dev` / `pnpm dev` use (default), under
 *                           `--persist-to <dir>` (default `<repo>/.wrangler/state`, as `wrangler dev`)
 *   --remote                the deployed namespace, through `wrangler kv … --remote --binding API_KEYS`
 *                           (needs `wrangler login` or CLOUDFLARE_API_TOKEN, and the real namespace id
 *                           in wrangler.toml)
 * Other options: `--config <wrangler.toml>` (default `<repo>/wrangler.toml`), `--json` (machine output).
 *
 * A key is printed once, on stdout alone (messages go to stderr), so `KEY=$(… keys create …)` works;
 * KV stores only its SHA-256 (`sha256:<hex>`), with the record as value and `{id, name, disabled}` as
 * metadata, exactly as the worker's auth reads it (`src/services/api-keys.ts`).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type * as MiniflareModule from 'miniflare';
import { z } from 'zod';
import {
  ApiKeyMetadataSchema,
  ApiKeyRecordSchema,
  ApiKeyScopeSchema,
  ApiKeyTierSchema,
  generateApiKey,
  newApiKeyRecord,
  storeApiKey,
  type ApiKeyRecord,
  type ApiKeyScope,
  type ApiKeyTier,
} from '../src/services/api-keys';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where `wrangler dev` keeps local state when run from the repository root. */
export const DEFAULT_PERSIST_TO = join(REPO_ROOT, '.wrangler', 'state');
export const DEFAULT_CONFIG = join(REPO_ROOT, 'wrangler.toml');
const BINDING = 'API_KEYS';
const HASH_PREFIX = 'sha256:';
/** How long the worker's auth lets an edge location cache a key record (see `auth()`'s cacheTtl). */
const AUTH_CACHE_SECONDS = 60;

/** The storage operations the commands need; one implementation per target. */
export interface KeyNamespace {
  /** A human description of where the keys live, for messages. */
  readonly where: string;
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { metadata?: unknown }): Promise<void>;
  /** Every stored `sha256:` entry with its raw value (null when it vanished in between). */
  entries(): Promise<{ name: string; value: string | null }[]>;
  /** The key ids in the listing metadata: one list call, no value reads. */
  ids(): Promise<string[]>;
  close(): Promise<void>;
}

/** A stored key as `list` shows it: the record, or why it could not be read. */
export type ListedKey = { hash: string; record: ApiKeyRecord } | { hash: string; invalid: string };

/** A command failed for a reason the user can fix; printed without a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The KV binding's id in wrangler.toml: local state keeps each namespace under a name derived from it. */
const KvBindingSchema = z.object({ binding: z.string(), id: z.string().min(1) }).loose();

/**
 * The `id` of the `API_KEYS` KV namespace in a wrangler.toml, read from its `[[kv_namespaces]]` tables
 * (the one setting this script needs; wrangler itself is not loaded, which costs seconds).
 */
export async function localKvNamespaceId(configPath: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${configPath}: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const table of text.split(/^\s*\[\[kv_namespaces\]\]\s*$/m).slice(1)) {
    const body = table.split(/^\s*\[/m)[0] ?? '';
    const fields = Object.fromEntries(
      [...body.matchAll(/^\s*(binding|id)\s*=\s*(?:"([^"]*)"|'([^']*)')/gm)].map((m) => [m[1] ?? '', m[2] ?? m[3] ?? '']),
    );
    const parsed = KvBindingSchema.safeParse(fields);
    if (parsed.success && parsed.data.binding === BINDING) return parsed.data.id;
  }
  throw new CliError(`${configPath} has no [[kv_namespaces]] entry with binding = "${BINDING}" and an id`);
}

/** The ids recorded in listing metadata; entries without readable metadata are skipped. */
function idsFromMetadata(keys: readonly { metadata?: unknown }[]): string[] {
  return keys.flatMap((k) => {
    const parsed = ApiKeyMetadataSchema.safeParse(k.metadata);
    return parsed.success ? [parsed.data.id] : [];
  });
}

/** A path relative to the working directory when it lies inside it, else absolute. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : rel;
}

/**
 * The worker Miniflare runs for the CLI: the `API_KEYS` binding and nothing else, driven by POSTs of
 * `{ op, ... }`. Asking it through `dispatchFetch` (undici on this thread) instead of Miniflare's
 * binding proxy (`getKVNamespace`) spares a worker thread that loads its own undici and blocks this
 * one while it does: ≈ 0.6 s of CPU per command here.
 */
const KV_SCRIPT = `export default {
  async fetch(request, env) {
    const kv = env.${BINDING};
    const q = await request.json();
    if (q.op === 'get') return Response.json({ value: await kv.get(q.key, 'text') });
    if (q.op === 'put') {
      await kv.put(q.key, q.value, q.metadata === undefined ? {} : { metadata: q.metadata });
      return Response.json({});
    }
    if (q.op === 'list') {
      const keys = [];
      let cursor;
      do {
        const page = await kv.list({ prefix: q.prefix, cursor });
        keys.push(...page.keys);
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor !== undefined);
      const values = q.values ? await Promise.all(keys.map((k) => kv.get(k.name, 'text'))) : [];
      return Response.json({ keys: keys.map((k, i) => ({ name: k.name, metadata: k.metadata, value: q.values ? values[i] : undefined })) });
    }
    return new Response('unknown op', { status: 400 });
  },
};`;

const KvGetAnswerSchema = z.object({ value: z.string().nullable() });
const KvListAnswerSchema = z.object({
  keys: z.array(z.object({ name: z.string(), metadata: z.unknown().optional(), value: z.string().nullable().optional() })),
});

/**
 * Opens the local KV state with Miniflare alone (no wrangler, no worker bundle: a 20-line script with
 * the one binding): the same files `wrangler dev --persist-to <dir>` reads, which it keeps under
 * `<dir>/v3/kv`, keyed by the namespace id in wrangler.toml. Starting wrangler's platform proxy
 * instead took several seconds per command.
 */
export async function openLocalNamespace({ configPath = DEFAULT_CONFIG, persistTo = DEFAULT_PERSIST_TO } = {}): Promise<KeyNamespace> {
  const id = await localKvNamespaceId(configPath);
  // Loaded here, not at the top: the other targets and usage errors need none of it. Required, not
  // imported: Miniflare is one 3.8 MB CommonJS file, and `import()` of CommonJS first scans all of it
  // for named exports (≈ 0.45 s of CPU here), which `require` skips.
  const { Miniflare } = createRequire(import.meta.url)('miniflare') as typeof MiniflareModule;
  const mf = new Miniflare({
    modules: true,
    script: KV_SCRIPT,
    kvNamespaces: { [BINDING]: id },
    kvPersist: join(persistTo, 'v3', 'kv'),
    // No `Request.cf` fetch from Cloudflare: KV alone does not need it, and offline it costs a DNS failure.
    cf: false,
  });
  const ask = async <T>(schema: z.ZodType<T>, query: Record<string, unknown>): Promise<T> => {
    const res = await mf.dispatchFetch('http://keys.local/', { method: 'POST', body: JSON.stringify(query) });
    const text = await res.text();
    if (!res.ok) throw new Error(`bug: the local KV script answered ${String(res.status)} to ${String(query.op)}: ${text.slice(0, 300)}`);
    return schema.parse(JSON.parse(text));
  };
  try {
    await mf.ready;
  } catch (error) {
    await mf.dispose(); // else workerd keeps the process alive
    throw error;
  }
  const listAll = async (values: boolean) => (await ask(KvListAnswerSchema, { op: 'list', prefix: HASH_PREFIX, values })).keys;
  return {
    where: `local KV (${displayPath(persistTo)})`,
    get: async (key) => (await ask(KvGetAnswerSchema, { op: 'get', key })).value,
    put: async (key, value, options) => {
      await ask(z.object({}), { op: 'put', key, value, ...(options?.metadata === undefined ? {} : { metadata: options.metadata }) });
    },
    async entries() {
      return (await listAll(true)).map((k) => ({ name: k.name, value: k.value ?? null }));
    },
    async ids() {
      return idsFromMetadata(await listAll(false));
    },
    close: () => mf.dispose(),
  };
}

/** Where the wrangler CLI should act: the deployed namespace, or a local state folder. */
export type WranglerLocation = { remote: true } | { remote: false; persistTo: string };

const wranglerBin = (): string => createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');

async function runWrangler(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [wranglerBin(), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its JSON answers are log lines: a quieter WRANGLER_LOG in this environment would swallow them.
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', WRANGLER_LOG: 'log' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('close', done);
  });
  if (code !== 0) {
    const tail = (stderr.trim() || stdout.trim()).split('\n').slice(-12).join('\n');
    throw new CliError(`wrangler ${args.slice(0, 3).join(' ')} failed (exit ${code}):\n${tail}`);
  }
  return stdout;
}

/** Parses the JSON document in wrangler's stdout, which may be preceded by a banner and followed by "Success!". */
export function jsonFromWranglerOutput(stdout: string): unknown {
  const trimmed = stdout.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    // fall through: look for the document among the other lines
  }
  const lines = trimmed.split('\n');
  const start = lines.findIndex((line) => line.startsWith('[') || line.startsWith('{'));
  if (start >= 0) {
    const close = lines[start]?.startsWith('[') ? ']' : '}';
    for (let end = lines.length - 1; end >= start; end--) {
      if (!lines[end]?.startsWith(close)) continue;
      try {
        return JSON.parse(lines.slice(start, end + 1).join('\n'));
      } catch {
        // keep looking for an earlier closing line
      }
    }
  }
  throw new CliError(`could not read wrangler's output as JSON:\n${trimmed.slice(0, 500)}`);
}

const KvListOutputSchema = z.array(z.object({ name: z.string(), metadata: z.unknown().optional() }).loose());
const KvBulkGetOutputSchema = z.record(z.string(), z.object({ value: z.string().nullable() }).loose());

/**
 * Drives `wrangler kv key put/list` and `kv bulk get` for the `API_KEYS` binding: `--remote` for the
 * deployed namespace (the only way the CLI reaches real KV), or `--local --persist-to` for local state.
 */
export function wranglerNamespace({ configPath = DEFAULT_CONFIG, location }: { configPath?: string; location: WranglerLocation }): KeyNamespace {
  const target = location.remote ? ['--remote'] : ['--local', '--persist-to', location.persistTo];
  const common = ['--binding', BINDING, '--config', configPath, ...target];
  const bulkGet = async (names: string[]): Promise<Record<string, string | null>> => {
    if (names.length === 0) return {};
    const dir = await mkdtemp(join(tmpdir(), 'coyo-keys-'));
    try {
      const file = join(dir, 'keys.json');
      await writeFile(file, JSON.stringify(names));
      const parsed = KvBulkGetOutputSchema.safeParse(jsonFromWranglerOutput(await runWrangler(['kv', 'bulk', 'get', file, ...common])));
      if (!parsed.success) throw new CliError(`unexpected output of wrangler kv bulk get: ${parsed.error.message}`);
      return Object.fromEntries(names.map((name) => [name, parsed.data[name]?.value ?? null]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const list = async () => {
    const listed = KvListOutputSchema.safeParse(jsonFromWranglerOutput(await runWrangler(['kv', 'key', 'list', '--prefix', HASH_PREFIX, ...common])));
    if (!listed.success) throw new CliError(`unexpected output of wrangler kv key list: ${listed.error.message}`);
    return listed.data;
  };
  return {
    where: location.remote ? 'remote KV (wrangler --remote)' : `local KV via wrangler (${displayPath(location.persistTo)})`,
    async get(key) {
      return (await bulkGet([key]))[key] ?? null;
    },
    async put(key, value, options) {
      const metadata = options?.metadata === undefined ? [] : ['--metadata', JSON.stringify(options.metadata)];
      await runWrangler(['kv', 'key', 'put', key, value, ...metadata, ...common]);
    },
    async entries() {
      const names = (await list()).map((k) => k.name);
      const values = await bulkGet(names);
      return names.map((name) => ({ name, value: values[name] ?? null }));
    },
    async ids() {
      return idsFromMetadata(await list());
    },
    close: async () => {},
  };
}

/** Reads every stored key; records that fail validation are listed as invalid, not dropped. */
export async function listKeys(ns: KeyNamespace): Promise<ListedKey[]> {
  const entries = await ns.entries();
  const listed = entries.map(({ name, value }): ListedKey => {
    if (value === null) return { hash: name, invalid: 'no value' };
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch {
      return { hash: name, invalid: 'value is not JSON' };
    }
    const parsed = ApiKeyRecordSchema.safeParse(json);
    if (!parsed.success) return { hash: name, invalid: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
    return { hash: name, record: parsed.data };
  });
  const created = (k: ListedKey) => ('record' in k ? k.record.created_at : '');
  return listed.sort((a, b) => created(a).localeCompare(created(b)) || a.hash.localeCompare(b.hash));
}

export interface CreateKeyOptions {
  name: string;
  scopes: ApiKeyScope[];
  tier: ApiKeyTier;
  now?: Date;
  /** Source of new keys (default {@link generateApiKey}). */
  generate?: () => string;
}

/**
 * Creates a key and stores only its hash. A new key whose public id (its first 12 characters)
 * already exists is drawn again, so `revoke <id>` always names one key.
 */
export async function createKey(ns: KeyNamespace, { name, scopes, tier, now = new Date(), generate = generateApiKey }: CreateKeyOptions): Promise<{ key: string; record: ApiKeyRecord }> {
  const taken = new Set(await ns.ids());
  for (let attempt = 0; attempt < 5; attempt++) {
    const key = generate();
    const record = newApiKeyRecord(key, { name, scopes, tier, now });
    if (taken.has(record.id)) continue;
    await storeApiKey(ns, key, record);
    return { key, record };
  }
  throw new Error('bug: five fresh keys collided with existing ids');
}

/** Disables every stored key with this id (normally one); returns them, and whether each changed. */
export async function revokeKey(ns: KeyNamespace, id: string): Promise<{ record: ApiKeyRecord; changed: boolean }[]> {
  const matches = (await listKeys(ns)).flatMap((k) => ('record' in k && k.record.id === id ? [{ hash: k.hash, record: k.record }] : []));
  if (matches.length === 0) throw new CliError(`no API key with id ${id} in ${ns.where}`);
  const results: { record: ApiKeyRecord; changed: boolean }[] = [];
  for (const { hash, record } of matches) {
    if (record.disabled) {
      results.push({ record, changed: false });
      continue;
    }
    const revoked = ApiKeyRecordSchema.parse({ ...record, disabled: true });
    const metadata = ApiKeyMetadataSchema.parse({ id: revoked.id, name: revoked.name, disabled: true });
    await ns.put(hash, JSON.stringify(revoked), { metadata });
    results.push({ record: revoked, changed: true });
  }
  return results;
}

const USAGE = `Usage: pnpm --filter @coyo/worker keys <command> [options]

Commands:
  create --name <name> [--scopes inference,coyo] [--tier standard|high]
                        create a key and print it once (scopes: inference, coyo, admin)
  list                  list keys: id, name, tier, scopes, created, status (never the keys)
  revoke <id>           disable the key with this id (e.g. coyo_AbC1234)

Options:
  --local               local state used by wrangler dev (default)
  --persist-to <dir>    local state folder, as wrangler dev --persist-to (default .wrangler/state)
  --remote              the deployed KV namespace, via wrangler kv --remote
  --config <path>       wrangler configuration (default: the repository's wrangler.toml)
  --json                print JSON instead of text
  -h, --help            show this help
`;

const KeyIdSchema = z.string().regex(/^coyo_[0-9A-Za-z]{7}$/, 'an id is coyo_ followed by 7 letters or digits (the first 12 characters of the key)');
const ScopesSchema = z
  .string()
  .transform((raw) => [...new Set(raw.split(',').map((s) => s.trim()).filter((s) => s !== ''))])
  .pipe(z.array(ApiKeyScopeSchema).min(1, 'give at least one scope'));

/** Output streams, injectable so the commands can be run in-process. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

function formatTable(rows: string[][]): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join('  ').trimEnd()).join('\n') + '\n';
}

function issueText(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length > 0 ? `--${String(i.path[0])}: ${i.message}` : i.message)).join('; ');
}

/**
 * Runs one CLI invocation and returns the exit code (0 ok, 1 failed, 2 usage). `open` picks the
 * namespace for the parsed target; tests pass their own.
 */
export async function runCli(
  argv: string[],
  io: CliIo = processIo,
  open: (target: { remote: boolean; configPath: string; persistTo: string }) => Promise<KeyNamespace> = (t) =>
    t.remote ? Promise.resolve(wranglerNamespace({ configPath: t.configPath, location: { remote: true } })) : openLocalNamespace(t),
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        name: { type: 'string' },
        scopes: { type: 'string' },
        tier: { type: 'string' },
        local: { type: 'boolean' },
        remote: { type: 'boolean' },
        'persist-to': { type: 'string' },
        config: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    (values.help || command === 'help' ? io.out : io.err)(USAGE);
    return values.help || command === 'help' ? 0 : 2;
  }
  if (values.local && values.remote) {
    io.err('choose one of --local and --remote\n');
    return 2;
  }
  if (values.remote && values['persist-to'] !== undefined) {
    io.err('--persist-to applies to local state only\n');
    return 2;
  }
  const target = {
    remote: values.remote === true,
    configPath: resolve(values.config ?? DEFAULT_CONFIG),
    persistTo: resolve(values['persist-to'] ?? DEFAULT_PERSIST_TO),
  };

  let action: (ns: KeyNamespace) => Promise<void>;
  switch (command) {
    case 'create': {
      const options = z
        .object({
          name: z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200),
          scopes: ScopesSchema.default(['inference', 'coyo']),
          tier: ApiKeyTierSchema.default('standard'),
        })
        .safeParse({ name: values.name, scopes: values.scopes, tier: values.tier });
      if (!options.success || rest.length > 0) {
        io.err(`${options.success ? `unexpected arguments: ${rest.join(' ')}` : issueText(options.error)}\n\n${USAGE}`);
        return 2;
      }
      action = async (ns) => {
        const { key, record } = await createKey(ns, options.data);
        if (values.json) {
          io.out(`${JSON.stringify({ key, record }, null, 2)}\n`);
        } else {
          io.out(`${key}\n`);
          io.err(
            `Created ${record.id} "${record.name}" (tier ${record.tier}; scopes ${record.scopes.join(', ')}) in ${ns.where}.\n` +
              'This is the only time the key is shown: KV keeps only its SHA-256.\n',
          );
        }
      };
      break;
    }
    case 'list': {
      if (rest.length > 0 || values.name !== undefined || values.scopes !== undefined || values.tier !== undefined) {
        io.err(`list takes no arguments\n\n${USAGE}`);
        return 2;
      }
      action = async (ns) => {
        const keys = await listKeys(ns);
        if (values.json) {
          io.out(`${JSON.stringify(keys.map((k) => ('record' in k ? k.record : { hash: k.hash, invalid: k.invalid })), null, 2)}\n`);
          return;
        }
        if (keys.length === 0) {
          io.err(`No API keys in ${ns.where}. Create one with: keys create --name <name>\n`);
          return;
        }
        const rows = [['ID', 'NAME', 'TIER', 'SCOPES', 'CREATED', 'STATUS']];
        for (const k of keys) {
          if ('record' in k) {
            const r = k.record;
            rows.push([r.id, r.name, r.tier, r.scopes.join(','), r.created_at.replace('T', ' ').replace(/\.\d+Z$|Z$/, 'Z'), r.disabled ? 'revoked' : 'active']);
          } else {
            rows.push([`${k.hash.slice(0, 19)}…`, '(unreadable record)', '', '', '', k.invalid]);
          }
        }
        io.out(formatTable(rows));
      };
      break;
    }
    case 'revoke': {
      if (rest.length !== 1) {
        io.err(`revoke takes exactly one key id\n\n${USAGE}`);
        return 2;
      }
      const id = KeyIdSchema.safeParse(rest[0]);
      if (!id.success) {
        io.err(`${issueText(id.error)}\n\n${USAGE}`);
        return 2;
      }
      action = async (ns) => {
        const results = await revokeKey(ns, id.data);
        if (values.json) {
          io.out(`${JSON.stringify(results.map((r) => r.record), null, 2)}\n`);
          return;
        }
        for (const { record, changed } of results) {
          io.err(changed ? `Revoked ${record.id} "${record.name}" in ${ns.where}.\n` : `${record.id} "${record.name}" was already revoked.\n`);
        }
        if (target.remote && results.some((r) => r.changed)) {
          io.err(`Edge locations that cached the key may accept it for up to ${AUTH_CACHE_SECONDS} s more.\n`);
        }
      };
      break;
    }
    default:
      io.err(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }

  let ns: KeyNamespace | undefined;
  try {
    ns = await open(target);
    await action(ns);
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  } finally {
    await ns?.close();
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
