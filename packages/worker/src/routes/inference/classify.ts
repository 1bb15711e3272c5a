import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { binaryImageBody } from '../../schemas/image';
import { ClassifyQuerySchema, ClassifyRequestSchema, ScoresResponseSchema, TopKSchema } from '../../schemas/inference';
import { acceptImageBytes, intakeFiles, readMultipart, type IntakeImage } from '../../services/image-intake';
import { readCapped } from '../../services/read-capped';
import { bearerSecurity, bodyKind, checkFileCount, inferenceProblemResponses, jsonImages, parseFields, requestBodyLimit } from './shared';

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
    body: {
      content: {
        'application/json': { schema: ClassifyRequestSchema },
        'multipart/form-data': { schema: MultipartSchema },
        'image/*': binaryImageBody,
        'application/octet-stream': binaryImageBody,
      },
    },
  },
  responses: {
    200: {
      description: 'Classes with scores, best first: one list, or one list per image for `images` / several parts.',
      headers: classifyCacheHeader,
      content: { 'application/json': { schema: ScoresResponseSchema } },
    },
    ...inferenceProblemResponses,
  },
});

/** Registers `POST /v1/classify`. */
export function registerClassify(app: OpenAPIHono<AppEnv>): void {
  app.openapi(classifyRoute, async (c) => {
    const svc = c.var.services();
    let images: IntakeImage[];
    let batched: boolean;
    let topK: number | undefined;
    switch (bodyKind(c, true)) {
      case 'json': {
        const body = parseFields(ClassifyRequestSchema, await c.req.json<unknown>(), 'body');
        ({ images, batched } = await jsonImages(svc, body));
        topK = body.top_k;
        break;
      }
      case 'multipart': {
        const parts = await readMultipart(c.req.raw);
        topK = parseFields(FieldsSchema, { top_k: parts.fields.get('top_k')?.[0] ?? c.req.query('top_k') }, 'body').top_k;
        checkFileCount(parts.files.length);
        images = await intakeFiles(parts.files, svc.config.maxImageBytes, svc.imageBudget());
        batched = parts.files.length > 1;
        break;
      }
      case 'binary': {
        topK = parseFields(FieldsSchema, { top_k: c.req.query('top_k') }, 'query').top_k;
        const bytes = await readCapped(c.req.raw, svc.config.maxImageBytes);
        images = [await acceptImageBytes(bytes, svc.config.maxImageBytes)];
        batched = false;
        break;
      }
    }
    const lists = await svc.classifier.classify(images, topK ?? DEFAULT_TOP_K);
    c.header('x-cache', svc.classifier.cacheStatus);
    return c.json(batched ? lists : (lists[0] ?? []), 200);
  });
}

