/**
 * Bearer-token check for the internal `/v1/*` routes. The token presented is copied into a buffer of the
 * expected token's length and compared in constant time, and its length is compared apart from that, so
 * the time a check takes depends on the expected token's length and the presented one's (which the
 * caller knows), never on the expected token's content, and no hash is computed per request.
 */
import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { HttpProblem } from './problem.js';

export interface BearerAuthOptions {
  /** The shared secret; `undefined` turns the check off (ALLOW_NO_AUTH=1 on a loopback host). */
  token: string | undefined;
}

/** `Bearer <token>` with optional trailing white space, scheme case-insensitive (RFC 7235). */
const BEARER = /^Bearer[ ]+(\S+)\s*$/i;

/**
 * The check of one `Authorization` header against `token`: throws a 401 problem when it does not carry
 * `Bearer <token>`; does nothing when `token` is `undefined`. Shared by the Hono middleware and the
 * server's direct routes (`fast-path.ts`).
 */
export function tokenCheck(token: string | undefined): (authorization: string | undefined) => void {
  if (token === undefined) return () => {};
  const expected = Buffer.from(token, 'utf8');
  // Written over by every check (checks are synchronous, so one buffer serves them all).
  const presented = Buffer.alloc(expected.length);
  return function checkToken(authorization) {
    const match = BEARER.exec(authorization ?? '');
    const given = match?.[1];
    if (given === undefined || given === '') throw new HttpProblem('unauthorized', 'send Authorization: Bearer <BACKEND_TOKEN>');
    presented.fill(0);
    const written = presented.write(given, 'utf8');
    const sameBytes = timingSafeEqual(presented, expected);
    // Whole length in bytes: a prefix of the token, or the token with more after it, is not the token.
    const sameLength = written === expected.length && Buffer.byteLength(given, 'utf8') === expected.length;
    if (!(sameBytes && sameLength)) throw new HttpProblem('unauthorized', 'the bearer token is not valid');
  };
}

/** Rejects requests without `Authorization: Bearer <token>` with a 401 problem. */
export function bearerAuth({ token }: BearerAuthOptions): MiddlewareHandler {
  const check = tokenCheck(token);
  return async function bearerAuth(c, next) {
    check(c.req.header('authorization'));
    await next();
  };
}
