/**
 * Types of the per-request context variables, by module augmentation so every `c.var` / `c.get()`
 * in the app (and in routes other modules register) is typed without threading generics.
 */
import type { Context } from 'hono';
import type { RequestServices } from './runtime';
import type { ApiKeyRecord } from './services/api-keys';

declare module 'hono' {
  interface ContextVariableMap {
    /** The request's correlation id, echoed in `x-request-id` and in every problem. */
    requestId: string;
    /** The authenticated key's record; set by the auth middleware on `/v1/*`. */
    apiKey: ApiKeyRecord;
    /** The request's services, built on first use (so routes that need none never parse config). */
    services: () => RequestServices;
  }
}

/**
 * `ctx.waitUntil` of the request, so work may finish after the response; undefined where the runtime
 * gave no execution context (`app.request()` in tests).
 */
export function waitUntilOf(c: Pick<Context, 'executionCtx'>): ((work: Promise<unknown>) => void) | undefined {
  let ctx: { waitUntil(promise: Promise<unknown>): void };
  try {
    ctx = c.executionCtx;
  } catch {
    return undefined;
  }
  return (work) => {
    ctx.waitUntil(work);
  };
}
