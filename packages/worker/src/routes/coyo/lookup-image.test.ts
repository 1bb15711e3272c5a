/**
 * `POST /v1/coyo/lookup-image` through the whole app: the image read as zero-shot reads it, its pHash from
 * the (fake) backend, then the by-pHash search over the reader's fixture, checked against a scan.
 */
import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_VERSION, type CompleteRecord } from '@coyo/coyo-reader/testing';
import { seedCoyoFixture } from '../../../test/coyo-app';
import { fakePhash } from '../../../test/fake-backend';
import { postJson, problemOf, seedApiKey, toBase64, uniquePng } from '../../../test/helpers';

let key: string;
let rows: CompleteRecord[];

beforeAll(async () => {
  rows = await seedCoyoFixture();
  key = await seedApiKey(env, { scopes: ['coyo'] });
});

function distance(a: string, b: string): number {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let n = 0;
  for (; x !== 0n; x >>= 1n) n += Number(x & 1n);
  return n;
}

interface Answer {
  version: string;
  phash: string;
  max_distance: number;
  total: number;
  matches: { distance: number; row: CompleteRecord }[];
}

describe('POST /v1/coyo/lookup-image', () => {
  it('answers the pHash the backend computed and the rows within the distance, as a scan does', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch('https://api.test/v1/coyo/lookup-image', postJson(key, { image: { base64: toBase64(png) }, max_distance: 8 }));
    expect(res.status).toBe(200);
    const body = await res.json<Answer>();
    const phash = await fakePhash(png);
    expect(body).toMatchObject({ version: FIXTURE_VERSION, phash, max_distance: 8 });
    const expected = rows.filter((r) => distance(r.image_phash, phash) <= 8).map((r) => r.id);
    expect(body.total).toBe(expected.length);
    expect(body.matches.map((m) => m.row.id).sort()).toEqual(expected.sort());
    expect(Number(res.headers.get('x-coyo-r2-reads'))).toBeGreaterThan(0);
  });

  it('takes a raw image body with the fields in the query', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch('https://api.test/v1/coyo/lookup-image?max_distance=3&limit=5', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' },
      body: png,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ phash: await fakePhash(png), max_distance: 3 });
  });

  it('refuses a distance above 8 and a body that is no image', async () => {
    const tooFar = await exports.default.fetch('https://api.test/v1/coyo/lookup-image', postJson(key, { image: { base64: toBase64(uniquePng()) }, max_distance: 9 }));
    expect(tooFar.status).toBe(400);
    expect((await problemOf(tooFar)).type).toMatch(/validation_failed$/);
    const notImage = await exports.default.fetch('https://api.test/v1/coyo/lookup-image', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' },
      body: new TextEncoder().encode('not an image'),
    });
    expect(notImage.status).toBeGreaterThanOrEqual(400);
    expect(notImage.status).toBeLessThan(500);
  });
});
