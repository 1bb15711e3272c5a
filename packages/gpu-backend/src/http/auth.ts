/**
 * Bearer-token check for the internal `/v1/*` routes. Both sides are hashed before the constant-time
 * compare, so neither the token's content nor its length leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { HttpProblem } from './problem.js';

export interface BearerAuthOptions {
  /** The shared secret; `undefined` turns the check off (ALLOW_NO_AUTH=1 on a loopback host). */
  token: string | undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Rejects requests without `Authorization: Bearer <token>` with a 401 problem. */
export function bearerAuth({ token }: BearerAuthOptions): MiddlewareHandler {
  const expected = token === undefined ? undefined : digest(token);
  return async function bearerAuth(c, next) {
    if (expected !== undefined) {
      const header = c.req.header('authorization') ?? '';
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
      if (!match?.[1]) throw new HttpProblem('unauthorized', 'send Authorization: Bearer <BACKEND_TOKEN>');
      if (!timingSafeEqual(digest(match[1]), expected)) throw new HttpProblem('unauthorized', 'the bearer token is not valid');
    }
    await next();
  };
}
