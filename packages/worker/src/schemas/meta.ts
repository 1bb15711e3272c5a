import { z } from '@hono/zod-openapi';

export const ModelSchema = z
  .object({
    id: z.string().openapi({ example: 'align-base' }),
    object: z.literal('model').openapi({ description: 'OpenAI’s model object type, so OpenAI clients read the list and `models.retrieve()`.' }),
    created: z.int().openapi({ description: 'OpenAI’s creation time in Unix seconds: not tracked here, always 0.', example: 0 }),
    owned_by: z.string().openapi({ description: 'Who publishes the checkpoint on the Hugging Face Hub.', example: 'kakaobrain' }),
    revision: z.string().optional().openapi({
      example: '3f9a1c0be27d4e58',
      description:
        'Content hash of the served weights and pre-processing files; it changes whenever they do. Absent when the backend does not report one.',
    }),
    task: z.string().openapi({ example: 'zero-shot-image-classification' }),
    image_size: z.int().optional(),
    embedding_dim: z.int().optional(),
    max_text_tokens: z.int().optional(),
    num_labels: z.int().optional(),
    temperature: z.number().optional(),
  })
  .openapi('Model');

export const ModelsResponseSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(ModelSchema),
    backend: z.object({
      device: z.string().openapi({ example: 'cuda' }),
      test_models: z.boolean().openapi({ description: 'True when the backend serves small generated test models, not the real weights.' }),
      warning: z.string().optional(),
    }),
  })
  .openapi('ModelsResponse');
export type ModelsResponse = z.infer<typeof ModelsResponseSchema>;

export const HealthResponseSchema = z
  .object({
    status: z.enum(['ok', 'degraded']).openapi({ description: '`degraded` when the worker is up but the backend is not reachable.' }),
    backend: z.object({
      status: z.enum(['ok', 'unreachable', 'error']),
      circuit: z.enum(['closed', 'open', 'half-open']).openapi({ description: 'State of the worker’s circuit breaker in front of the backend.' }),
      latency_ms: z.number().optional(),
      test_models: z.boolean().optional(),
      warning: z.string().optional(),
      detail: z.string().optional(),
    }),
    admission: z
      .object({
        in_flight: z.int().openapi({ description: 'Backend-bound requests this isolate serves now.' }),
        max_in_flight: z.int().openapi({ description: '`ADMISSION_MAX_IN_FLIGHT`: more are refused with 503 `overloaded`.' }),
        body_bytes: z.int().openapi({ description: 'Request-body bytes those requests hold (`ADMISSION_MAX_BODY_BYTES` bounds it).' }),
        admitted: z.int().openapi({ description: 'Backend-bound requests admitted since the isolate started.' }),
        refused: z.int().openapi({ description: 'Backend-bound requests refused with 503 `overloaded` since the isolate started.' }),
      })
      .openapi({ description: 'The isolate’s admission limiter for backend-bound requests (one per isolate: other isolates count their own).' }),
  })
  .openapi('HealthResponse');
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
