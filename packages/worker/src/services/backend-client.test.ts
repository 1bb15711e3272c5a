import { describe, expect, it } from 'vitest';
import { backendCalls, backendStats, backendUrl, uniquePng, rejectionProblem, setBackendDown } from '../../test/helpers';
import { FAKE_DIM, fakeImageEmbedding, fakeTextEmbedding } from '../../test/fake-embeddings';
import { inject } from 'vitest';
import {
  BINARY_HEADERS,
  EMBEDDINGS_BINARY_CONTENT_TYPE,
  HEADERS,
  PROBLEM_CONTENT_TYPE,
  encodeBinaryEmbeddings,
  problemAnswer,
  type EmbedImageAnswer,
} from '@coyo/backend-protocol';
import { BackendClient, parseRetryAfter, type BackendClientOptions } from './backend-client';
import { CircuitBreaker } from './circuit-breaker';

const TOKEN = 'test-backend-token';

function client(baseUrl: string, options: Partial<BackendClientOptions> = {}) {
  const sleeps: number[] = [];
  const breaker = options.breaker ?? new CircuitBreaker({ failureThreshold: 100 });
  const c = new BackendClient({
    baseUrl,
    token: TOKEN,
    fetch: (input, init) => fetch(input, init),
    breaker,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { client: c, sleeps, breaker };
}

function ctx(deadlineMs = 5000) {
  return { requestId: `req-${crypto.randomUUID()}`, deadline: Date.now() + deadlineMs };
}

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon', 0)).toBeNull();
    expect(parseRetryAfter(null, 0)).toBeNull();
  });
});

describe('BackendClient', () => {
  it('sends images as binary, with the token, request id and time left', async () => {
    const tenant = crypto.randomUUID();
    const { client: c } = client(backendUrl(tenant));
    const png = uniquePng();
    const call = ctx(4000);
    const result = await c.embedImages([{ bytes: png, type: 'image/png' }], call);
    expect(result.dim).toBe(FAKE_DIM);
    expect(Array.from(result.vectors[0] ?? [])).toEqual(await fakeImageEmbedding(png));
    const stats = await backendStats(tenant);
    expect(stats.requestIds).toEqual([call.requestId]);
    expect(stats.deadlines[0]).toBeGreaterThan(0);
    expect(stats.deadlines[0]).toBeLessThanOrEqual(4000);
  });

  it('sends several images as multipart parts, answered in order', async () => {
    const tenant = crypto.randomUUID();
    const { client: c } = client(backendUrl(tenant));
    const a = uniquePng();
    const b = uniquePng();
    const result = await c.embedImages(
      [
        { bytes: a, type: 'image/png' },
        { bytes: b, type: 'image/png' },
      ],
      ctx(),
    );
    expect(Array.from(result.vectors[1] ?? [])).toEqual(await fakeImageEmbedding(b));
    expect((await backendStats(tenant)).images).toBe(2);
  });

  it('embeds texts and returns token counts', async () => {
    const { client: c } = client(backendUrl(crypto.randomUUID()));
    const result = await c.embedTexts(['a photo of a cat', 'dog'], ctx());
    expect(result.tokens).toEqual([7, 3]);
    expect(Array.from(result.vectors[0] ?? [])).toEqual(await fakeTextEmbedding('a photo of a cat'));
  });

  it('retries a 503 and succeeds on the next attempt', async () => {
    const tenant = crypto.randomUUID();
    const { client: c, sleeps } = client(backendUrl(tenant, 'flaky'));
    const info = await c.models(ctx());
    expect(info.models.length).toBeGreaterThan(0);
    expect(await backendCalls(tenant, '/v1/models')).toBe(2);
    expect(sleeps).toHaveLength(1);
  });

  it('gives up after two retries of a backend that stays overloaded', async () => {
    const tenant = crypto.randomUUID();
    const { client: c, sleeps } = client(backendUrl(tenant, 'overloaded'));
    const err = await rejectionProblem(c.models(ctx()));
    expect(err.slug).toBe('backend_unavailable');
    expect(err.status).toBe(503);
    expect(err.headers['retry-after']).toBe('1');
    expect(await backendCalls(tenant, '/v1/models')).toBe(3);
    // Full jitter: random() × min(cap, base × 2^attempt) with random = 0.5 and base 100 ms.
    expect(sleeps).toEqual([50, 100]);
  });

  it('waits at least what Retry-After asks', async () => {
    const tenant = crypto.randomUUID();
    const { client: c, sleeps } = client(backendUrl(tenant, 'flaky'), { backoffBaseMs: 1 });
    await c.models(ctx());
    // The fake says Retry-After: 0, so the jittered back-off (0.5 ms) decides.
    expect(sleeps).toEqual([0.5]);
  });

  it('retries connect errors, then answers backend_unavailable', async () => {
    const { client: c, sleeps } = client(inject('deadOrigin'));
    const err = await rejectionProblem(c.models(ctx()));
    expect(err.slug).toBe('backend_unavailable');
    expect(err.message).toMatch(/cannot reach/);
    expect(sleeps).toHaveLength(2);
  });

  it('does not retry a 500', async () => {
    const tenant = crypto.randomUUID();
    const { client: c } = client(backendUrl(tenant, 'error'));
    const err = await rejectionProblem(c.models(ctx()));
    expect(err.status).toBe(503);
    expect(await backendCalls(tenant, '/v1/models')).toBe(1);
  });

  it('answers backend_timeout when the backend is slower than the deadline', async () => {
    const { client: c } = client(backendUrl(crypto.randomUUID(), 'slow'));
    const started = Date.now();
    const err = await rejectionProblem(c.models(ctx(300)));
    expect(err.slug).toBe('backend_timeout');
    expect(err.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('answers backend_error when the backend breaks the protocol', async () => {
    const { client: c } = client(backendUrl(crypto.randomUUID(), 'badjson'));
    const err = await rejectionProblem(c.embedTexts(['x'], ctx()));
    expect(err.slug).toBe('backend_error');
    expect(err.status).toBe(502);
  });

  it('passes on the detail of a problem the backend built from the protocol', async () => {
    const answer = new Response(JSON.stringify(problemAnswer('invalid_image', 'the JPEG is truncated', 'r1')), {
      status: 422,
      headers: { 'content-type': PROBLEM_CONTENT_TYPE },
    });
    const { client: c } = client('http://backend.test', { fetch: () => Promise.resolve(answer) });
    const err = await rejectionProblem(c.embedImages([{ bytes: uniquePng(), type: 'image/png' }], ctx()));
    expect(err.slug).toBe('invalid_image');
    expect(err.message).toBe('the JPEG is truncated');
  });

  it.each([
    ['image_too_large', 413, 'image_too_large'],
    ['payload_too_large', 413, 'payload_too_large'],
    ['unsupported_media_type', 415, 'unsupported_media_type'],
    ['digest_mismatch', 400, 'digest_mismatch'],
    ['invalid_request', 400, 'backend_error'],
  ] as const)('maps the backend problem %s of a streamed body to the edge problem the buffered path gives', async (type, status, slug) => {
    const answer = new Response(JSON.stringify(problemAnswer(type, 'refused', 'r1')), { status, headers: { 'content-type': PROBLEM_CONTENT_TYPE } });
    const { client: c } = client('http://backend.test', { fetch: () => Promise.resolve(answer) });
    const image = { sha256: 'a'.repeat(64), contentType: 'image/png', takeStream: () => new Blob([uniquePng()]).stream() };
    const err = await rejectionProblem(c.classifyStream(image, 5, ctx()));
    expect(err.slug).toBe(slug);
  });

  it('sends a streamed body once and confirms the digest only from the answer header', async () => {
    const seen: Headers[] = [];
    const respond = (verified: string | null) => () => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (verified !== null) headers[HEADERS.verifiedSha256] = verified;
      return Promise.resolve(new Response(JSON.stringify({ model: 'vit', predictions: [[{ label: 'a', score: 1, index: 0 }]] }), { headers }));
    };
    let taken = 0;
    const image = {
      sha256: 'b'.repeat(64),
      contentType: 'image/png',
      takeStream: () => {
        taken += 1;
        return new Blob([uniquePng()]).stream();
      },
    };
    for (const [verified, expected] of [['b'.repeat(64), 'b'.repeat(64)], [null, null], ['not hex', null]] as const) {
      const { client: c } = client('http://backend.test', {
        fetch: (_input, init) => {
          seen.push(new Headers(init?.headers));
          return respond(verified)();
        },
      });
      expect((await c.classifyStream(image, 5, ctx())).verifiedSha256).toBe(expected);
    }
    expect(taken).toBe(3);
    expect(seen.map((h) => h.get(HEADERS.contentDigest))).toEqual(Array(3).fill(`sha-256=:${btoa(String.fromCharCode(...Array(32).fill(0xbb)))}:`));
  });

  it('answers backend_error when an answer parses but its vectors do not have the declared dim', async () => {
    const body: EmbedImageAnswer = { model: 'align-base', revision: '0123456789abcdef', dim: 3, embeddings: [[1, 2]] };
    const { client: c } = client('http://backend.test', { fetch: () => Promise.resolve(Response.json(body)) });
    const err = await rejectionProblem(c.embedImages([{ bytes: uniquePng(), type: 'image/png' }], ctx()));
    expect(err.slug).toBe('backend_error');
  });

  describe('binary embeddings', () => {
    const rows = [new Float32Array([1, -2.5, Math.PI, 1e-30]), new Float32Array([3.4e38, -0, 0.1, -7])];
    /** A backend that answers every call with `rows` as float32 bytes, recording the Accept it was sent. */
    function binaryBackend(extra: Record<string, string> = {}, body: Uint8Array = encodeBinaryEmbeddings(rows, 4)) {
      const accepts: (string | null)[] = [];
      const fetchBinary: typeof fetch = (_input, init) => {
        accepts.push(new Headers(init?.headers).get('accept'));
        return Promise.resolve(
          new Response(body, {
            headers: {
              'content-type': EMBEDDINGS_BINARY_CONTENT_TYPE,
              [BINARY_HEADERS.model]: 'align-base',
              [HEADERS.modelRevision]: '0123456789abcdef',
              [BINARY_HEADERS.dim]: '4',
              [BINARY_HEADERS.count]: '2',
              ...extra,
            },
          }),
        );
      };
      return { accepts, fetch: fetchBinary };
    }
    const twoImages = () => [
      { bytes: uniquePng(), type: 'image/png' as const },
      { bytes: uniquePng(), type: 'image/png' as const },
    ];

    it('asks for float32 rows first and reads them bit for bit', async () => {
      const backend = binaryBackend();
      const { client: c } = client('http://backend.test', { fetch: backend.fetch });
      const result = await c.embedImages(twoImages(), ctx());
      expect(backend.accepts[0]).toMatch(/^application\/octet-stream, application\/json;q=0\.5$/);
      expect(result).toMatchObject({ model: 'align-base', revision: '0123456789abcdef', dim: 4 });
      expect(result.vectors.map((v) => Array.from(v))).toEqual(rows.map((v) => Array.from(v)));
    });

    it('reads the token counts of a binary text answer from its header', async () => {
      const backend = binaryBackend({ [BINARY_HEADERS.tokens]: '3,5' });
      const { client: c } = client('http://backend.test', { fetch: backend.fetch });
      const result = await c.embedTexts(['a cat', 'a photo of a dog'], ctx());
      expect(result.tokens).toEqual([3, 5]);
      expect(Array.from(result.vectors[1] ?? [])).toEqual(Array.from(rows[1] ?? []));
    });

    it('answers backend_error for a binary text answer without token counts', async () => {
      const { client: c } = client('http://backend.test', { fetch: binaryBackend().fetch });
      expect((await rejectionProblem(c.embedTexts(['a', 'b'], ctx()))).slug).toBe('backend_error');
    });

    it('answers backend_error when a binary answer holds other rows than were asked for', async () => {
      const short = client('http://backend.test', { fetch: binaryBackend({}, encodeBinaryEmbeddings(rows, 4).subarray(4)).fetch });
      expect((await rejectionProblem(short.client.embedImages(twoImages(), ctx()))).slug).toBe('backend_error');
      const other = client('http://backend.test', { fetch: binaryBackend().fetch });
      expect((await rejectionProblem(other.client.embedImages([{ bytes: uniquePng(), type: 'image/png' }], ctx()))).slug).toBe('backend_error');
    });

    it('answers backend_error when a call that defines only JSON gets binary', async () => {
      const { client: c } = client('http://backend.test', { fetch: binaryBackend().fetch });
      expect((await rejectionProblem(c.models(ctx()))).slug).toBe('backend_error');
    });
  });

  it('answers backend_error when the backend refuses the token', async () => {
    const { client: c } = client(backendUrl(crypto.randomUUID()), { token: 'wrong' });
    const err = await rejectionProblem(c.models(ctx()));
    expect(err.slug).toBe('backend_error');
  });

  it('stops calling a failing backend once the circuit opens', async () => {
    const tenant = crypto.randomUUID();
    const breaker = new CircuitBreaker({ failureThreshold: 2, probeMinMs: 60_000, probeMaxMs: 60_000 });
    const { client: c } = client(backendUrl(tenant, 'error'), { breaker });
    await rejectionProblem(c.models(ctx()));
    await rejectionProblem(c.models(ctx()));
    const err = await rejectionProblem(c.models(ctx()));
    expect(err.slug).toBe('backend_unavailable');
    expect(err.message).toMatch(/circuit open/);
    expect(err.headers['retry-after']).toBe('60');
    expect(await backendCalls(tenant, '/v1/models')).toBe(2);
  });

  it('closes the circuit when the half-open probe succeeds', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1, probeMinMs: 1000, probeMaxMs: 1000, now: () => now });
    breaker.onFailure();
    const { client: c } = client(backendUrl(crypto.randomUUID()), { breaker });
    expect((await rejectionProblem(c.models(ctx()))).message).toMatch(/circuit open/);
    now = 1000;
    await c.models(ctx());
    expect(breaker.state).toBe('closed');
  });

  it('asks the backend /readyz and reads only a 2xx as ready', async () => {
    const tenant = crypto.randomUUID();
    const { client: c } = client(backendUrl(tenant));
    expect(await c.ready(1000)).toBe(true);
    await setBackendDown(tenant, true);
    expect(await c.ready(1000)).toBe(false);
    await setBackendDown(tenant, false);
    expect(await c.ready(1000)).toBe(true);
    const { client: stalled } = client(backendUrl(crypto.randomUUID(), 'slow'));
    expect(await stalled.ready(100)).toBe(false);
  });

  it('reports health without retries, within its timeout', async () => {
    const { client: up } = client(backendUrl(crypto.randomUUID()));
    expect((await up.health('h', 1000)).status).toBe('ok');
    const { client: slow } = client(backendUrl(crypto.randomUUID(), 'slow'));
    const health = await slow.health('h', 200);
    expect(health.status).toBe('unreachable');
    expect(health.latencyMs).toBeLessThan(2000);
  });
});
