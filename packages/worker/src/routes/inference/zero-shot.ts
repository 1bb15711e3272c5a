import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { binaryImageBody } from '../../schemas/image';
import {
  checkHypothesisLengths,
  DEFAULT_HYPOTHESIS_TEMPLATE,
  HypothesisTemplateSchema,
  LabelsSchema,
  ScoresResponseSchema,
  ZeroShotQuerySchema,
  ZeroShotRequestSchema,
} from '../../schemas/inference';
import { bearerSecurity, contentDigestHeader, cacheHeader, digestInferenceProblemResponses, openapiOwnBody, requestBodyLimit } from '../shared';
import { zeroShotRequestExample, zeroShotResponseExample } from './examples';
import { labelList, readClaimableImageRequest } from './image-request';

const FieldsSchema = z.object({ labels: LabelsSchema, hypothesis_template: HypothesisTemplateSchema.optional() }).superRefine(checkHypothesisLengths);

const MultipartSchema = {
  type: 'object' as const,
  required: ['image', 'labels'],
  properties: {
    image: { type: 'string' as const, format: 'binary', description: 'Image file; repeat the part for several images.' },
    labels: { type: 'string' as const, description: 'One field per label, or one comma-separated field.' },
    hypothesis_template: { type: 'string' as const },
  },
};

export const zeroShotRoute = createRoute({
  method: 'post',
  path: '/v1/zero-shot',
  operationId: 'zeroShot',
  tags: ['inference'],
  summary: 'Zero-shot image classification (ALIGN)',
  description:
    'Scores candidate labels against each image: both are embedded by ALIGN, L2-normalised, and the cosine similarities divided by ' +
    'the learned temperature go through a softmax over the labels (the Hugging Face zero-shot pipeline). The body is JSON, ' +
    'multipart (`image` parts + `labels` fields) or the raw image (`Content-Type: image/*`, labels in the query).',
  security: bearerSecurity,
  middleware: [requestBodyLimit()] as const,
  request: {
    query: ZeroShotQuerySchema,
    headers: contentDigestHeader,
    body: {
      content: {
        'application/json': { schema: ZeroShotRequestSchema, example: zeroShotRequestExample },
        'multipart/form-data': { schema: MultipartSchema },
        'image/*': binaryImageBody,
        'application/octet-stream': binaryImageBody,
      },
      required: true,
    },
  },
  responses: {
    200: {
      description: 'Labels with scores, best first: one list, or one list per image for `images` / several parts.',
      headers: cacheHeader,
      content: { 'application/json': { schema: ScoresResponseSchema, example: zeroShotResponseExample } },
    },
    ...digestInferenceProblemResponses,
  },
});

/** Registers `POST /v1/zero-shot`. */
export function registerZeroShot(app: OpenAPIHono<AppEnv>): void {
  openapiOwnBody(app, zeroShotRoute, async (c) => {
    const svc = c.var.services();
    const { images, batched, fields } = await readClaimableImageRequest(c, svc, {
      json: ZeroShotRequestSchema,
      fields: FieldsSchema,
      collect: (source) => ({ labels: labelList(source.values('labels'), source.in), hypothesis_template: source.value('hypothesis_template') }),
      fromJson: ({ labels, hypothesis_template }) => ({ labels, hypothesis_template }),
    });
    const lists = await svc.inference.zeroShot(images, fields.labels, fields.hypothesis_template ?? DEFAULT_HYPOTHESIS_TEMPLATE);
    // The scores are built: nothing reads the images' bytes again.
    svc.bodies.release();
    c.header('x-cache', svc.inference.cacheStatus);
    return c.json(batched ? lists : (lists[0] ?? []), 200);
  });
}
