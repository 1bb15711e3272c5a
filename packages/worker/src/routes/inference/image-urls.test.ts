import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendCalls, backendUrl, postJson, problemOf, seedApiKey, testApp } from '../../../test/helpers';

let key: string;
let tenant: string;
let request: ReturnType<typeof testApp>['request'];
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'], tier: 'high' });
  tenant = crypto.randomUUID();
  ({ request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant), IMAGE_FETCH_TIMEOUT_MS: '500', MAX_IMAGE_BYTES: '65536' } }));
});

const redirect = (to: string) => `https://images.example.com/redirect?to=${encodeURIComponent(to)}`;

describe('image URLs through the API', () => {
  const hostile = [
    'http://127.0.0.1/cat.png',
    'http://localhost/cat.png',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[64:ff9b::7f00:1]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://10.0.0.1/',
    'http://172.31.255.255/',
    'http://192.168.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.100.100.200/',
    'http://0.0.0.0/',
    'http://metadata.google.internal/',
    'http://router.local/',
    'http://kubernetes/',
    'http://user@images.example.com/cat.png',
    'http://images.example.com:6379/',
    'ftp://images.example.com/cat.png',
    redirect('http://127.0.0.1/'),
    redirect('http://169.254.169.254/'),
    redirect('http://[::ffff:169.254.169.254]/'),
    redirect('http://internal/'),
  ];

  it.each(hostile)('refuses %s with 400 image_url_not_allowed and never calls the backend', async (url) => {
    const before = await backendCalls(tenant);
    const res = await request('/v1/zero-shot', postJson(key, { images: [{ url: 'https://images.example.com/png/ok' }, { url }], labels: ['a'] }));
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.type).toBe('https://coyo-edge.dev/problems/image_url_not_allowed');
    expect(problem.errors?.[0]?.path).toBe('images[1].url');
    expect(await backendCalls(tenant)).toBe(before);
  });

  it('answers 422 image_fetch_failed when the host answers 404', async () => {
    const res = await request('/v1/zero-shot', postJson(key, { image: { url: 'https://images.example.com/status/404' }, labels: ['a'] }));
    expect(res.status).toBe(422);
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/image_fetch_failed');
  });

  it('answers 422 image_fetch_failed when the host is too slow', async () => {
    const res = await request('/v1/zero-shot', postJson(key, { image: { url: 'https://images.example.com/hang' }, labels: ['a'] }));
    expect(res.status).toBe(422);
    expect((await problemOf(res)).detail).toMatch(/timed out/);
  });

  it('answers 413 when the fetched image streams past MAX_IMAGE_BYTES', async () => {
    const res = await request('/v1/zero-shot', postJson(key, { image: { url: 'https://images.example.com/big?bytes=200000' }, labels: ['a'] }));
    expect(res.status).toBe(413);
  });

  it('answers 415 when the URL serves something that is not an image', async () => {
    const res = await request('/v1/zero-shot', postJson(key, { image: { url: 'https://images.example.com/text' }, labels: ['a'] }));
    expect(res.status).toBe(415);
  });

  it('follows a redirect to another public URL', async () => {
    const res = await request('/v1/zero-shot', postJson(key, { image: { url: redirect('https://images.example.com/png/after-redirect') }, labels: ['a', 'b'] }));
    expect(res.status).toBe(200);
  });
});
