import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  API_KEY_PATTERN,
  apiKeyId,
  generateApiKey,
  hashApiKey,
  hasScope,
  lookupApiKey,
  newApiKeyRecord,
  storeApiKey,
  type ApiKeyRecord,
} from './api-keys';

describe('api keys', () => {
  it('generates coyo_ + 32 base62 characters, different every time', () => {
    const a = generateApiKey();
    expect(a).toMatch(API_KEY_PATTERN);
    expect(generateApiKey()).not.toBe(a);
  });

  it('draws characters without modulo bias', () => {
    // Bytes ≥ 248 must be skipped: a source of only 255s followed by zeros yields only "0".
    let call = 0;
    const key = generateApiKey((n) => new Uint8Array(n).fill(call++ === 0 ? 255 : 0));
    expect(key).toBe(`coyo_${'0'.repeat(32)}`);
  });

  it('hashes the whole key as sha256:<hex>', async () => {
    const key = `coyo_${'a'.repeat(32)}`;
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    expect(await hashApiKey(key)).toBe(`sha256:${hex}`);
  });

  it('stores only the hash, with the record as value and id/name/disabled as metadata', async () => {
    const key = generateApiKey();
    const record = newApiKeyRecord(key, { name: 'ci', scopes: ['coyo'], tier: 'high', now: new Date('2026-01-02T03:04:05Z') });
    await storeApiKey(env.API_KEYS, key, record);
    const hash = await hashApiKey(key);
    const { value, metadata } = await env.API_KEYS.getWithMetadata(hash, 'json');
    expect(value).toEqual({ id: apiKeyId(key), name: 'ci', scopes: ['coyo'], tier: 'high', created_at: '2026-01-02T03:04:05.000Z', disabled: false });
    expect(metadata).toEqual({ id: key.slice(0, 12), name: 'ci', disabled: false });
    expect(await env.API_KEYS.get(key)).toBeNull();
  });

  it('resolves a stored key, and tells malformed from unknown', async () => {
    const key = generateApiKey();
    await storeApiKey(env.API_KEYS, key, newApiKeyRecord(key, { name: 'x', scopes: ['inference'] }));
    expect(await lookupApiKey(env.API_KEYS, key)).toMatchObject({ status: 'found', record: { name: 'x' } });
    expect(await lookupApiKey(env.API_KEYS, generateApiKey())).toEqual({ status: 'unknown' });
    expect(await lookupApiKey(env.API_KEYS, 'coyo_short')).toEqual({ status: 'malformed' });
  });

  it('treats a stored record that fails validation as unknown', async () => {
    const key = generateApiKey();
    await env.API_KEYS.put(await hashApiKey(key), JSON.stringify({ id: apiKeyId(key), scopes: ['admin'] }));
    expect(await lookupApiKey(env.API_KEYS, key)).toEqual({ status: 'unknown' });
  });

  it('grants every scope to admin and only the listed ones otherwise', () => {
    const base: ApiKeyRecord = { id: 'coyo_abcdefg', name: 'n', scopes: ['inference'], tier: 'standard', created_at: '2026-01-01T00:00:00Z', disabled: false };
    expect(hasScope(base, 'inference')).toBe(true);
    expect(hasScope(base, 'coyo')).toBe(false);
    expect(hasScope({ ...base, scopes: ['admin'] }, 'coyo')).toBe(true);
  });
});
