import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '@coyo/coyo-reader';
import { at, FIXTURE_VERSION, type CompleteRecord } from '@coyo/coyo-reader/testing';
import type { Env } from '../../env';
import { coyoApp as app, seedCoyoFixture, testEnv } from '../../../test/coyo-app';

let rows: CompleteRecord[];

beforeAll(async () => {
  rows = await seedCoyoFixture();
});

async function call(path: string, init: RequestInit = {}, a = app()) {
  const ctx = createExecutionContext();
  const response = await a.request(path, init, testEnv, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

async function problem(response: Response) {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return await response.json<{ type: string; status: number; detail: string }>();
}

describe('GET /v1/coyo/{id}', () => {
  it('returns the row with the version as ETag and a cacheable Cache-Control', async () => {
    const target = at(rows, 42);
    const response = await call(`/v1/coyo/${target.id}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ version: FIXTURE_VERSION, row: target });
    expect(response.headers.get('etag')).toBe(`"${FIXTURE_VERSION}"`);
    expect(response.headers.get('cache-control')).toMatch(/max-age=\d+/);
  });

  it('answers 304 without reading a shard when If-None-Match names the version', async () => {
    const a = app();
    await call(`/v1/coyo/${at(rows, 1).id}`, {}, a); // pointer and manifest now cached
    const response = await call(`/v1/coyo/${at(rows, 2).id}`, { headers: { 'if-none-match': `"${FIXTURE_VERSION}"` } }, a);
    expect(response.status).toBe(304);
    expect(response.headers.get('x-coyo-r2-reads')).toBe('0');
  });

  it('projects the requested columns', async () => {
    const target = at(rows, 7);
    const response = await call(`/v1/coyo/${target.id}?columns=url,id`);
    expect(await response.json()).toEqual({ version: FIXTURE_VERSION, row: { id: target.id, url: target.url } });
  });

  it('answers 404 problem for an absent id, with the version and the R2 cost of the look-up', async () => {
    const response = await call(`/v1/coyo/${at(rows, 0).id + 1}`);
    expect(response.status).toBe(404);
    expect(response.headers.get('x-coyo-version')).toBe(FIXTURE_VERSION);
    expect(Number(response.headers.get('x-coyo-r2-reads'))).toBeGreaterThanOrEqual(1);
    expect(Number(response.headers.get('x-coyo-r2-bytes'))).toBeGreaterThan(0);
    const body = await problem(response);
    expect(body.type).toMatch(/not_found$/);
    expect(body.detail).toContain(FIXTURE_VERSION);
  });

  it('takes 0 and canonical ids up to 2^53 − 1 as ids (404 when no row has them)', async () => {
    for (const id of ['0', '9007199254740991']) expect((await call(`/v1/coyo/${id}`)).status).toBe(404);
  });

  it.each([
    ['abc'],
    ['-5'],
    ['+5'],
    ['1.5'],
    ['007'],
    ['0000000000000042'], // 16 characters, zero-padded
    ['00000000000000042'], // 17 characters, zero-padded
    ['02680060225205'],
    ['9007199254740992'],
    ['12345678901234567890'],
  ])('answers 400 problem for id %s', async (id) => {
    const response = await call(`/v1/coyo/${id}`);
    expect(response.status).toBe(400);
    expect((await problem(response)).detail).toMatch(/id must be written in canonical decimal .* from 0 to 9007199254740991/);
  });

  it('answers 400 problem naming an unknown column', async () => {
    const response = await call(`/v1/coyo/${at(rows, 0).id}?columns=id,labels`);
    expect(response.status).toBe(400);
    expect((await problem(response)).detail).toMatch(/unknown column\(s\): labels/);
  });
});

describe('POST /v1/coyo/batch', () => {
  const post = (body: unknown) => call('/v1/coyo/batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('keeps the request order and answers null for absent ids', async () => {
    const ids = [at(rows, 900).id, 1, at(rows, 3).id, at(rows, 3).id];
    const response = await post({ ids, columns: ['id', 'text'] });
    expect(response.status).toBe(200);
    const body = await response.json<{ rows: unknown[] }>();
    expect(body.rows).toEqual([
      { id: at(rows, 900).id, text: at(rows, 900).text },
      null,
      { id: at(rows, 3).id, text: at(rows, 3).text },
      { id: at(rows, 3).id, text: at(rows, 3).text },
    ]);
  });

  it('answers 413 problem for a body far larger than 100 ids can need, declared or streamed', async () => {
    const padded = `{"ids":[1]${' '.repeat(1024 * 1024)}}`;
    const declared = await call('/v1/coyo/batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: padded });
    expect(declared.status).toBe(413);
    expect((await problem(declared)).type).toMatch(/payload_too_large$/);
    const bytes = new TextEncoder().encode(padded);
    const streamed = await call('/v1/coyo/batch', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.slice(i, i + 64 * 1024));
          controller.close();
        },
      }),
    });
    expect(streamed.status).toBe(413);
    expect((await problem(streamed)).type).toMatch(/payload_too_large$/);
  });

  it('answers 415 problem for a body that is not JSON', async () => {
    const response = await call('/v1/coyo/batch', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"ids":[1]}' });
    expect(response.status).toBe(415);
    expect((await problem(response)).type).toMatch(/unsupported_media_type$/);
  });

  it('answers 400 problem for 101 ids', async () => {
    const response = await post({ ids: Array.from({ length: 101 }, (_, i) => i) });
    expect(response.status).toBe(400);
    expect((await problem(response)).detail).toMatch(/at most 100 ids/);
  });

  it('answers 400 problem for ids that are not safe integers', async () => {
    for (const ids of [['12'], [1.5], [2 ** 53]]) {
      const response = await post({ ids });
      expect(response.status, JSON.stringify(ids)).toBe(400);
    }
  });
});

describe('GET /v1/coyo/rows', () => {
  it('returns a page in global id order with row indexes', async () => {
    const response = await call('/v1/coyo/rows?offset=395&length=10&columns=id');
    expect(response.status).toBe(200);
    const body = await response.json<{ num_rows_total: number; rows: { row_idx: number; row: unknown }[] }>();
    expect(body.num_rows_total).toBe(rows.length);
    expect(body.rows).toEqual(rows.slice(395, 405).map((r, i) => ({ row_idx: 395 + i, row: { id: r.id } })));
  });

  it('answers 400 problem for length above 1000', async () => {
    const response = await call('/v1/coyo/rows?offset=0&length=1001');
    expect(response.status).toBe(400);
    expect((await problem(response)).detail).toMatch(/length must be an integer from 1 to 1000/);
  });
});

describe('GET /v1/coyo/filter', () => {
  it('takes its scan budget from COYO_FILTER_MAX_ROWS_SCANNED when the routes are given none', async () => {
    const query = '/v1/coyo/filter?min_aesthetic_score_laion_v2=5.5&columns=id&limit=100';
    const page = async (env: Env, a = app()) => {
      const ctx = createExecutionContext();
      const response = await a.request(query, {}, env, ctx);
      await waitOnExecutionContext(ctx);
      expect(response.status).toBe(200);
      return response.json();
    };
    const fromVar = await page({ ...testEnv, COYO_FILTER_MAX_ROWS_SCANNED: '100' });
    expect(fromVar).toEqual(await page(testEnv, app({ filterMaxRowsScanned: 100 })));
    expect(fromVar).not.toEqual(await page(testEnv));
  });

  it('pages through matches with next_cursor until it is null', async () => {
    const a = app({ filterMaxRowsScanned: 100 });
    const expected = rows.filter((r) => r.aesthetic_score_laion_v2 >= 5.5 && r.nsfw_score_opennsfw2 <= Math.fround(0.01)).map((r) => r.id);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query = `min_aesthetic_score_laion_v2=5.5&max_nsfw_score_opennsfw2=0.01&columns=id&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
      const response = await call(`/v1/coyo/filter?${query}`, {}, a);
      expect(response.status).toBe(200);
      const body = await response.json<{ rows: { id: number }[]; next_cursor: string | null }>();
      seen.push(...body.rows.map((r) => r.id));
      cursor = body.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(expected);
  });

  it.each([
    ['an unknown parameter', 'min_colour=3', /min_colour/],
    ['a non-numeric bound', 'min_width=wide', /min_width must be a finite number/],
    ['a bound that overflows a double', 'min_width=1e309', /min_width must be a finite number/],
    ['a negative overflowing bound', 'max_watermark_score=-1e400', /max_watermark_score must be a finite number/],
    ['Infinity', 'min_width=Infinity', /min_width must be a finite number/],
    ['an unknown column', 'columns=id,colour', /unknown column/],
    ['a limit above 1000', 'limit=1001', /limit must be an integer from 1 to 1000/],
    ['a malformed cursor', 'cursor=%%%', /cursor is malformed/],
  ])('answers 400 problem for %s', async (_name, query, message) => {
    const response = await call(`/v1/coyo/filter?${query}`);
    expect(response.status).toBe(400);
    expect(JSON.stringify(await problem(response))).toMatch(message);
  });

  it('casts float bounds to float32 as SQL does: min = max = a stored value written as a short decimal finds its row', async () => {
    const target = at(rows, 17);
    const written = target.clip_similarity_vitb32.toPrecision(9); // rounds to the stored float32, not equal to it as a double
    expect(Number(written)).not.toBe(target.clip_similarity_vitb32);
    const response = await call(
      `/v1/coyo/filter?min_clip_similarity_vitb32=${written}&max_clip_similarity_vitb32=${written}&columns=id,clip_similarity_vitb32&limit=100`,
    );
    const body = await response.json<{ rows: { id: number; clip_similarity_vitb32: number }[] }>();
    expect(body.rows).toEqual(
      rows.filter((r) => r.clip_similarity_vitb32 === target.clip_similarity_vitb32).map((r) => ({ id: r.id, clip_similarity_vitb32: r.clip_similarity_vitb32 })),
    );
    expect(body.rows.map((r) => r.id)).toContain(target.id);
  });

  it('answers 400 problem for a cursor issued for other predicates', async () => {
    const cursor = encodeCursor({ v: 1, after: at(rows, 10).id, f: 'abcdef01' });
    const response = await call(`/v1/coyo/filter?min_width=300&cursor=${cursor}`);
    expect(response.status).toBe(400);
    expect((await problem(response)).detail).toMatch(/different filter/);
  });
});

describe('GET /v1/coyo/stats', () => {
  it('reports the version, rows, shards and column ranges', async () => {
    const response = await call('/v1/coyo/stats');
    expect(response.status).toBe(200);
    const body = await response.json<{ version: string; rows: number; shards: number; columns: Record<string, { min?: number }> }>();
    expect(body).toMatchObject({ version: FIXTURE_VERSION, rows: rows.length, shards: 3 });
    expect(body.columns['width']?.min).toBe(Math.min(...rows.map((r) => r.width)));
  });

  it('answers 503 problem while no version is published', async () => {
    const empty = { ...testEnv, COYO_BUCKET: { get: () => Promise.resolve(null) } as unknown as R2Bucket };
    const a = app();
    const response = await a.request('/v1/coyo/stats', {}, empty, createExecutionContext());
    expect(response.status).toBe(503);
    expect((await problem(response)).detail).toMatch(/no COYO dataset version/);
  });
});
