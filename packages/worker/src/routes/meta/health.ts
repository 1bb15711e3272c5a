import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { admissionReport } from '../../middleware/admission';
import { HealthResponseSchema, type HealthResponse } from '../../schemas/meta';
import { problemResponse } from '../../schemas/problem';
import { healthResponseExample } from './examples';

export const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  operationId: 'health',
  tags: ['meta'],
  summary: 'Worker health and backend reachability',
  description:
    'Always fast: the backend’s `/healthz` is asked once with a short timeout (`HEALTH_TIMEOUT_MS`). 200 while the worker runs; ' +
    '`status: "degraded"` when the backend cannot be reached.',
  security: [],
  responses: {
    200: { description: 'The worker is up.', content: { 'application/json': { schema: HealthResponseSchema, example: healthResponseExample } } },
    500: problemResponse('The worker is misconfigured', ['internal']),
  },
});

/** Registers `GET /healthz` (public). */
export function registerHealth(app: OpenAPIHono<AppEnv>): void {
  app.openapi(healthRoute, async (c) => {
    const svc = c.var.services();
    const backend = await svc.backend.health(svc.requestId, svc.config.healthTimeoutMs);
    const body: HealthResponse = {
      status: backend.status === 'ok' ? 'ok' : 'degraded',
      backend:
        backend.status === 'ok'
          ? {
              status: 'ok',
              circuit: svc.breaker.state,
              latency_ms: backend.latencyMs,
              ...(backend.testModels === undefined ? {} : { test_models: backend.testModels }),
              ...(backend.warning === undefined ? {} : { warning: backend.warning }),
            }
          : { status: backend.status, circuit: svc.breaker.state, latency_ms: backend.latencyMs, detail: backend.detail },
      admission: admissionReport(svc.admission, svc.config.admission),
    };
    c.header('cache-control', 'no-store');
    return c.json(body, 200);
  });
}
