import { describe, expect, it } from 'vitest';
import {
  PHASH_SUBSTRINGS,
  hammingDistance,
  hash64,
  normalizeDomain,
  normalizeUrl,
  parsePhash,
  phashBucket,
  phashFromTableKey,
  phashProbes,
  phashTableKey,
  urlHost,
} from './indexes.js';

describe('normalizeUrl', () => {
  it.each([
    ['HTTP://Example.COM/a', 'http://example.com/a'],
    ['http://example.com:80/a', 'http://example.com/a'],
    ['https://example.com:443', 'https://example.com/'],
    ['http://example.com:8080/a', 'http://example.com:8080/a'],
    ['http://example.com/a#frag', 'http://example.com/a'],
    ['http://example.com/a?', 'http://example.com/a'],
    ['http://example.com/a?x=1#f', 'http://example.com/a?x=1'],
    ['http://example.com/%7euser/%41', 'http://example.com/~user/A'],
    ['http://example.com/%e2%82%ac', 'http://example.com/%E2%82%AC'],
    ['http://example.com/€', 'http://example.com/%E2%82%AC'],
    ['http://example.com/a%2fb', 'http://example.com/a%2Fb'],
    ['http://example.com/a b', 'http://example.com/a%20b'],
    ['http://example.com/a/./b/../c', 'http://example.com/a/c'],
    ['http://bücher.de/', 'http://xn--bcher-kva.de/'],
    ['http://example.com./x', 'http://example.com/x'],
    ['  http://example.com/x \n', 'http://example.com/x'],
    ['http://example.com/Path?B=2&a=1', 'http://example.com/Path?B=2&a=1'],
    ['http://example.com/?q=a+b', 'http://example.com/?q=a+b'],
    ['http://User@Example.com/', 'http://User@example.com/'],
    ['not a url', 'not a url'],
    ['//example.com/x', '//example.com/x'],
  ])('%j normalises to %j', (input, expected) => {
    expect(normalizeUrl(input)).toBe(expected);
  });

  it('is idempotent', () => {
    for (const url of ['HTTP://Example.COM:80/%7e%2f?#x', 'http://bücher.de./ä?ö=ü']) {
      expect(normalizeUrl(normalizeUrl(url))).toBe(normalizeUrl(url));
    }
  });
});

describe('hosts and domains', () => {
  it('takes the host of a URL without port or trailing dot', () => {
    expect(urlHost('https://Img.Example.com.:8443/a.jpg')).toBe('img.example.com');
    expect(urlHost('no url')).toBeNull();
  });

  it('normalises a domain as a client writes it, and refuses anything but a host', () => {
    expect(normalizeDomain('Example.COM')).toBe('example.com');
    expect(normalizeDomain('example.com.')).toBe('example.com');
    expect(normalizeDomain('bücher.de')).toBe('xn--bcher-kva.de');
    for (const bad of ['', 'http://example.com', 'example.com/a', 'example.com:80', 'a@example.com', 'a b']) {
      expect(normalizeDomain(bad)).toBeNull();
    }
  });
});

describe('pHash keys', () => {
  it('parses 16 hex digits in either case and nothing else', () => {
    expect(parsePhash('9F91e133b1924e4e')).toBe(0x9f91e133b1924e4en);
    for (const bad of ['9f91e133b1924e4', '9f91e133b1924e4e0', 'xf91e133b1924e4e', null]) expect(parsePhash(bad)).toBeNull();
  });

  it('cuts 64 bits into 9 contiguous substrings', () => {
    expect(PHASH_SUBSTRINGS.reduce((n, s) => n + s.bits, 0)).toBe(64);
    expect(PHASH_SUBSTRINGS.map((s) => s.start)).toEqual([0, 8, 15, 22, 29, 36, 43, 50, 57]);
  });

  it('rotates a pHash into a table key and back, and its bucket holds exactly the hashes sharing the substring', () => {
    const phash = 0x9f91e133b1924e4en;
    for (let t = 0; t < PHASH_SUBSTRINGS.length; t++) {
      const sub = PHASH_SUBSTRINGS[t];
      if (sub === undefined) throw new Error('no substring');
      const key = phashTableKey(phash, t);
      expect(phashFromTableKey(key, t)).toBe(phash);
      const { lo, hi } = phashBucket(phash, t);
      expect(key >= lo && key <= hi).toBe(true);
      // Flipping a bit inside the substring leaves the bucket; flipping one outside stays in it.
      const inside = phash ^ (1n << BigInt(63 - sub.start));
      const outside = phash ^ (1n << BigInt(63 - ((sub.start + sub.bits) % 64)));
      const kin = phashTableKey(inside, t);
      const kout = phashTableKey(outside, t);
      expect(kin >= lo && kin <= hi).toBe(false);
      expect(kout >= lo && kout <= hi).toBe(true);
    }
  });

  it('probes a bucket holding every hash within the distance, for random hashes at every distance 0–8', () => {
    let seed = 0x243f6a8885a308d3n;
    const next = (): bigint => {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
      return seed;
    };
    for (let trial = 0; trial < 300; trial++) {
      const query = next();
      for (let k = 0; k <= 8; k++) {
        let mask = 0n;
        while (hammingDistance(mask, 0n) < k) mask |= 1n << (next() >> 58n);
        const other = query ^ mask;
        const probes = phashProbes(query, k);
        const hit = probes.some(({ table, lo, hi }) => {
          const key = phashTableKey(other, table);
          return key >= lo && key <= hi;
        });
        expect(hit, `query ${query.toString(16)} other ${other.toString(16)} k=${k}`).toBe(true);
      }
    }
    expect(phashProbes(1n, 0)).toEqual([{ table: 0, lo: 1n, hi: 1n }]);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((k) => phashProbes(0n, k).length)).toEqual([9, 9, 9, 9, 6, 7, 8, 9]);
  });

  it('counts differing bits', () => {
    expect(hammingDistance(0n, 0xffffffffffffffffn)).toBe(64);
    expect(hammingDistance(0x8000000000000001n, 1n)).toBe(1);
  });

  it('hashes strings to stable 64-bit values', () => {
    expect(hash64('example.com')).toBe(hash64('example.com'));
    expect(hash64('example.com')).not.toBe(hash64('example.org'));
    expect(hash64('é') < 1n << 64n).toBe(true);
  });
});
