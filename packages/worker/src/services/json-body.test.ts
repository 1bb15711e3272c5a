import { describe, expect, it } from 'vitest';
import { LIFT_MIN_CHARS, parseJsonBody } from './json-body';

/** A base64-looking string of `n` characters (no escapes needed in JSON). */
function base64Chars(n: number, seed = 1): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let out = '';
  let h = seed;
  for (let i = 0; i < n; i++) {
    h = (Math.imul(h, 1103515245) + 12345) >>> 0;
    out += alphabet[h >>> 26] ?? 'A';
  }
  return out;
}

const big = base64Chars(LIFT_MIN_CHARS + 10);

/** Parses with both and expects the same value (keys, order of array items, types). */
function same(text: string): void {
  expect(parseJsonBody(text)).toStrictEqual(JSON.parse(text));
}

describe('parseJsonBody', () => {
  it('parses a small body as JSON.parse does', () => {
    same('{"labels":["cat","dog"],"image":{"url":"https://example.com/a.png"}}');
    same('[1, 2.5, "x", null, true, {"a": {}}]');
  });

  it('gives back long strings unchanged, wherever they sit', () => {
    same(JSON.stringify({ image: { base64: big }, labels: ['a "quoted" label', 'b\\c'] }));
    same(JSON.stringify({ images: [{ base64: big }, { url: `data:image/png;base64,${big}` }, { base64: base64Chars(LIFT_MIN_CHARS, 7) }] }));
    same(JSON.stringify([big, 1, [big, { deep: big }]]));
    same(` \n{ "image" : { "base64" :\t"${big}" } , "labels":[] }\n`);
  });

  it('keeps a long string with escapes in the parsed text, so its escapes are decoded', () => {
    // Some encoders (PHP's json_encode) escape "/" in base64.
    const escapedSlashes = `{"image":{"base64":"${big.replaceAll('/', '\\/')}"}}`;
    same(escapedSlashes);
    expect((parseJsonBody(escapedSlashes) as { image: { base64: string } }).image.base64).toBe(big);
    same(JSON.stringify({ text: `${big}"quote\u00e9\n` }));
  });

  it('restores a long key, and keeps a "__proto__" key an own property', () => {
    same(JSON.stringify({ [big]: 1, b: big }));
    const parsed = parseJsonBody(`{"__proto__":{"polluted":"${big}"},"x":"${big}"}`) as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['__proto__', 'x']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('refuses what JSON.parse refuses, with its message', () => {
    for (const text of [`{"image":{"base64":"${big}"},}`, `{"image":{"base64":"${big}"}`, `{"a":"${big}" "b":1}`, `["${big}`]) {
      let expected = '';
      try {
        JSON.parse(text);
      } catch (err) {
        expected = (err as Error).message;
      }
      expect(expected).not.toBe('');
      expect(() => parseJsonBody(text)).toThrow(SyntaxError);
      expect(() => parseJsonBody(text)).toThrow(expected);
    }
  });
});
