/**
 * The request's correlation id (`x-request-id`): the caller's when it sends a usable one, else a fresh
 * UUID. Hono's `requestId` middleware rules (at most 255 characters of `[A-Za-z0-9_=-]`), in one
 * function both the Hono app and the server's direct routes call.
 */
import { randomUUID } from 'node:crypto';

/** Longest id taken from a caller. */
const MAX_REQUEST_ID_LENGTH = 255;

const USABLE = /^[\w\-=]+$/;

/** The id of a request that sent `header` as its `x-request-id` (`undefined` when it sent none). */
export function resolveRequestId(header: string | undefined): string {
  if (header !== undefined && header.length > 0 && header.length <= MAX_REQUEST_ID_LENGTH && USABLE.test(header)) return header;
  // Node's randomUUID draws from a cached block of entropy: no system call per id.
  return randomUUID();
}
