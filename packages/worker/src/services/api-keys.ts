/**
 * API keys: `coyo_` + 32 base62 characters (≈190 bits). KV holds only `sha256:<hex>` of a key, with a
 * JSON record as value and `{id, name, disabled}` as metadata (so keys can be listed without reading
 * each value). These functions are shared with the key-management CLI, so they depend on nothing but
 * Web Crypto and a KV-shaped store.
 */
import { z } from 'zod';
import { sha256Hex } from './encoding';

export const API_KEY_PREFIX = 'coyo_';
export const API_KEY_BODY_LENGTH = 32;
/** The shape of a key; anything else is refused before any storage lookup. */
export const API_KEY_PATTERN = /^coyo_[0-9A-Za-z]{32}$/;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export const ApiKeyScopeSchema = z.enum(['inference', 'coyo', 'admin']);
export type ApiKeyScope = z.infer<typeof ApiKeyScopeSchema>;

export const ApiKeyTierSchema = z.enum(['standard', 'high']);
export type ApiKeyTier = z.infer<typeof ApiKeyTierSchema>;

/** The record stored (as JSON) under a key's hash. */
export const ApiKeyRecordSchema = z.object({
  /** The first 12 characters of the key (`coyo_` + 7): safe to log and show, identifies the key. */
  id: z.string().regex(/^coyo_[0-9A-Za-z]{7}$/),
  name: z.string().min(1).max(200),
  scopes: z.array(ApiKeyScopeSchema),
  tier: ApiKeyTierSchema,
  created_at: z.iso.datetime({ offset: true }),
  disabled: z.boolean(),
});
export type ApiKeyRecord = z.infer<typeof ApiKeyRecordSchema>;

/** KV metadata of a key: enough to list keys without reading every value. */
export const ApiKeyMetadataSchema = ApiKeyRecordSchema.pick({ id: true, name: true, disabled: true });
export type ApiKeyMetadata = z.infer<typeof ApiKeyMetadataSchema>;

/** The part of a KV namespace key storage needs (a Workers KV binding fits, so does a test double). */
export interface ApiKeyStore {
  get(key: string, options?: { type: 'text'; cacheTtl?: number }): Promise<string | null>;
  put(key: string, value: string, options?: { metadata?: unknown }): Promise<void>;
}

/**
 * Generates a key from a cryptographically secure source; rejection sampling keeps every base62
 * character equally likely (no modulo bias).
 */
export function generateApiKey(randomBytes: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): string {
  let body = '';
  while (body.length < API_KEY_BODY_LENGTH) {
    for (const byte of randomBytes(48)) {
      // 248 = 4 × 62: bytes at or above it would favour the first characters.
      if (byte < 248 && body.length < API_KEY_BODY_LENGTH) body += BASE62.charAt(byte % 62);
    }
  }
  return `${API_KEY_PREFIX}${body}`;
}

/** The KV key a key is stored under: `sha256:<hex of SHA-256 of the whole key>`. */
export async function hashApiKey(key: string): Promise<string> {
  return `sha256:${await sha256Hex(key)}`;
}

/** The public id of a key: its first 12 characters. */
export function apiKeyId(key: string): string {
  return key.slice(0, 12);
}

export interface NewApiKeyRecordOptions {
  name: string;
  scopes: ApiKeyScope[];
  tier?: ApiKeyTier;
  disabled?: boolean;
  now?: Date;
}

/** Builds (and validates) the record of a new key. */
export function newApiKeyRecord(key: string, { name, scopes, tier = 'standard', disabled = false, now = new Date() }: NewApiKeyRecordOptions): ApiKeyRecord {
  if (!API_KEY_PATTERN.test(key)) throw new Error('not an API key: expected coyo_ followed by 32 base62 characters');
  return ApiKeyRecordSchema.parse({ id: apiKeyId(key), name, scopes, tier, created_at: now.toISOString(), disabled });
}

/** Stores a key's record under its hash, with the listing metadata. */
export async function storeApiKey(store: ApiKeyStore, key: string, record: ApiKeyRecord): Promise<void> {
  const valid = ApiKeyRecordSchema.parse(record);
  const metadata: ApiKeyMetadata = { id: valid.id, name: valid.name, disabled: valid.disabled };
  await store.put(await hashApiKey(key), JSON.stringify(valid), { metadata });
}

/** How a presented key resolved. */
export type ApiKeyLookup = { status: 'found'; record: ApiKeyRecord } | { status: 'malformed' | 'unknown' };

export interface LookupOptions {
  /** Seconds an edge location may serve the KV value from its cache (KV minimum 30); absent: no edge cache hint. */
  cacheTtl?: number;
}

/**
 * Resolves a presented key to its record. A malformed key is refused without a storage read; a
 * stored record that fails validation reads as unknown (and is logged), never as a partial grant.
 */
export async function lookupApiKey(store: ApiKeyStore, key: string, { cacheTtl }: LookupOptions = {}): Promise<ApiKeyLookup> {
  if (!API_KEY_PATTERN.test(key)) return { status: 'malformed' };
  const hash = await hashApiKey(key);
  const raw = await store.get(hash, cacheTtl === undefined ? { type: 'text' } : { type: 'text', cacheTtl });
  if (raw === null) return { status: 'unknown' };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    json = undefined;
  }
  const parsed = ApiKeyRecordSchema.safeParse(json);
  if (!parsed.success) {
    console.error(JSON.stringify({ level: 'error', message: 'stored API key record is invalid', hash, issues: parsed.error.issues.length }));
    return { status: 'unknown' };
  }
  return { status: 'found', record: parsed.data };
}

/** Whether a record grants a scope; `admin` grants every scope. */
export function hasScope(record: ApiKeyRecord, scope: ApiKeyScope): boolean {
  return record.scopes.includes(scope) || record.scopes.includes('admin');
}
