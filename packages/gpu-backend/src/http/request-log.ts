/**
 * What the server records of every answered request, whichever way it was answered (the Hono app or
 * the direct routes): the `requests` counter by route and status, and for `/v1/*` one info log line.
 */
import { ROUTES } from '@coyo/backend-protocol';
import type { Logger } from '../metrics/logger.js';
import type { BackendMetrics } from '../metrics/metrics.js';

const KNOWN_PATHS = new Set<string>(Object.values(ROUTES).map((r) => r.path));

export interface AnsweredRequest {
  requestId: string;
  method: string;
  path: string;
  status: number;
  /** `performance.now()` when the request arrived. */
  started: number;
}

/** Counts and logs one answered request; paths the server does not serve count as `other`. */
export function recordRequest(metrics: BackendMetrics, logger: Logger, { requestId, method, path, status, started }: AnsweredRequest): void {
  const route = KNOWN_PATHS.has(path) ? path : 'other';
  metrics.countRequest(route, status);
  if (route.startsWith('/v1/')) {
    logger.info('request', { request_id: requestId, method, route, status, ms: Math.round(performance.now() - started) });
  }
}
