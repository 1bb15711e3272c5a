import type { MiddlewareHandler } from 'hono';

export interface RequestIdOptions {
  /** Header read from the request and echoed on the response (default `x-request-id`). */
  headerName?: string;
  /** Longest incoming id honoured (default 128). */
  maxLength?: number;
  /** Makes a new id when the request has no sane one (default `crypto.randomUUID`). */
  generate?: () => string;
}

/** Characters an incoming id may use: enough for UUIDs, ULIDs, W3C trace ids; nothing that can inject. */
const SANE_ID = /^[A-Za-z0-9._:\-]+$/;

/**
 * Gives every request a correlation id, honouring a sane incoming `x-request-id` (so a client's or
 * proxy's id follows the request to the backend and its logs) and echoing it on every response,
 * errors included, because it is set after the rest of the chain has produced the response.
 */
export function requestId({ headerName = 'x-request-id', maxLength = 128, generate = () => crypto.randomUUID() }: RequestIdOptions = {}): MiddlewareHandler {
  return async function requestIdMiddleware(c, next) {
    const incoming = c.req.header(headerName);
    const id = incoming !== undefined && incoming.length <= maxLength && SANE_ID.test(incoming) ? incoming : generate();
    c.set('requestId', id);
    await next();
    try {
      c.res.headers.set(headerName, id);
    } catch {
      // Headers of a response passed through from fetch() are immutable: copy it once.
      c.res = new Response(c.res.body, c.res);
      c.res.headers.set(headerName, id);
    }
  };
}
