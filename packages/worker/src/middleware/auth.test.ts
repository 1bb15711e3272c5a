import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { postJson, problemOf, seedApiKey, toBase64, uniquePng } from '../../test/helpers';
import { generateApiKey } from '../services/api-keys';
import { bearerToken, defaultScopeFor } from './auth';

const keys: Record<'inference' | 'coyo' | 'admin' | 'disabled', string> = { inference: '', coyo: '', admin: '', disabled: '' };

beforeAll(async () => {
  keys.inference = await seedApiKey(env, { scopes: ['inference'] });
  keys.coyo = await seedApiKey(env, { scopes: ['coyo'] });
  keys.admin = await seedApiKey(env, { scopes: ['admin'], tier: 'high' });
  keys.disabled = await seedApiKey(env, { scopes: ['inference'], disabled: true });
});

const models = (authorization?: string) =>
  exports.default.fetch('https://api.test/v1/models', { headers: authorization === undefined ? {} : { authorization } });

describe('auth', () => {
  it('answers 401 with a Bearer challenge when the key is missing', async () => {
    const res = await models();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="coyo-edge"');
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/unauthorized');
  });

  it('answers 401 invalid_token for an unknown key', async () => {
    const res = await models(`Bearer ${generateApiKey()}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect((await problemOf(res)).detail).toMatch(/not valid/);
  });

  it('answers 401 for a malformed key or another scheme', async () => {
    expect((await models('Bearer not-a-key')).status).toBe(401);
    expect((await models(`Basic ${keys.inference}`)).status).toBe(401);
  });

  it('answers 403 for a disabled key', async () => {
    const res = await models(`Bearer ${keys.disabled}`);
    expect(res.status).toBe(403);
    expect((await problemOf(res)).detail).toMatch(/disabled/);
  });

  it('answers 403 insufficient_scope when the key lacks the route scope', async () => {
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', postJson(keys.coyo, { image: { base64: toBase64(uniquePng()) }, labels: ['a'] }));
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('scope="inference"');
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/forbidden');
  });

  it('requires the coyo scope under /v1/coyo', async () => {
    const res = await exports.default.fetch('https://api.test/v1/coyo/anything', { headers: { authorization: `Bearer ${keys.inference}` } });
    expect(res.status).toBe(403);
  });

  it('lets a key with the scope through, and admin everywhere', async () => {
    expect((await models(`Bearer ${keys.inference}`)).status).toBe(200);
    expect((await models(`bearer ${keys.admin}`)).status).toBe(200);
  });

  it('leaves public paths open', async () => {
    expect((await exports.default.fetch('https://api.test/healthz')).status).toBe(200);
    expect((await exports.default.fetch('https://api.test/openapi.json')).status).toBe(200);
  });

  it('checks the key before anything else under /v1, even on unknown paths', async () => {
    expect((await exports.default.fetch('https://api.test/v1/nope')).status).toBe(401);
  });
});

describe('auth helpers', () => {
  it('reads the bearer token case-insensitively and refuses other shapes', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc ')).toBe('abc');
    expect(bearerToken('Bearer a b')).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
  });

  it('maps paths to scopes', () => {
    expect(defaultScopeFor('/v1/coyo/rows/1')).toBe('coyo');
    expect(defaultScopeFor('/v1/coyotes')).toBe('inference');
    expect(defaultScopeFor('/v1/zero-shot')).toBe('inference');
    expect(defaultScopeFor('/healthz')).toBeNull();
  });
});
