import { describe, expect, it } from 'vitest';
import { Coyo } from '../client.js';

interface Seen {
  method: string;
  url: URL;
  body: unknown;
}

/** A client whose fetch answers each request with the next JSON body, recording what was asked. */
function client(bodies: unknown[]) {
  const seen: Seen[] = [];
  const fetchFn: typeof fetch = async (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const text = await request.text();
    seen.push({ method: request.method, url: new URL(request.url), body: text === '' ? undefined : JSON.parse(text) });
    const body = bodies[seen.length - 1];
    if (body === undefined) throw new Error('no response scripted');
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { coyo: new Coyo({ baseURL: 'http://edge.test', apiKey: 'k', fetch: fetchFn }).coyo, seen };
}

const row = (id: number) => ({ id, url: `https://img.test/${String(id)}.jpg` });

describe('provenance look-ups', () => {
  it('byUrl sends the URL as a query parameter', async () => {
    const { coyo, seen } = client([{ version: 'v', normalized_url: 'https://img.test/1.jpg', rows: [row(1)] }]);
    const found = await coyo.byUrl('HTTPS://img.test/1.jpg#x');
    expect(found.rows).toEqual([row(1)]);
    expect(seen[0]?.url.pathname).toBe('/v1/coyo/by-url');
    expect(seen[0]?.url.searchParams.get('url')).toBe('HTTPS://img.test/1.jpg#x');
  });

  it('byDomain iterates every row of a host across pages, following next_cursor', async () => {
    const { coyo, seen } = client([
      { version: 'v', domain: 'img.test', count: 3, rows: [row(1), row(2)], next_cursor: 'c1' },
      { version: 'v', domain: 'img.test', count: 3, rows: [row(3)], next_cursor: null },
    ]);
    const ids: number[] = [];
    for await (const r of coyo.byDomain({ domain: 'img.test', limit: 2 })) ids.push(r.id as number);
    expect(ids).toEqual([1, 2, 3]);
    expect(seen.map((s) => s.url.searchParams.get('cursor'))).toEqual([null, 'c1']);
    expect(seen[1]?.url.searchParams.get('domain')).toBe('img.test');
  });

  it('byPhash sends the hash and the distance', async () => {
    const { coyo, seen } = client([{ version: 'v', phash: '9f91e133b1924e4e', max_distance: 4, total: 0, matches: [] }]);
    await coyo.byPhash('9f91e133b1924e4e', { max_distance: 4 });
    expect(Object.fromEntries(seen[0]?.url.searchParams ?? [])).toEqual({ phash: '9f91e133b1924e4e', max_distance: '4' });
  });

  it('lookupImage posts the image as base64 JSON with the options in snake case', async () => {
    const { coyo, seen } = client([{ version: 'v', phash: '0000000000000001', max_distance: 2, total: 0, matches: [] }]);
    const answer = await coyo.lookupImage(new Uint8Array([1, 2, 3]), { maxDistance: 2, limit: 5 });
    expect(answer.phash).toBe('0000000000000001');
    expect(seen[0]?.method).toBe('POST');
    expect(seen[0]?.url.pathname).toBe('/v1/coyo/lookup-image');
    expect(seen[0]?.body).toEqual({ image: { base64: 'AQID' }, max_distance: 2, limit: 5 });
  });
});
