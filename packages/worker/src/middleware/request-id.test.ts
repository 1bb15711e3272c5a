import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { problemOf } from '../../test/helpers';

describe('request id', () => {
  it('generates an id and echoes it on success', async () => {
    const res = await exports.default.fetch('https://api.test/healthz');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('honours a sane incoming id and echoes it on errors, in the header and the problem', async () => {
    const res = await exports.default.fetch('https://api.test/nowhere', { headers: { 'x-request-id': 'abc-123_X.y:z' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('abc-123_X.y:z');
    expect((await problemOf(res)).request_id).toBe('abc-123_X.y:z');
  });

  it.each(['has spaces in it', 'x'.repeat(129), '<script>', 'a\tb'])('replaces an insane incoming id (%s)', async (id) => {
    const res = await exports.default.fetch('https://api.test/healthz', { headers: { 'x-request-id': id } });
    expect(res.headers.get('x-request-id')).not.toBe(id);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
