/**
 * Request bodies read into reused buffers (services/body-pool.ts): many concurrent requests, cache hits
 * and misses interleaved, raw and multipart, each must get the answer for its own image. The pool
 * poisons what it takes back and pools bodies of any size, so a buffer handed out while a request (or a
 * subrequest) still read it would change some answer here.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectedZeroShot, sameScores } from '../../../test/expected';
import { fakePngBytes } from '../../../test/fake-backend';
import { backendUrl, seedApiKey, testApp } from '../../../test/helpers';
import { BodyPool, POISON_BYTE } from '../../services/body-pool';

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'], tier: 'high' });
});

const LABELS = ['cat', 'dog', 'car'];

type Scores = { label: string; score: number }[];

describe('pooled request bodies', () => {
  it('answers 48 concurrent requests (8 images, hits and misses, raw and multipart) each for its own image', async () => {
    const pool = new BodyPool({ minPooledBytes: 1, poison: POISON_BYTE });
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(crypto.randomUUID()) }, deps: { bodyPool: pool } });
    // Images of different sizes share size classes, so buffers move between images.
    const images = Array.from({ length: 8 }, (_, i) => fakePngBytes(crypto.randomUUID(), 20_000 + i * 1_500));
    const expected = await Promise.all(images.map((png) => expectedZeroShot(png, LABELS)));
    const query = LABELS.map((l) => `labels=${l}`).join('&');
    // Every body declares its length, as uploads do (and as the isolate's body admission counts them).
    const forms = await Promise.all(
      images.map(async (png) => {
        const form = new FormData();
        form.append('image', new Blob([png], { type: 'image/png' }), 'x.png');
        for (const label of LABELS) form.append('labels', label);
        const encoded = new Response(form);
        return { type: encoded.headers.get('content-type') ?? '', bytes: new Uint8Array(await encoded.arrayBuffer()) };
      }),
    );
    const send = (i: number, round: number): Promise<Response> => {
      const png = images[i] as Uint8Array<ArrayBuffer>;
      const headers = { authorization: `Bearer ${key}` };
      if ((i + round) % 2 === 0) {
        return request(`/v1/zero-shot?${query}`, { method: 'POST', headers: { ...headers, 'content-type': 'image/png', 'content-length': String(png.byteLength) }, body: png });
      }
      const form = forms[i] as { type: string; bytes: Uint8Array<ArrayBuffer> };
      return request('/v1/zero-shot', { method: 'POST', headers: { ...headers, 'content-type': form.type, 'content-length': String(form.bytes.byteLength) }, body: form.bytes });
    };
    // Round 0 misses every image; later rounds mix hits with the misses of images not sent yet.
    const plan: [number, number][] = [];
    for (let round = 0; round < 6; round++) for (let i = 0; i < images.length; i++) plan.push([(i * 3 + round) % images.length, round]);
    const CONCURRENCY = 12;
    let next = 0;
    const mismatches: string[] = [];
    const caches = new Set<string>();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < plan.length) {
          const [i, round] = plan[next++] as [number, number];
          const res = await send(i, round);
          if (res.status !== 200) {
            mismatches.push(`image ${i} round ${round}: ${res.status} ${await res.text()}`);
            continue;
          }
          caches.add(res.headers.get('x-cache') ?? '');
          const body = await res.json<Scores>();
          if (!sameScores(body, expected[i] ?? [])) mismatches.push(`image ${i} round ${round}: ${JSON.stringify(body)}`);
        }
      }),
    );
    expect(mismatches).toEqual([]);
    // The test only means something if buffers were reused and subrequest bodies were kept out of the pool.
    // (A new image whose labels are cached already answers `partial`.)
    expect(caches.has('hit')).toBe(true);
    expect(caches.has('miss') || caches.has('partial')).toBe(true);
    expect(pool.stats.reused).toBeGreaterThan(0);
    expect(pool.stats.pinnedDrops).toBeGreaterThan(0);
  });

  it('hands the buffer of a cache hit back, and keeps that of a miss out of the pool', async () => {
    const pool = new BodyPool({ minPooledBytes: 1, poison: POISON_BYTE });
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(crypto.randomUUID()) }, deps: { bodyPool: pool } });
    const png = fakePngBytes(crypto.randomUUID(), 30_000);
    const send = () =>
      request('/v1/classify?top_k=2', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png', 'content-length': String(png.byteLength) },
        body: png as Uint8Array<ArrayBuffer>,
      });
    const miss = await send();
    expect(miss.headers.get('x-cache')).toBe('miss');
    const missAnswer = await miss.json<Scores>();
    expect(pool.stats).toMatchObject({ released: 1, pinnedDrops: 1, pooledBytes: 0 });
    const hit = await send();
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect(await hit.json<Scores>()).toEqual(missAnswer);
    expect(pool.stats).toMatchObject({ released: 2, pinnedDrops: 1 });
    expect(pool.stats.pooledBytes).toBeGreaterThan(0);
  });
});
