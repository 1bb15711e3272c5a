import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendCalls, backendUrl, postJson, problemOf, routedFetch, seedApiKey, testApp } from '../../../test/helpers';

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'], tier: 'high' });
});

/** An IMAGE_EGRESS binding that records each URL and answers with `answer`. */
function egress(answer: (url: string, init?: RequestInit) => Promise<Response>): { binding: Fetcher; urls: string[] } {
  const urls: string[] = [];
  const binding = {
    fetch: (input: RequestInfo | URL, init?: RequestInit) => {
      const url = input instanceof Request ? input.url : String(input);
      urls.push(url);
      return answer(url, init);
    },
    connect: () => {
      throw new Error('not used');
    },
  } as unknown as Fetcher; // only fetch is called; the rest of Fetcher's surface is RPC plumbing
  return { binding, urls };
}

describe('image URLs through IMAGE_EGRESS', () => {
  it('fetches image URLs, redirect hops included, through the binding and the backend without it', async () => {
    const tenant = crypto.randomUUID();
    const { binding, urls } = egress((url, init) => routedFetch(url, init));
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant), IMAGE_EGRESS: binding } });
    const target = 'https://images.example.com/png/ok';
    const res = await request(
      '/v1/zero-shot',
      postJson(key, { image: { url: `https://images.example.com/redirect?to=${encodeURIComponent(target)}` }, labels: ['a', 'b'] }),
    );
    expect(res.status).toBe(200);
    expect(urls).toEqual([`https://images.example.com/redirect?to=${encodeURIComponent(target)}`, target]);
    expect(await backendCalls(tenant)).toBeGreaterThan(0);
  });

  it('answers 422 image_fetch_failed when the binding refuses to connect, and never calls the backend', async () => {
    const tenant = crypto.randomUUID();
    // What workerd's network service does for a name that resolves to a denied address.
    const { binding, urls } = egress(() => Promise.reject(new Error('Network connection lost.')));
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant), IMAGE_EGRESS: binding } });
    const res = await request('/v1/zero-shot', postJson(key, { image: { url: 'https://evil.example.com/cat.png' }, labels: ['a'] }));
    expect(res.status).toBe(422);
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/image_fetch_failed');
    expect(urls).toEqual(['https://evil.example.com/cat.png']);
    expect(await backendCalls(tenant)).toBe(0);
  });
});
