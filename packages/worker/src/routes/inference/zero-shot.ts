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
import { acceptImageBytes, intakeFiles, readMultipart, type IntakeImage } from '../../services/image-intake';
import { readCapped } from '../../services/read-capped';
import { bearerSecurity, bodyKind, checkFileCount, inferenceProblemResponses, jsonImages, labelList, parseFields, requestBodyLimit } from './shared';

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

export const cacheHeader = z.object({
  'x-cache': z.enum(['hit', 'miss', 'partial']).openapi({ description: 'Whether every embedding came from the cache (`hit`), none (`miss`) or some.' }),
});

export const zeroShotRoute = createRoute({
  method: 'post',
  path: '/v1/zero-shot',
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
    body: {
      content: {
        'application/json': { schema: ZeroShotRequestSchema },
        'multipart/form-data': { schema: MultipartSchema },
        'image/*': binaryImageBody,
        'application/octet-stream': binaryImageBody,
      },
    },
  },
  responses: {
    200: {
      description: 'Labels with scores, best first: one list, or one list per image for `images` / several parts.',
      headers: cacheHeader,
      content: { 'application/json': { schema: ScoresResponseSchema } },
    },
    ...inferenceProblemResponses,
  },
});

/** Registers `POST /v1/zero-shot`. */
export function registerZeroShot(app: OpenAPIHono<AppEnv>): void {
  app.openapi(zeroShotRoute, async (c) => {
    const svc = c.var.services();
    let images: IntakeImage[];
    let batched: boolean;
    let labels: string[];
    let template: string | undefined;
    switch (bodyKind(c, true)) {
      case 'json': {
        const body = parseFields(ZeroShotRequestSchema, await c.req.json<unknown>(), 'body');
        ({ images, batched } = await jsonImages(svc, body));
        labels = body.labels;
        template = body.hypothesis_template;
        break;
      }
      case 'multipart': {
        const parts = await readMultipart(c.req.raw);
        const fields = parseFields(
          FieldsSchema,
          { labels: labelList(parts.fields.get('labels'), 'body'), hypothesis_template: parts.fields.get('hypothesis_template')?.[0] },
          'body',
        );
        checkFileCount(parts.files.length);
        images = await intakeFiles(parts.files, svc.config.maxImageBytes, svc.imageBudget());
        batched = parts.files.length > 1;
        ({ labels, hypothesis_template: template } = fields);
        break;
      }
      case 'binary': {
        const fields = parseFields(
          FieldsSchema,
          { labels: labelList(c.req.queries('labels'), 'query'), hypothesis_template: c.req.query('hypothesis_template') },
          'query',
        );
        const bytes = await readCapped(c.req.raw, svc.config.maxImageBytes);
        images = [await acceptImageBytes(bytes, svc.config.maxImageBytes)];
        batched = false;
        ({ labels, hypothesis_template: template } = fields);
        break;
      }
    }
    const lists = await svc.inference.zeroShot(images, labels, template ?? DEFAULT_HYPOTHESIS_TEMPLATE);
    c.header('x-cache', svc.inference.cacheStatus);
    return c.json(batched ? lists : (lists[0] ?? []), 200);
  });
}
