import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { binaryImageBody } from '../../schemas/image';
import { ClassifyQuerySchema, ClassifyRequestSchema, ScoresResponseSchema, TopKSchema } from '../../schemas/inference';
import { bearerSecurity, contentDigestHeader, digestInferenceProblemResponses, openapiOwnBody, requestBodyLimit } from '../shared';
import { classifyRequestExample, classifyResponseExample } from './examples';
import { readClaimableImageRequest } from './image-request';

/** Classes returned when the request does not say (the Hugging Face pipeline default). */
export const DEFAULT_TOP_K = 5;

const FieldsSchema = z.object({ top_k: TopKSchema.optional() });

const MultipartSchema = {
  type: 'object' as const,
  required: ['image'],
  properties: {
    image: { type: 'string' as const, format: 'binary', description: 'Image file; repeat the part for several images.' },
    top_k: { type: 'integer' as const, minimum: 1, maximum: 1000 },
  },
};

/** `x-cache` of a classification: per image, whether its ranking came from the edge cache. */
const classifyCacheHeader = z.object({
  'x-cache': z
    .enum(['hit', 'miss', 'partial'])
    .openapi({ description: 'Whether every image’s classes came from the cache (`hit`), none (`miss`) or some (`partial`).' }),
});

export const classifyRoute = createRoute({
  method: 'post',
  path: '/v1/classify',
  operationId: 'classify',
  tags: ['inference'],
  summary: 'ImageNet classification (ViT-L/16 @384)',
  description:
    'The `top_k` most likely of the 1,000 ImageNet classes, softmax scores, best first. The body is JSON, multipart (`image` parts, ' +
    'optional `top_k` field) or the raw image (`top_k` in the query).\n\n' +
    'Answers are cached at the edge per image content (SHA-256 of the bytes) and model revision, each with the image’s best ' +
    '`max(top_k, 10)` classes, so the same image costs one model pass for any `top_k` up to 10, or up to the deepest `top_k` ' +
    'asked for it so far (a deeper request is computed again, and then cached); with several images only the uncached ones ' +
    'reach the model. Cached answers equal the model’s own. New model weights start a fresh cache within minutes (when the ' +
    'edge refreshes its model info). `x-cache` says whether the classes came from the cache.',
  security: bearerSecurity,
  middleware: [requestBodyLimit()] as const,
  request: {
    query: ClassifyQuerySchema,
    headers: contentDigestHeader,
    body: {
      content: {
        'application/json': { schema: ClassifyRequestSchema, example: classifyRequestExample },
        'multipart/form-data': { schema: MultipartSchema },
        'image/*': binaryImageBody,
        'application/octet-stream': binaryImageBody,
      },
      required: true,
    },
  },
  responses: {
    200: {
      description: 'Classes with scores, best first: one list, or one list per image for `images` / several parts.',
      headers: classifyCacheHeader,
      content: { 'application/json': { schema: ScoresResponseSchema, example: classifyResponseExample } },
    },
    ...digestInferenceProblemResponses,
  },
});

/** Registers `POST /v1/classify`. */
export function registerClassify(app: OpenAPIHono<AppEnv>): void {
  openapiOwnBody(app, classifyRoute, async (c) => {
    const svc = c.var.services();
    const { images, batched, fields } = await readClaimableImageRequest(c, svc, {
      json: ClassifyRequestSchema,
      fields: FieldsSchema,
      // A multipart request may give top_k as a form field or in the query.
      collect: (source, query) => ({ top_k: source.value('top_k') ?? query.value('top_k') }),
      fromJson: ({ top_k }) => ({ top_k }),
    });
    const lists = await svc.classifier.classify(images, fields.top_k ?? DEFAULT_TOP_K);
    // The classes are built: nothing reads the images' bytes again.
    svc.bodies.release();
    c.header('x-cache', svc.classifier.cacheStatus);
    return c.json(batched ? lists : (lists[0] ?? []), 200);
  });
}
