import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { SimilarityRequestSchema, SimilarityResponseSchema } from '../../schemas/inference';
import { intakeImageInputs } from '../../services/image-intake';
import { bearerSecurity, bodyKind, cacheHeader, inferenceProblemResponses, inlineImageJson, requestBodyLimit } from '../shared';
import { similarityRequestExample, similarityResponseExample } from './examples';

export const similarityRoute = createRoute({
  method: 'post',
  path: '/v1/similarity',
  operationId: 'similarity',
  tags: ['inference'],
  summary: 'Image–text similarity matrix (ALIGN)',
  description: 'Cosine similarity of every image with every text (N×M), and the logits `cosine / temperature` ALIGN would score.',
  security: bearerSecurity,
  middleware: [requestBodyLimit(), inlineImageJson()] as const,
  request: { body: { content: { 'application/json': { schema: SimilarityRequestSchema, example: similarityRequestExample } }, required: true } },
  responses: {
    200: { description: 'Similarity matrices, rows = images, columns = texts.', headers: cacheHeader, content: { 'application/json': { schema: SimilarityResponseSchema, example: similarityResponseExample } } },
    ...inferenceProblemResponses,
  },
});

/** Registers `POST /v1/similarity`. */
export function registerSimilarity(app: OpenAPIHono<AppEnv>): void {
  app.openapi(similarityRoute, async (c) => {
    bodyKind(c, false);
    const svc = c.var.services();
    const body = c.req.valid('json');
    const images = await intakeImageInputs(body.images, svc.intake, svc.imageBudget(), (i) => `images[${i}]`);
    const result = await svc.inference.similarity(images, body.texts);
    c.header('x-cache', svc.inference.cacheStatus);
    return c.json(result, 200);
  });
}
