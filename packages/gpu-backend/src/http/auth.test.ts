import { describe, expect, it } from 'vitest';
import { tokenCheck } from './auth.js';
import { HttpProblem } from './problem.js';

const TOKEN = 'sekret-token-0123456789';

function refusal(check: (header: string | undefined) => void, header: string | undefined): string | undefined {
  try {
    check(header);
    return undefined;
  } catch (error) {
    if (!(error instanceof HttpProblem)) throw error;
    expect(error.type).toBe('unauthorized');
    return error.detail;
  }
}

describe('tokenCheck', () => {
  const check = tokenCheck(TOKEN);

  it('accepts the token, whatever the case of the scheme and trailing white space', () => {
    for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER   ${TOKEN} `]) expect(refusal(check, header)).toBeUndefined();
  });

  it('refuses a prefix, an extension, another token of the same length and other non-ASCII lookalikes', () => {
    for (const given of [TOKEN.slice(0, -1), `${TOKEN}9`, `${TOKEN.slice(0, -1)}8`, `${TOKEN.slice(0, -1)}é`, 'x', TOKEN.toUpperCase()]) {
      expect(refusal(check, `Bearer ${given}`)).toBe('the bearer token is not valid');
    }
    // The comparison buffer is reused: a long token before must not make a short one pass after.
    expect(refusal(check, `Bearer ${TOKEN}${TOKEN}`)).toBe('the bearer token is not valid');
    expect(refusal(check, `Bearer ${TOKEN.slice(0, 5)}`)).toBe('the bearer token is not valid');
    expect(refusal(check, `Bearer ${TOKEN}`)).toBeUndefined();
  });

  it('asks for the header when it is missing or not a bearer token', () => {
    for (const header of [undefined, '', 'Bearer', `Basic ${TOKEN}`, `Bearer ${TOKEN} extra`]) {
      expect(refusal(check, header)).toBe('send Authorization: Bearer <BACKEND_TOKEN>');
    }
  });

  it('checks nothing when no token is configured', () => {
    expect(refusal(tokenCheck(undefined), undefined)).toBeUndefined();
  });
});
