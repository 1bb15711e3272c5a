import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { ProblemError } from '../../errors';
import { ModelSchema, ModelsResponseSchema, type ModelsResponse } from '../../schemas/meta';
import { backendProblemResponses, commonProblemResponses, problemResponse } from '../../schemas/problem';
import type { BackendModel } from '../../services/backend-client';
import { MODEL_ALIASES, modelFamily, servedModels } from '../compat/model-ids';
import { bearerSecurity } from '../shared';
import { modelsResponseExample } from './examples';

export const modelsRoute = createRoute({
  method: 'get',
  path: '/v1/models',
  operationId: 'modelsList',
  tags: ['models'],
  summary: 'Models the backend serves',
  description:
    'Live from the backend: ids, tasks, dims, ALIGN’s learned temperature, the device, and a warning when test models are served. ' +
    'The list and each model also carry OpenAI’s fields (`object`, `created`, `owned_by`), so `openai.models.list()` reads it.',
  security: bearerSecurity,
  responses: {
    200: { description: 'The served models.', content: { 'application/json': { schema: ModelsResponseSchema, example: modelsResponseExample } } },
    ...commonProblemResponses,
    ...backendProblemResponses,
  },
});

export const modelRoute = createRoute({
  operationId: 'modelsRetrieve',
  method: 'get',
  path: '/v1/models/{id}',
  tags: ['models'],
  summary: 'One served model',
  description:
    'A served model by its id (`align-base`, `vit-large-patch16-384`) or its Hugging Face Hub id (`kakaobrain/align-base`, ' +
    '`google/vit-large-patch16-384`, the slash URL-encoded as `%2F`), as OpenAI’s `models.retrieve()` asks for it. The answer ' +
    'carries the served id.',
  security: bearerSecurity,
  request: {
    params: z.object({
      id: z.string().min(1).openapi({ param: { name: 'id', in: 'path' }, example: 'align-base', description: 'A served model id or its Hub id.' }),
    }),
  },
  responses: {
    200: {
      description: 'The model.',
      content: {
        'application/json': {
          schema: ModelSchema,
          example: { id: 'align-base', object: 'model', created: 0, owned_by: 'kakaobrain', task: 'zero-shot-image-classification', embedding_dim: 640 },
        },
      },
    },
    404: problemResponse('No served model has this id', ['not_found']),
    ...commonProblemResponses,
    ...backendProblemResponses,
  },
});

/** Who publishes a served model's checkpoint: the namespace of its Hub id. */
function ownerOf(model: BackendModel): string {
  const family = modelFamily(model.id) ?? (model.task === 'image-classification' ? 'vit' : 'align');
  const hubId = MODEL_ALIASES[family][0] ?? '';
  return hubId.split('/')[0] ?? 'coyo-edge';
}

/** A backend model in the API's shape, with OpenAI's model fields. */
function modelOf(model: BackendModel): z.infer<typeof ModelSchema> {
  return { ...model, object: 'model', created: 0, owned_by: ownerOf(model) };
}

/**
 * Registers `GET /v1/models` (which also refreshes the cached model info the inference routes use)
 * and `GET /v1/models/{id}`.
 */
export function registerModels(app: OpenAPIHono<AppEnv>): void {
  app.openapi(modelsRoute, async (c) => {
    const svc = c.var.services();
    const info = await servedModels(c.env.CACHE, svc, true);
    const body: ModelsResponse = {
      object: 'list',
      data: info.models.map(modelOf),
      backend: { device: info.device, test_models: info.test_models, ...(info.warning === undefined ? {} : { warning: info.warning }) },
    };
    return c.json(body, 200);
  });
  app.openapi(modelRoute, async (c) => {
    const svc = c.var.services();
    const { id } = c.req.valid('param');
    const info = await servedModels(c.env.CACHE, svc);
    const family = modelFamily(id, info);
    const model =
      info.models.find((m) => m.id === id) ??
      (family === undefined ? undefined : info.models.find((m) => modelFamily(m.id, info) === family));
    if (model === undefined) throw new ProblemError('not_found', `no served model has the id ${id}; GET /v1/models lists them`);
    return c.json(modelOf(model), 200);
  });
}
