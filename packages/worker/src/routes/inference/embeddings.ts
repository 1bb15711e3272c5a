import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import {
  EmbeddingsRequestSchema,
  EmbeddingsResponseSchema,
  isOpenAiEmbeddingsRequest,
  OpenAiEmbeddingsResponseSchema,
  type EmbeddingsResponse,
} from '../../schemas/inference';
import { bytesToBase64, float32ToBytes } from '../../services/encoding';
import { intakeImageInputs } from '../../services/image-intake';
import { openAiEmbeddings } from '../compat/openai-embeddings';
import { bearerSecurity, bodyKind, cacheHeader, inferenceProblemResponses, inlineImageJson, requestBodyLimit } from '../shared';
import { embeddingsRequestExample, embeddingsResponseExample } from './examples';

export const embeddingsRoute = createRoute({
  method: 'post',
  path: '/v1/embeddings',
  operationId: 'embeddingsCreate',
  tags: ['inference'],
  summary: 'ALIGN text and image embeddings',
  description:
    'Embeddings in ALIGN’s shared 640-dim space, L2-normalised unless `normalize: false`. `encoding_format: "base64"` returns ' +
    'little-endian float32 bytes, base64-encoded (as OpenAI does).\n\n' +
    'OpenAI’s request shape works too (`openai.embeddings.create()`): `{ model, input, encoding_format, dimensions?, user? }` ' +
    'instead of `texts` / `images`, answered in OpenAI’s list shape. `input` may also hold Jina-CLIP-style `{text}` / `{image}` ' +
    'items. `dimensions` other than the model’s own is refused with 400.',
  security: bearerSecurity,
  middleware: [requestBodyLimit(), inlineImageJson()] as const,
  request: { body: { content: { 'application/json': { schema: EmbeddingsRequestSchema, example: embeddingsRequestExample } }, required: true } },
  responses: {
    200: {
      description: 'Embeddings: texts first, then images; for a request with `input`, OpenAI’s list in input order.',
      headers: cacheHeader,
      content: { 'application/json': { schema: z.union([EmbeddingsResponseSchema, OpenAiEmbeddingsResponseSchema]), example: embeddingsResponseExample } },
    },
    ...inferenceProblemResponses,
  },
});

/** Registers `POST /v1/embeddings`. */
export function registerEmbeddings(app: OpenAPIHono<AppEnv>): void {
  app.openapi(embeddingsRoute, async (c) => {
    bodyKind(c, false);
    const svc = c.var.services();
    const body = c.req.valid('json');
    const encode = (v: Float32Array): number[] | string => (body.encoding_format === 'base64' ? bytesToBase64(float32ToBytes(v)) : Array.from(v));
    if (isOpenAiEmbeddingsRequest(body)) {
      const answer = await openAiEmbeddings(c.env.CACHE, svc, body, encode);
      c.header('x-cache', svc.inference.cacheStatus);
      return c.json(answer, 200);
    }
    const texts = body.texts ?? [];
    const images = body.images ? await intakeImageInputs(body.images, svc.intake, svc.imageBudget(), (i) => `images[${i}]`) : [];
    const result = await svc.inference.embeddings(texts, images, body.normalize ?? true);
    const response: EmbeddingsResponse = {
      model: result.model.id,
      dim: result.model.dim,
      data: [
        ...result.texts.map((v, index) => ({ index, type: 'text' as const, embedding: encode(v) })),
        ...result.images.map((v, index) => ({ index, type: 'image' as const, embedding: encode(v) })),
      ],
      usage: { text_tokens: result.textTokens, images: images.length },
    };
    c.header('x-cache', svc.inference.cacheStatus);
    return c.json(response, 200);
  });
}
