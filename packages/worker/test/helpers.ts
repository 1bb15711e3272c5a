/**
 * Test helpers for the worker's Workers-runtime tests (and for other suites that need a key).
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { inject } from 'vitest';
import { createApp, type AppDeps } from '../src/app';
import type { Env } from '../src/env';
import { ProblemError, type ProblemBody } from '../src/errors';
import { generateApiKey, newApiKeyRecord, storeApiKey, type ApiKeyScope, type ApiKeyTier } from '../src/services/api-keys';
// Type only: the fake backend itself runs in Node, these helpers in workerd.
import type { TenantStats } from './fake-backend';

export interface SeedApiKeyOptions {
  scopes?: ApiKeyScope[];
  tier?: ApiKeyTier;
  disabled?: boolean;
  name?: string;
}

/**
 * Creates a real key, stores its hash and record in `env.API_KEYS` exactly as production does, and
 * returns the plaintext key for `Authorization: Bearer`.
 */
export async function seedApiKey(env: Pick<Env, 'API_KEYS'>, { scopes = ['inference'], tier = 'standard', disabled = false, name = 'test key' }: SeedApiKeyOptions = {}): Promise<string> {
  const key = generateApiKey();
  await storeApiKey(env.API_KEYS, key, newApiKeyRecord(key, { name, scopes, tier, disabled }));
  return key;
}

/** The public host image URLs in tests use; {@link routedFetch} sends it to the fake image host. */
export const IMAGE_HOST = 'images.example.com';

/** The fake backend URL of one tenant in one mode; tenants keep call counts apart. */
export function backendUrl(tenant: string, mode: 'normal' | 'slow' | 'error' | 'flaky' | 'overloaded' | 'badjson' | 'noecho' = 'normal'): string {
  return `${inject('fakeOrigin')}/t/${tenant}/${mode}`;
}

/** What the fake backend saw from one tenant. */
export async function backendStats(tenant: string): Promise<TenantStats> {
  const res = await fetch(`${inject('fakeOrigin')}/__stats/${tenant}`);
  return res.json<TenantStats>();
}

/**
 * Switches the weights one tenant's fake backend serves; `null` makes it an older backend without
 * revisions. `modelsRevision` makes its /v1/models report other weights than its embeddings come from.
 */
export async function setBackendRevision(tenant: string, revision: string | null, modelsRevision?: string): Promise<void> {
  const res = await fetch(`${inject('fakeOrigin')}/__revision/${tenant}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ revision, ...(modelsRevision === undefined ? {} : { models_revision: modelsRevision }) }),
  });
  if (!res.ok) throw new Error(`test setup: the fake backend refused revision ${String(revision)} (${res.status})`);
}

/** Takes one tenant's fake backend down (connections dropped unanswered, as if killed) or back up. */
export async function setBackendDown(tenant: string, down: boolean): Promise<void> {
  const res = await fetch(`${inject('fakeOrigin')}/__down/${tenant}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ down }),
  });
  if (!res.ok) throw new Error(`test setup: the fake backend refused down=${String(down)} (${res.status})`);
}

/** Sum of backend calls of a tenant, optionally of one route (`/v1/embed/text`). */
export async function backendCalls(tenant: string, route?: string): Promise<number> {
  const { calls } = await backendStats(tenant);
  if (route !== undefined) return calls[route] ?? 0;
  return Object.values(calls).reduce((a, b) => a + b, 0);
}

/**
 * The app's fetch dependency in tests: `images.example.com` plays a public image host by going to
 * the local fake; everything else goes out unchanged. This is DNS for the test, nothing more: the
 * SSRF guard has already judged the public URL before this runs.
 */
export const routedFetch: typeof fetch = (input, init) => {
  const request = new Request(input, init);
  const url = new URL(request.url);
  if (url.hostname === IMAGE_HOST) {
    return fetch(new Request(`${inject('fakeOrigin')}/img${url.pathname}${url.search}`, request));
  }
  return fetch(request);
};

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Bytes that sniff as PNG and are unique per call (random), so no cache holds them yet. */
export function uniquePng(size = 200): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  crypto.getRandomValues(out);
  out.set(PNG_MAGIC);
  return out;
}

/**
 * Unique PNG bytes whose header declares `width` × `height` (an IHDR chunk, random data after it):
 * what a pixel bomb looks like to anything that reads headers without decoding.
 */
export function pngDeclaring(width: number, height: number, size = 200): Uint8Array<ArrayBuffer> {
  const out = uniquePng(size);
  const view = new DataView(out.buffer);
  view.setUint32(8, 13);
  out.set([0x49, 0x48, 0x44, 0x52], 12); // IHDR
  view.setUint32(16, width);
  view.setUint32(20, height);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export interface TestAppOptions {
  /** Overrides of the env (vars as strings), e.g. `{ BACKEND_URL: backendUrl(t, 'slow') }`. */
  env?: Partial<Record<keyof Env, unknown>>;
  deps?: AppDeps;
}

/** A fresh app (own breaker, LRU, model info) over the test env, with helpers to call it. */
export function testApp(baseEnv: Env, { env: overrides = {}, deps = {} }: TestAppOptions = {}) {
  const app = createApp({ fetch: routedFetch, ...deps });
  const env = { ...baseEnv, BACKEND_TOKEN: 'test-backend-token', ...overrides } as Env;
  /** Calls the app like the runtime does and waits for its deferred work (cache writes). */
  async function request(path: string, init: RequestInit = {}): Promise<Response> {
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`https://api.coyo-edge.test${path}`, init), env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }
  return { app, env, request };
}

/** `init` for a JSON POST with a bearer key. */
export function postJson(key: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** Asserts the RFC 9457 media type and returns the problem body. */
export async function problemOf(res: Response): Promise<ProblemBody> {
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('application/problem+json')) {
    throw new Error(`expected application/problem+json, got ${type} (${res.status}): ${await res.text()}`);
  }
  return res.json<ProblemBody>();
}

/** The ProblemError a promise rejects with; fails when it resolves or rejects with anything else. */
export async function rejectionProblem(promise: Promise<unknown>): Promise<ProblemError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ProblemError) return err;
    throw err;
  }
  throw new Error('expected a problem');
}
