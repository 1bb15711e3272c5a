import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { ProblemError, validationProblem } from '../../errors';
import type { RequestServices } from '../../runtime';
import { SimilarityFormSchema, SimilarityRequestSchema, SimilarityResponseSchema } from '../../schemas/inference';
import { checkImageCount, checkMultipartFields, checkRequestPixels, intakeImageInputs, intakeImageParts, readMultipart, type IntakeImage } from '../../services/image-intake';
import { bearerSecurity, bodyKind, cacheHeader, inferenceProblemResponses, openapiOwnBody, parseFields, requestBodyLimit } from '../shared';
import { similarityRequestExample, similarityResponseExample } from './examples';
import { readJson } from './image-request';

const MultipartSchema = {
  type: 'object' as const,
  required: ['image', 'text'],
  properties: {
    image: { type: 'string' as const, format: 'binary', description: 'An image file (a row of the matrices); repeat the part for several, in order.' },
    text: { type: 'string' as const, description: 'A text (a column of the matrices); repeat the field for several, in order.' },
  },
};

export const similarityRoute = createRoute({
  method: 'post',
  path: '/v1/similarity',
  operationId: 'similarity',
  tags: ['inference'],
  summary: 'Image–text similarity matrix (ALIGN)',
  description:
    'Cosine similarity of every image with every text (N×M), and the logits `cosine / temperature` ALIGN would score. The body is ' +
    'JSON, or multipart: `image` file parts (the image bytes, no base64) and `text` fields, each repeated in order, answered as ' +
    'JSON `images` and `texts` would be.',
  security: bearerSecurity,
  middleware: [requestBodyLimit()] as const,
  request: {
    body: {
      content: {
        'application/json': { schema: SimilarityRequestSchema, example: similarityRequestExample },
        'multipart/form-data': { schema: MultipartSchema },
      },
      required: true,
    },
  },
  responses: {
    200: { description: 'Similarity matrices, rows = images, columns = texts.', headers: cacheHeader, content: { 'application/json': { schema: SimilarityResponseSchema, example: similarityResponseExample } } },
    ...inferenceProblemResponses,
  },
});

/** Reads the images and texts of a JSON or multipart body, under the same caps either way. */
async function readInputs(c: Context<AppEnv>, svc: RequestServices): Promise<{ images: IntakeImage[]; texts: string[] }> {
  const kind = bodyKind(c, true);
  if (kind === 'binary') throw new ProblemError('unsupported_media_type', 'send application/json or multipart/form-data (image parts) here');
  if (kind === 'multipart') {
    const parts = await readMultipart(c.req.raw, svc.config.maxRequestBytes, svc.bodies);
    checkMultipartFields(parts.fields, Object.keys(SimilarityFormSchema.shape));
    const form = parseFields(SimilarityFormSchema, { text: parts.fields.get('text') }, 'body');
    if (parts.files.length === 0) throw validationProblem([{ in: 'body', path: 'image', message: 'add at least one file part named "image"' }]);
    return { images: await intakeImageParts(parts.files, svc.config, svc.imageBudget()), texts: form.text };
  }
  const body = parseFields(SimilarityRequestSchema, await readJson(c), 'body');
  checkImageCount(body.images.length, svc.config);
  return { images: await intakeImageInputs(body.images, svc.intake, svc.imageBudget(), (i) => `images[${i}]`), texts: body.texts };
}

/** Registers `POST /v1/similarity`. */
export function registerSimilarity(app: OpenAPIHono<AppEnv>): void {
  openapiOwnBody(app, similarityRoute, async (c) => {
    const svc = c.var.services();
    const { images, texts } = await readInputs(c, svc);
    checkRequestPixels(images, svc.config);
    const result = await svc.inference.similarity(images, texts);
    // The matrices are built: nothing reads the images' bytes again.
    svc.bodies.release();
    c.header('x-cache', svc.inference.cacheStatus);
    return c.json(result, 200);
  });
}
