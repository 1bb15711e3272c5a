/**
 * Example answers of the meta routes, shown by the API reference page; `scripts/openapi-lint.test.ts`
 * parses each with the route's schema so none can drift.
 */
import { MODEL_TASKS } from '@coyo/backend-protocol';

export const healthResponseExample = {
  status: 'ok',
  backend: { status: 'ok', circuit: 'closed', latency_ms: 12, test_models: false },
  admission: { in_flight: 3, max_in_flight: 32, body_bytes: 412_870, admitted: 18_204, refused: 0 },
};

export const modelsResponseExample = {
  object: 'list',
  data: [
    {
      id: 'align-base',
      object: 'model',
      created: 0,
      owned_by: 'kakaobrain',
      revision: '3f9a1c0be27d4e58',
      task: MODEL_TASKS.zeroShot,
      image_size: 289,
      embedding_dim: 640,
      max_text_tokens: 64,
      temperature: 0.05,
    },
    { id: 'vit-large-patch16-384', object: 'model', created: 0, owned_by: 'google', revision: '9b0e27c4d1f35a86', task: MODEL_TASKS.imageClassification, image_size: 384, num_labels: 1000 },
  ],
  backend: { device: 'cuda', test_models: false },
};
