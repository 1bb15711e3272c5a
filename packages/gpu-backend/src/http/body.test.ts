import { EmbedTextRequestSchema, LIMITS } from '@coyo/backend-protocol';
import { describe, expect, it } from 'vitest';
import { validTexts } from './body.js';

describe('validTexts', () => {
  const long = 'x'.repeat(LIMITS.maxTextLength);
  const bodies: unknown[] = [
    { texts: ['a'] },
    { texts: ['a', 'b c', ''] },
    { texts: [long] },
    { texts: [`${long}x`] },
    { texts: ['é'.repeat(LIMITS.maxTextLength)] },
    { texts: ['😀'.repeat(LIMITS.maxTextLength / 2)] },
    { texts: ['😀'.repeat(LIMITS.maxTextLength / 2 + 1)] },
    { texts: ['a'], other: 1 },
    { texts: [] },
    { texts: Array.from({ length: LIMITS.maxTextsPerCall }, () => 'a') },
    { texts: Array.from({ length: LIMITS.maxTextsPerCall + 1 }, () => 'a') },
    { texts: 'a' },
    { texts: [1] },
    { texts: ['a', null] },
    { texts: [['a']] },
    {},
    [],
    [{ texts: ['a'] }],
    null,
    'texts',
    3,
  ];

  it('accepts only bodies the protocol schema accepts, with the same texts, and every one without astral characters', () => {
    for (const body of bodies) {
      const parsed = EmbedTextRequestSchema.safeParse(body);
      const texts = validTexts(body, LIMITS.maxTextsPerCall);
      const what = JSON.stringify(body).slice(0, 80);
      if (texts !== undefined) expect(parsed.success && parsed.data.texts, what).toEqual(texts);
      else if (!/[\u{10000}-\u{10FFFF}]/u.test(JSON.stringify(body))) expect(parsed.success, what).toBe(false);
    }
  });

  it("holds a server's lower cap on texts per request", () => {
    expect(validTexts({ texts: ['a', 'b'] }, 2)).toEqual(['a', 'b']);
    expect(validTexts({ texts: ['a', 'b', 'c'] }, 2)).toBeUndefined();
  });
});
