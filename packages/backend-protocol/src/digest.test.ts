import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatContentDigest, parseContentDigest } from './index.js';

describe('Content-Digest', () => {
  const body = Buffer.from('hello world');
  const hex = createHash('sha256').update(body).digest('hex');
  const b64 = createHash('sha256').update(body).digest('base64');

  it('formats and parses SHA-256 as RFC 9530 writes it', () => {
    expect(formatContentDigest(hex)).toBe(`sha-256=:${b64}:`);
    expect(parseContentDigest(`sha-256=:${b64}:`)).toEqual({ kind: 'sha-256', hex });
    // The RFC's own example: sha-256 of `{"hello": "world"}`.
    expect(parseContentDigest('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:')).toEqual({
      kind: 'sha-256',
      hex: createHash('sha256').update('{"hello": "world"}').digest('hex'),
    });
  });

  it('finds sha-256 among other algorithms and ignores fields without it', () => {
    expect(parseContentDigest(`sha-512=:${createHash('sha512').update(body).digest('base64')}: , sha-256=:${b64}:`)).toEqual({ kind: 'sha-256', hex });
    expect(parseContentDigest(`sha-512=:${createHash('sha512').update(body).digest('base64')}:`)).toEqual({ kind: 'other' });
  });

  it('refuses malformed fields and digests of the wrong length', () => {
    for (const value of ['', 'sha-256', `sha-256=${b64}`, `sha-256=:${b64}`, 'sha-256=:AAAA:', `sha-256=:${b64}:, sha-256=:${b64}:`, 'sha-256=:***:', 'SHA-256=:AAAA:']) {
      expect(parseContentDigest(value).kind, value).toBe('invalid');
    }
    expect(() => formatContentDigest('ABC')).toThrow('not a lower-case hex');
  });
});
