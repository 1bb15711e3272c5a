import { describe, expect, it } from 'vitest';
import { Coyo } from './client.js';
import { APIConnectionError, APIConnectionTimeoutError, AuthenticationError, BadRequestError, RateLimitError, InternalServerError } from './errors.js';
import { retryDelayMs } from './internal/retry.js';
import { decodeBase64Embedding } from './internal/image.js';

type Call = { url: string; method: string; headers: Headers; body: string };

function problem(status: number, type: string, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ type, title: type, status, detail: `${type} happened`, request_id: 'req-1' }), {
    status,
    headers: { 'content-type': 'application/problem+json', 'x-request-id': 'req-1', ...extra },
  });
}

function fakeFetch(responses: (() => Response | Promise<Response>)[]) {
  const calls: Call[] = [];
  const fn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const body = init?.body instanceof ArrayBuffer ? new TextDecoder().decode(init.body) : String(init?.body ?? '');
    calls.push({ url: String(input), method: init?.method ?? 'GET', headers: new Headers(init?.headers), body });
    const next = responses[Math.min(calls.length - 1, responses.length - 1)];
    if (!next) throw new Error('no response scripted');
    return next();
  }) as typeof fetch;
  return { fn, calls };
}

const ok = (body: unknown) => () => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

describe('Coyo client', () => {
  it('sends the API key as a bearer token and the image as JSON base64', async () => {
    const f = fakeFetch([ok([{ label: 'cat', score: 0.9 }, { label: 'dog', score: 0.1 }])]);
    const client = new Coyo({ baseURL: 'http://edge.test/', apiKey: 'coyo_abc', fetch: f.fn });
    const result = await client.zeroShot({ image: new Uint8Array([137, 80, 78, 71]), labels: ['cat', 'dog'] });
    expect(result).toEqual([{ label: 'cat', score: 0.9 }, { label: 'dog', score: 0.1 }]);
    expect(f.calls[0]?.url).toBe('http://edge.test/v1/zero-shot');
    expect(f.calls[0]?.headers.get('authorization')).toBe('Bearer coyo_abc');
    expect(JSON.parse(f.calls[0]!.body)).toEqual({ image: { base64: 'iVBORw==' }, labels: ['cat', 'dog'] });
  });

  it('retries a 503 and honours Retry-After', async () => {
    const f = fakeFetch([() => problem(503, 'backend_unavailable', { 'retry-after': '0' }), ok({ data: [] })]);
    const client = new Coyo({ baseURL: 'http://edge.test', apiKey: 'k', fetch: f.fn });
    await client.models.list();
    expect(f.calls).toHaveLength(2);
    expect(f.calls[1]?.headers.get('x-retry-count')).toBe('1');
  });

  it('does not retry a 400 and throws BadRequestError with the request id', async () => {
    const f = fakeFetch([() => problem(400, 'validation_failed')]);
    const client = new Coyo({ baseURL: 'http://edge.test', apiKey: 'k', fetch: f.fn });
    const error = await client.zeroShot({ image: { url: 'https://x.test/a.jpg' }, labels: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, requestId: 'req-1', type: 'validation_failed' });
    expect(f.calls).toHaveLength(1);
  });

  it('maps 401, 429 and 5xx to their error classes after retries run out', async () => {
    const client401 = new Coyo({ baseURL: 'http://e.test', apiKey: 'k', fetch: fakeFetch([() => problem(401, 'unauthorized')]).fn });
    await expect(client401.models.list()).rejects.toBeInstanceOf(AuthenticationError);
    const f429 = fakeFetch([() => problem(429, 'rate_limited', { 'retry-after': '0' })]);
    const client429 = new Coyo({ baseURL: 'http://e.test', apiKey: 'k', maxRetries: 1, fetch: f429.fn });
    await expect(client429.models.list()).rejects.toBeInstanceOf(RateLimitError);
    expect(f429.calls).toHaveLength(2);
    const f500 = fakeFetch([() => problem(500, 'internal', { 'retry-after': '0' })]);
    const client500 = new Coyo({ baseURL: 'http://e.test', apiKey: 'k', maxRetries: 0, fetch: f500.fn });
    await expect(client500.models.list()).rejects.toBeInstanceOf(InternalServerError);
  });

  it('wraps network failures in APIConnectionError after retrying', async () => {
    let attempts = 0;
    const failing = (async () => {
      attempts++;
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    const client = new Coyo({ baseURL: 'http://e.test', apiKey: 'k', maxRetries: 1, fetch: failing });
    const error = await client.models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(attempts).toBe(2);
  });

  it('gives up after the timeout with APIConnectionTimeoutError', async () => {
    const hanging = ((_: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))))) as typeof fetch;
    const client = new Coyo({ baseURL: 'http://e.test', apiKey: 'k', timeout: 20, maxRetries: 0, fetch: hanging });
    await expect(client.models.list()).rejects.toBeInstanceOf(APIConnectionTimeoutError);
  });

  it('follows filter cursors until the scan is complete', async () => {
    const f = fakeFetch([ok({ rows: [{ id: 1 }], next_cursor: 'c1' }), ok({ rows: [{ id: 2 }], next_cursor: null })]);
    const client = new Coyo({ baseURL: 'http://e.test', apiKey: 'k', fetch: f.fn });
    const pages = [];
    for await (const page of client.coyo.filterPages({ limit: 1 } as never)) pages.push(page);
    expect(pages).toHaveLength(2);
    expect(f.calls[1]?.url).toContain('cursor=c1');
  });
});

describe('retryDelayMs', () => {
  it('uses Retry-After seconds when given', () => {
    expect(retryDelayMs(0, new Headers({ 'retry-after': '3' }), () => 0)).toBe(3000);
  });
  it('backs off exponentially from 0.5 s to at most 8 s', () => {
    expect(retryDelayMs(0, undefined, () => 0)).toBe(500);
    expect(retryDelayMs(3, undefined, () => 0)).toBe(4000);
    expect(retryDelayMs(10, undefined, () => 0)).toBe(8000);
    expect(retryDelayMs(10, undefined, () => 1)).toBe(6000);
  });
});

describe('decodeBase64Embedding', () => {
  it('reads little-endian float32', () => {
    const bytes = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const b64 = btoa(String.fromCharCode(...bytes));
    expect(Array.from(decodeBase64Embedding(b64))).toEqual([1.5, -2]);
  });
});
