import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { ModelsResponseSchema, type ModelsResponse } from '../../schemas/meta';
import { backendProblemResponses, commonProblemResponses } from '../../schemas/problem';
import { bearerSecurity } from '../shared';
import { modelsResponseExample } from './examples';

export const modelsRoute = createRoute({
  method: 'get',
  path: '/v1/models',
  operationId: 'modelsList',
  tags: ['models'],
  summary: 'Models the backend serves',
  description: 'Live from the backend: ids, tasks, dims, ALIGN’s learned temperature, the device, and a warning when test models are served.',
  security: bearerSecurity,
  responses: {
    200: { description: 'The served models.', content: { 'application/json': { schema: ModelsResponseSchema, example: modelsResponseExample } } },
    ...commonProblemResponses,
    ...backendProblemResponses,
  },
});

/** Registers `GET /v1/models`; it also refreshes the cached model info the inference routes use. */
export function registerModels(app: OpenAPIHono<AppEnv>): void {
  app.openapi(modelsRoute, async (c) => {
    const svc = c.var.services();
    const { modelInfo } = svc;
    const info = await modelInfo.get(c.env.CACHE, () => svc.backend.models({ requestId: svc.requestId, deadline: svc.deadline }), svc.defer, true);
    const body: ModelsResponse = {
      object: 'list',
      data: info.models.map((m) => ({ ...m })),
      backend: { device: info.device, test_models: info.test_models, ...(info.warning === undefined ? {} : { warning: info.warning }) },
    };
    return c.json(body, 200);
  });
}
