import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Coyo } from './client.js';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  CoyoError,
  CoyoInputError,
  InternalServerError,
  InvalidResponseError,
  RateLimitError,
} from './errors.js';
import { decodeBase64Embedding } from './internal/image.js';
import { backoffMs } from './internal/request.js';
import { VERSION } from './version.js';

interface Call {
  url: URL;
  method: string;
  headers: Headers;
  body: BodyInit | null | undefined;
}

function problem(status: number, type: string, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ type, title: type, status, detail: `${type} happened`, request_id: 'req-1' }), {
    status,
    headers: { 'content-type': 'application/problem+json', 'x-request-id': 'req-1', ...extra },
  });
}

/** A fetch that records each call and answers from a script (the last entry repeats). */
function fakeFetch(responses: (() => Response | Promise<Response>)[]) {
  const calls: Call[] = [];
  const fn: typeof fetch = async (input, init) => {
    calls.push({ url: new URL(input instanceof Request ? input.url : input), method: init?.method ?? 'GET', headers: new Headers(init?.headers), body: init?.body });
    const next = responses[Math.min(calls.length - 1, responses.length - 1)];
    if (!next) throw new Error('no response scripted');
    return next();
  };
  return { fn, calls };
}

function text(body: BodyInit | null | undefined): string {
  if (typeof body !== 'string') throw new Error('expected a JSON string body');
  return body;
}

const ok = (body: unknown, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json', 'x-request-id': 'req-ok', ...headers } });

const client = (fetchFn: typeof fetch, options: ConstructorParameters<typeof Coyo>[0] = {}) =>
  new Coyo({ baseURL: 'http://edge.test/', apiKey: 'coyo_abc', fetch: fetchFn, ...options });

const PNG = new Uint8Array([137, 80, 78, 71]);
/** `Content-Digest` of {@link PNG}: its SHA-256 computed by node:crypto, base64. */
const PNG_DIGEST = `sha-256=:${createHash('sha256').update(PNG).digest('base64')}:`;

describe('requests', () => {
  it('sends one image of bytes as a binary body with the labels in the query', async () => {
    const f = fakeFetch([ok([{ label: 'cat', score: 0.9 }, { label: 'dog', score: 0.1 }])]);
    const result = await client(f.fn).zeroShot({ image: PNG, labels: ['cat', 'dog, wet'] });
    expect(result).toEqual([{ label: 'cat', score: 0.9 }, { label: 'dog', score: 0.1 }]);
    const call = f.calls[0];
    expect(call?.url.pathname).toBe('/v1/zero-shot');
    expect(call?.url.searchParams.get('labels')).toBe('["cat","dog, wet"]');
    expect(call?.headers.get('authorization')).toBe('Bearer coyo_abc');
    expect(call?.headers.get('content-type')).toBe('application/octet-stream');
    expect(call?.headers.get('x-coyo-client')).toBe(`coyo-sdk/${VERSION}`);
    expect(call?.body).toEqual(PNG);
  });

  it('keeps a Blob type and reads a Node stream', async () => {
    const f = fakeFetch([ok([])]);
    await client(f.fn).classify({ image: new Blob([PNG], { type: 'image/png' }), top_k: 3 });
    expect(f.calls[0]?.headers.get('content-type')).toBe('image/png');
    expect(f.calls[0]?.url.searchParams.get('top_k')).toBe('3');
    await client(f.fn).classify({ image: Readable.from([Buffer.from([1, 2]), Buffer.from([3])]) });
    expect(f.calls[1]?.body).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('sends several images of bytes as multipart parts', async () => {
    const f = fakeFetch([ok([[], []])]);
    await client(f.fn).zeroShot({ images: [PNG, new ArrayBuffer(3)], labels: ['cat'] });
    const form = f.calls[0]?.body;
    expect(form).toBeInstanceOf(FormData);
    if (!(form instanceof FormData)) return;
    expect(form.getAll('image')).toHaveLength(2);
    expect(form.get('labels')).toBe('["cat"]');
  });

  it('sends a batch of one image as JSON, so the answer stays a list of lists', async () => {
    const f = fakeFetch([ok([[]])]);
    await client(f.fn).zeroShot({ images: [PNG], labels: ['cat'] });
    expect(JSON.parse(text(f.calls[0]?.body))).toEqual({ labels: ['cat'], images: [{ base64: 'iVBORw==' }] });
  });

  it('sends URLs (string, URL object, data:) as JSON for the edge to fetch or decode', async () => {
    const f = fakeFetch([ok([[], [], []])]);
    await client(f.fn).zeroShot({ images: ['https://a.test/cat.jpg', new URL('http://b.test/d.png'), 'data:image/png;base64,iVBO'], labels: ['cat'] });
    expect(f.calls[0]?.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(text(f.calls[0]?.body))).toEqual({
      labels: ['cat'],
      images: [{ url: 'https://a.test/cat.jpg' }, { url: 'http://b.test/d.png' }, { url: 'data:image/png;base64,iVBO' }],
    });
  });

  it('mixes bytes with URLs as base64 JSON', async () => {
    const f = fakeFetch([ok({ data: [] })]);
    await client(f.fn).embeddings.create({ texts: ['a cat'], images: [PNG, 'https://a.test/x.jpg'] });
    expect(JSON.parse(text(f.calls[0]?.body))).toEqual({ texts: ['a cat'], images: [{ base64: 'iVBORw==' }, { url: 'https://a.test/x.jpg' }] });
  });

  it('sends embeddings of image bytes as multipart: text fields then image parts, in order, options as fields', async () => {
    const f = fakeFetch([ok({ data: [] })]);
    await client(f.fn).embeddings.create({
      texts: ['a cat', 'a dog'],
      images: [new Blob([PNG], { type: 'image/png' }), new ArrayBuffer(3), Readable.from([Buffer.from([9])])],
      normalize: false,
      encoding_format: 'base64',
    });
    const call = f.calls[0];
    expect(call?.url.pathname).toBe('/v1/embeddings');
    expect(call?.headers.get('content-type')).toBeNull();
    const form = call?.body;
    if (!(form instanceof FormData)) throw new Error('expected a multipart body');
    expect(form.getAll('text')).toEqual(['a cat', 'a dog']);
    expect(form.get('normalize')).toBe('false');
    expect(form.get('encoding_format')).toBe('base64');
    expect([...form.keys()].filter((k) => !['text', 'image', 'normalize', 'encoding_format'].includes(k))).toEqual([]);
    const parts = form.getAll('image').map((part) => (part instanceof Blob ? part : new Blob([part])));
    expect(parts.map((p) => p.type)).toEqual(['image/png', 'application/octet-stream', 'application/octet-stream']);
    expect(await Promise.all(parts.map(async (p) => [...new Uint8Array(await p.arrayBuffer())]))).toEqual([[...PNG], [0, 0, 0], [9]]);
  });

  it('sends one image of bytes and no texts for embeddings as the raw body, options in the query, with its digest', async () => {
    const f = fakeFetch([ok({ data: [] })]);
    await client(f.fn).embeddings.create({ images: [new Blob([PNG], { type: 'image/png' })], normalize: false, encoding_format: 'base64' });
    const call = f.calls[0];
    expect(call?.url.pathname).toBe('/v1/embeddings');
    expect(Object.fromEntries(call?.url.searchParams ?? [])).toEqual({ normalize: 'false', encoding_format: 'base64' });
    expect(call?.headers.get('content-type')).toBe('image/png');
    expect(call?.headers.get('content-digest')).toBe(PNG_DIGEST);
    expect(call?.body).toEqual(PNG);
  });

  it('sends one image of bytes beside texts for embeddings as multipart', async () => {
    const f = fakeFetch([ok({ data: [] })]);
    await client(f.fn).embeddings.create({ texts: ['a cat'], images: [PNG] });
    const form = f.calls[0]?.body;
    if (!(form instanceof FormData)) throw new Error('expected a multipart body');
    expect(form.getAll('image')).toHaveLength(1);
    expect(f.calls[0]?.headers.get('content-digest')).toBeNull();
  });

  it('sends the SHA-256 of every raw image body as Content-Digest (RFC 9530)', async () => {
    const f = fakeFetch([ok([]), ok([])]);
    await client(f.fn).zeroShot({ image: PNG, labels: ['cat'] });
    await client(f.fn).classify({ image: Readable.from([Buffer.from(PNG)]) });
    expect(f.calls.map((c) => c.headers.get('content-digest'))).toEqual([PNG_DIGEST, PNG_DIGEST]);
  });

  it('sends no Content-Digest where the runtime has no crypto.subtle', async () => {
    vi.stubGlobal('crypto', undefined);
    try {
      const f = fakeFetch([ok([])]);
      await client(f.fn).zeroShot({ image: PNG, labels: ['cat'] });
      expect(f.calls[0]?.headers.get('content-digest')).toBeNull();
      expect(f.calls[0]?.body).toEqual(PNG);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('sends texts-only embeddings and base64-string images as JSON', async () => {
    const f = fakeFetch([ok({ data: [] })]);
    await client(f.fn).embeddings.create({ texts: ['only text'], normalize: true });
    expect(JSON.parse(text(f.calls[0]?.body))).toEqual({ texts: ['only text'], normalize: true });
    await client(f.fn).embeddings.create({ images: [{ base64: 'iVBORw==' }] });
    expect(JSON.parse(text(f.calls[1]?.body))).toEqual({ images: [{ base64: 'iVBORw==' }] });
  });

  it('sends similarity of image bytes as multipart and of URLs as JSON', async () => {
    const f = fakeFetch([ok({ cosine: [], logits: [], temperature: 1, model: 'align-base' })]);
    const coyo = client(f.fn);
    await coyo.similarity({ images: [PNG, new Uint8Array([1, 2])], texts: ['a cat', 'a dog'] });
    const form = f.calls[0]?.body;
    if (!(form instanceof FormData)) throw new Error('expected a multipart body');
    expect(f.calls[0]?.url.pathname).toBe('/v1/similarity');
    expect(form.getAll('image')).toHaveLength(2);
    expect(form.getAll('text')).toEqual(['a cat', 'a dog']);
    await coyo.similarity({ images: ['https://a.test/x.jpg'], texts: ['a cat'] });
    expect(JSON.parse(text(f.calls[1]?.body))).toEqual({ images: [{ url: 'https://a.test/x.jpg' }], texts: ['a cat'] });
  });

  it('refuses a string that is not a URL with CoyoInputError before sending', async () => {
    const f = fakeFetch([ok([])]);
    const error: unknown = await client(f.fn).zeroShot({ image: 'cat.jpg', labels: ['cat'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoyoInputError);
    expect(String(error)).toMatch(/fileFromPath/);
    expect(f.calls).toHaveLength(0);
  });

  it('passes columns as a comma-separated query and in the batch body', async () => {
    const f = fakeFetch([ok({ version: 'v', row: { url: 'u' } }), ok({ version: 'v', rows: [null] })]);
    const coyo = client(f.fn);
    await coyo.coyo.retrieve(7, { columns: ['url', 'text'] });
    expect(f.calls[0]?.url.toString()).toBe('http://edge.test/v1/coyo/7?columns=url%2Ctext');
    const batch = await coyo.coyo.batch([8], { columns: ['url'] });
    expect(batch.rows[0]).toBeNull();
    expect(JSON.parse(text(f.calls[1]?.body))).toEqual({ ids: [8], columns: ['url'] });
  });

  it('sends per-call headers and refuses a bad id as input', async () => {
    const f = fakeFetch([ok({ data: [] })]);
    await client(f.fn).models.list({ headers: { 'x-request-id': 'mine' } });
    expect(f.calls[0]?.headers.get('x-request-id')).toBe('mine');
    await expect(client(f.fn).coyo.retrieve(-1)).rejects.toBeInstanceOf(CoyoInputError);
  });
});

describe('results', () => {
  it('carries the request id, not enumerable, and exposes the raw response', async () => {
    const f = fakeFetch([ok({ data: [] }, { 'x-request-id': 'r-42' })]);
    const coyo = client(f.fn);
    const list = await coyo.models.list();
    expect(list.requestId).toBe('r-42');
    expect(JSON.stringify(list)).toBe('{"data":[]}');
    const { data, response, requestId } = await coyo.models.list().withResponse();
    expect(data).toEqual({ data: [] });
    expect(response.status).toBe(200);
    expect(requestId).toBe('r-42');
    const raw = await coyo.models.list().asResponse();
    expect(await raw.json()).toEqual({ data: [] });
  });

  it('turns an empty or non-JSON 200 into InvalidResponseError', async () => {
    const empty = fakeFetch([() => new Response('', { status: 200 })]);
    await expect(client(empty.fn).models.list()).rejects.toBeInstanceOf(InvalidResponseError);
    const html = fakeFetch([() => new Response('<html>proxy</html>', { status: 200, headers: { 'content-type': 'text/html' } })]);
    const error: unknown = await client(html.fn).models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(String(error)).toMatch(/not JSON \(text\/html\)/);
  });
});

describe('pagination', () => {
  it('iterates filter items across pages, following cursors', async () => {
    const f = fakeFetch([ok({ rows: [{ id: 1 }, { id: 2 }], next_cursor: 'c1' }), ok({ rows: [{ id: 3 }], next_cursor: null })]);
    const ids: (number | undefined)[] = [];
    for await (const row of client(f.fn).coyo.filter({ min_width: 10, limit: 2 })) ids.push(row.id);
    expect(ids).toEqual([1, 2, 3]);
    expect(f.calls[1]?.url.searchParams.get('cursor')).toBe('c1');
    expect(f.calls[1]?.url.searchParams.get('min_width')).toBe('10');
  });

  it('awaits one filter page and yields pages with .pages()', async () => {
    const f = fakeFetch([ok({ rows: [{ id: 1 }], next_cursor: 'c1' }), ok({ rows: [], next_cursor: null })]);
    const first = await client(f.fn).coyo.filter({});
    expect(first.next_cursor).toBe('c1');
    const g = fakeFetch([ok({ rows: [{ id: 1 }], next_cursor: 'c1' }), ok({ rows: [], next_cursor: null })]);
    let pages = 0;
    for await (const page of client(g.fn).coyo.filter({}).pages()) pages += page.rows.length >= 0 ? 1 : 0;
    expect(pages).toBe(2);
  });

  it('iterates rows by offset and stops at the total', async () => {
    const page = (offset: number, n: number) => ok({ version: 'v', offset, length: 2, num_rows_total: 3, rows: Array.from({ length: n }, (_, i) => ({ row_idx: offset + i, row: {} })) });
    const f = fakeFetch([page(0, 2), page(2, 1)]);
    const seen: number[] = [];
    for await (const item of client(f.fn).coyo.rows({ length: 2 })) seen.push(item.row_idx);
    expect(seen).toEqual([0, 1, 2]);
    expect(f.calls).toHaveLength(2);
    expect(f.calls[1]?.url.searchParams.get('offset')).toBe('2');
  });
});

describe('errors and retries', () => {
  it('retries a 503 and honours a short Retry-After', async () => {
    const f = fakeFetch([() => problem(503, 'backend_unavailable', { 'retry-after': '0' }), ok({ data: [] })]);
    await client(f.fn).models.list();
    expect(f.calls).toHaveLength(2);
    expect(f.calls[1]?.headers.get('x-retry-count')).toBe('1');
  });

  it('throws at once with retryAfter set when Retry-After exceeds maxRetryAfter', async () => {
    const f = fakeFetch([() => problem(429, 'rate_limited', { 'retry-after': '47' })]);
    const started = Date.now();
    const error: unknown = await client(f.fn).models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ retryAfter: 47, requestId: 'req-1' });
    expect(f.calls).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('stops a Retry-After wait when the caller aborts', async () => {
    const f = fakeFetch([() => problem(503, 'busy', { 'retry-after': '4' })]);
    const controller = new AbortController();
    setTimeout(() => { controller.abort(); }, 50);
    const started = Date.now();
    await expect(client(f.fn).models.list({ signal: controller.signal })).rejects.toBeInstanceOf(APIUserAbortError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('does not retry a 400 and throws BadRequestError with the request id', async () => {
    const f = fakeFetch([() => problem(400, 'validation_failed')]);
    const error: unknown = await client(f.fn).zeroShot({ image: 'https://x.test/a.jpg', labels: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, requestId: 'req-1', type: 'validation_failed' });
    expect(f.calls).toHaveLength(1);
  });

  it('maps 401, 429 and 5xx to their classes, with per-call maxRetries', async () => {
    await expect(client(fakeFetch([() => problem(401, 'unauthorized')]).fn).models.list()).rejects.toBeInstanceOf(AuthenticationError);
    const f429 = fakeFetch([() => problem(429, 'rate_limited', { 'retry-after': '0' })]);
    await expect(client(f429.fn).models.list({ maxRetries: 1 })).rejects.toBeInstanceOf(RateLimitError);
    expect(f429.calls).toHaveLength(2);
    const f500 = fakeFetch([() => problem(500, 'internal')]);
    await expect(client(f500.fn, { maxRetries: 0 }).models.list()).rejects.toBeInstanceOf(InternalServerError);
  });

  it('wraps network failures in APIConnectionError after retrying', async () => {
    let attempts = 0;
    const failing: typeof fetch = () => {
      attempts++;
      return Promise.reject(new TypeError('fetch failed'));
    };
    const error: unknown = await client(failing, { maxRetries: 1 }).models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(attempts).toBe(2);
  });

  it('times out a fetch that never answers, per call', async () => {
    const hanging: typeof fetch = (_input, init) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => { reject(new DOMException('aborted', 'AbortError')); }));
    await expect(client(hanging, { maxRetries: 0 }).models.list({ timeout: 20 })).rejects.toBeInstanceOf(APIConnectionTimeoutError);
  });

  it('backs off exponentially from 0.5 s to at most 8 s', () => {
    expect(backoffMs(0, () => 0)).toBe(500);
    expect(backoffMs(3, () => 0)).toBe(4000);
    expect(backoffMs(10, () => 0)).toBe(8000);
    expect(backoffMs(10, () => 1)).toBe(6000);
  });
});

describe('a server that sends headers, then nothing', () => {
  let server: Server;
  let baseURL: string;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":');
      // …and never ends the body.
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseURL = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('times out while the body stalls', async () => {
    const coyo = new Coyo({ baseURL, apiKey: 'k', timeout: 300, maxRetries: 0 });
    const started = Date.now();
    await expect(coyo.models.list()).rejects.toBeInstanceOf(APIConnectionTimeoutError);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('stops reading the stalled body when the caller aborts', async () => {
    const coyo = new Coyo({ baseURL, apiKey: 'k', maxRetries: 0 });
    const controller = new AbortController();
    setTimeout(() => { controller.abort(); }, 200);
    const error: unknown = await coyo.models.list({ signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIUserAbortError);
    expect(error).toBeInstanceOf(CoyoError);
  });
});

describe('environments', () => {
  it('refuses an API key in a browser unless dangerouslyAllowBrowser', () => {
    const g: Record<string, unknown> = globalThis;
    g.window = {};
    g.document = {};
    try {
      expect(() => new Coyo({ baseURL: 'http://e.test', apiKey: 'coyo_x' })).toThrow(CoyoInputError);
      expect(() => new Coyo({ baseURL: 'http://e.test', apiKey: 'coyo_x', dangerouslyAllowBrowser: true })).not.toThrow();
    } finally {
      delete g.window;
      delete g.document;
    }
  });

  it('names headers a CORS preflight would refuse when a browser fetch fails', async () => {
    const g: Record<string, unknown> = globalThis;
    g.window = {};
    g.document = {};
    try {
      const failing: typeof fetch = () => Promise.reject(new TypeError('Failed to fetch'));
      const coyo = new Coyo({ baseURL: 'http://e.test', fetch: failing, maxRetries: 0, defaultHeaders: { 'x-tenant': 't1' } });
      await expect(coyo.models.list()).rejects.toThrow(/x-tenant/);
    } finally {
      delete g.window;
      delete g.document;
    }
  });

  it('requires a baseURL and keeps VERSION equal to package.json', () => {
    expect(() => new Coyo({ baseURL: '' })).toThrow(CoyoInputError);
    const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg).toMatchObject({ version: VERSION });
  });
});

describe('decodeBase64Embedding', () => {
  it('reads little-endian float32', () => {
    const bytes = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    const b64 = btoa(String.fromCharCode(...bytes));
    expect(Array.from(decodeBase64Embedding(b64))).toEqual([1.5, -2]);
  });
});
