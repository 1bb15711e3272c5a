/**
 * `/v1/coyo/by-url`, `/by-domain`, `/by-phash` over the reader's fixture (1000 rows, provenance tables in
 * 64-record blocks), compared with a scan of the fixture's rows; the NULLs fixture stands for a version
 * published without the tables.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryBucket, nullsFixtureObjects, at, FIXTURE_VERSION, type CompleteRecord } from '@coyo/coyo-reader/testing';
import { coyoApp as app, seedCoyoFixture, testEnv } from '../../../test/coyo-app';

let rows: CompleteRecord[];

beforeAll(async () => {
  rows = await seedCoyoFixture();
});

async function call(path: string, a = app(), env = testEnv) {
  const ctx = createExecutionContext();
  const response = await a.request(path, {}, env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** Set bits of a ^ b, counted over the hex digits (independent of the reader's popcount). */
function distance(a: string, b: string): number {
  let n = 0;
  for (let i = 0; i < 16; i++) {
    let x = Number.parseInt(a.charAt(i), 16) ^ Number.parseInt(b.charAt(i), 16);
    while (x !== 0) {
      n += x & 1;
      x >>= 1;
    }
  }
  return n;
}

/** `phash` with the given hex digits' lowest bits flipped: distance = flips.length. */
function flip(phash: string, digits: readonly number[]): string {
  const chars = Array.from({ length: phash.length }, (_, i) => phash.charAt(i));
  for (const d of digits) chars[d] = (Number.parseInt(phash.charAt(d), 16) ^ 1).toString(16);
  return chars.join('');
}

describe('GET /v1/coyo/by-url', () => {
  it('returns the rows of a stored URL, whatever its spelling, with the R2 cost', async () => {
    const target = at(rows, 321);
    const url = new URL(target.url);
    const spelled = `${url.protocol.toUpperCase()}//${url.host.toUpperCase()}${url.pathname}${url.search}#fragment`;
    const response = await call(`/v1/coyo/by-url?url=${encodeURIComponent(spelled)}`);
    expect(response.status).toBe(200);
    const body = await response.json<{ version: string; normalized_url: string; rows: CompleteRecord[] }>();
    expect(body.version).toBe(FIXTURE_VERSION);
    expect(body.rows).toEqual(rows.filter((r) => r.url === target.url));
    expect(Number(response.headers.get('x-coyo-r2-reads'))).toBeGreaterThan(0);
    expect(response.headers.get('x-coyo-version')).toBe(FIXTURE_VERSION);
  });

  it('answers every stored URL as a scan of the rows does', async () => {
    const a = app();
    for (const i of [0, 1, 499, 998, 999]) {
      const target = at(rows, i);
      const body = await (await call(`/v1/coyo/by-url?url=${encodeURIComponent(target.url)}`, a)).json<{ rows: CompleteRecord[] }>();
      expect(body.rows.map((r) => r.id)).toEqual(rows.filter((r) => r.url === target.url).map((r) => r.id));
    }
  });

  it('costs at most two R2 reads when warm (one index block, one row group)', async () => {
    const a = app();
    const url = encodeURIComponent(at(rows, 10).url);
    await call(`/v1/coyo/by-url?url=${url}`, a);
    const warm = await call(`/v1/coyo/by-url?url=${url}`, a);
    expect(Number(warm.headers.get('x-coyo-r2-reads'))).toBeLessThanOrEqual(2);
  });

  it('answers an absent URL with no rows, and a missing one with 400', async () => {
    const absent = await call('/v1/coyo/by-url?url=https%3A%2F%2Fnowhere.example%2Fa.jpg');
    expect(await absent.json()).toMatchObject({ rows: [] });
    const missing = await call('/v1/coyo/by-url');
    expect(missing.status).toBe(400);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers 503 for a version published without provenance tables', async () => {
    const response = await call('/v1/coyo/by-url?url=x', app(), { ...testEnv, COYO_BUCKET: memoryBucket(nullsFixtureObjects()) as unknown as R2Bucket });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('60');
  });
});

describe('GET /v1/coyo/by-domain', () => {
  it('pages through a host in id order with its count, as a scan does', async () => {
    const host = new URL(at(rows, 5).url).hostname;
    const expected = rows.filter((r) => new URL(r.url).hostname === host).map((r) => r.id);
    expect(expected.length).toBeGreaterThan(60);
    const a = app();
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `domain=${host.toUpperCase()}.&limit=25${cursor === null ? '' : `&cursor=${cursor}`}`;
      const response = await call(`/v1/coyo/by-domain?${query}`, a);
      expect(response.status).toBe(200);
      const page = await response.json<{ domain: string; count: number; rows: CompleteRecord[]; next_cursor: string | null }>();
      expect(page.domain).toBe(host);
      expect(page.count).toBe(expected.length);
      seen.push(...page.rows.map((r) => r.id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(expected);
  });

  it('answers an unknown host with count 0, and refuses what is not a host', async () => {
    expect(await (await call('/v1/coyo/by-domain?domain=nowhere.example')).json()).toMatchObject({ count: 0, rows: [], next_cursor: null });
    for (const bad of ['https%3A%2F%2Fa.com', 'a.com%2Fx', 'a.com:8080', '']) {
      expect((await call(`/v1/coyo/by-domain?domain=${bad}`)).status).toBe(400);
    }
    expect((await call('/v1/coyo/by-domain?domain=a.com&limit=101')).status).toBe(400);
    expect((await call('/v1/coyo/by-domain?domain=a.com&cursor=bm9wZQ')).status).toBe(400);
  });
});

describe('GET /v1/coyo/by-phash', () => {
  it('finds exactly the rows a scan finds, at every distance 0–8', async () => {
    const a = app();
    const stored = at(rows, 77).image_phash;
    // The query differs from the stored hash in 3 bits, so distances below 3 find nothing.
    const query = flip(stored, [0, 7, 15]);
    for (let k = 0; k <= 8; k++) {
      const response = await call(`/v1/coyo/by-phash?phash=${query.toUpperCase()}&max_distance=${k}&limit=100`, a);
      expect(response.status).toBe(200);
      const body = await response.json<{ phash: string; total: number; matches: { distance: number; row: CompleteRecord }[] }>();
      const expected = rows
        .map((r) => ({ id: r.id, d: distance(r.image_phash, query) }))
        .filter((m) => m.d <= k)
        .sort((x, y) => x.d - y.d || x.id - y.id);
      expect(body.phash).toBe(query);
      expect(body.total).toBe(expected.length);
      expect(body.matches.map((m) => ({ id: m.row.id, d: m.distance }))).toEqual(expected);
      expect(Number(response.headers.get('x-coyo-r2-reads'))).toBeGreaterThan(0);
    }
  });

  it('refuses a malformed pHash or a distance above 8', async () => {
    for (const q of ['phash=123', 'phash=zzzzzzzzzzzzzzzz', 'phash=9f91e133b1924e4e&max_distance=9', 'phash=9f91e133b1924e4e&max_distance=-1']) {
      const response = await call(`/v1/coyo/by-phash?${q}`);
      expect(response.status, q).toBe(400);
    }
  });
});
