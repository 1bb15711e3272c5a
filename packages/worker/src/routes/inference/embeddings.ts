import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { validationProblem } from '../../errors';
import type { RequestServices } from '../../runtime';
import {
  EmbeddingsFormSchema,
  EmbeddingsQuerySchema,
  EmbeddingsRequestSchema,
  EmbeddingsResponseSchema,
  isOpenAiEmbeddingsRequest,
  OpenAiEmbeddingsResponseSchema,
  type EmbeddingsResponse,
} from '../../schemas/inference';
import { bytesToBase64, float32ToBytes } from '../../services/encoding';
import type { ImageSource } from '../../services/claimed-image';
import { checkMultipartFields, checkImageCount, checkRequestPixels, intakeImageInputs, intakeImageParts, readMultipart } from '../../services/image-intake';
import { openAiEmbeddings } from '../compat/openai-embeddings';
import { bearerSecurity, bodyKind, cacheHeader, contentDigestHeader, digestInferenceProblemResponses, openapiOwnBody, parseFields, requestBodyLimit } from '../shared';
import { binaryImageBody } from '../../schemas/image';
import { embeddingsRequestExample, embeddingsResponseExample } from './examples';
import { rawBodyImage, readJson } from './image-request';

const MultipartSchema = {
  type: 'object' as const,
  properties: {
    text: { type: 'string' as const, description: 'A text to embed; repeat the field for several, in order.' },
    image: { type: 'string' as const, format: 'binary', description: 'An image file; repeat the part for several, in order.' },
    normalize: { type: 'string' as const, enum: ['true', 'false'], description: 'L2-normalise each embedding (default true).' },
    encoding_format: { type: 'string' as const, enum: ['float', 'base64'], description: '`float` (default) or `base64` (little-endian float32 bytes).' },
  },
  description: 'At least one `text` field or `image` part. Answered as the JSON form with `texts` and `images` would be.',
};

export const embeddingsRoute = createRoute({
  method: 'post',
  path: '/v1/embeddings',
  operationId: 'embeddingsCreate',
  tags: ['inference'],
  summary: 'ALIGN text and image embeddings',
  description:
    'Embeddings in ALIGN’s shared 640-dim space, L2-normalised unless `normalize: false`. `encoding_format: "base64"` returns ' +
    'little-endian float32 bytes, base64-encoded (as OpenAI does).\n\n' +
    'The body is JSON, or multipart: `image` file parts (the image bytes, no base64) and `text` fields, each repeated once per ' +
    'input in order, beside `normalize` and `encoding_format` fields; it is answered as JSON `texts` and `images` would be.\n\n' +
    'One image alone may also be the raw body (`Content-Type: image/*` or `application/octet-stream`, `normalize` and ' +
    '`encoding_format` in the query), answered as JSON `images` with that one image would be; with a `Content-Digest` it is ' +
    'looked up in the cache before its body is read.\n\n' +
    'OpenAI’s request shape works too (`openai.embeddings.create()`): `{ model, input, encoding_format, dimensions?, user? }` ' +
    'instead of `texts` / `images`, answered in OpenAI’s list shape. `input` may also hold Jina-CLIP-style `{text}` / `{image}` ' +
    'items. `dimensions` other than the model’s own is refused with 400.',
  security: bearerSecurity,
  middleware: [requestBodyLimit()] as const,
  request: {
    query: EmbeddingsQuerySchema,
    headers: contentDigestHeader,
    body: {
      content: {
        'application/json': { schema: EmbeddingsRequestSchema, example: embeddingsRequestExample },
        'multipart/form-data': { schema: MultipartSchema },
        'image/*': binaryImageBody,
        'application/octet-stream': binaryImageBody,
      },
      required: true,
    },
  },
  responses: {
    200: {
      description: 'Embeddings: texts first, then images; for a request with `input`, OpenAI’s list in input order.',
      headers: cacheHeader,
      content: { 'application/json': { schema: z.union([EmbeddingsResponseSchema, OpenAiEmbeddingsResponseSchema]), example: embeddingsResponseExample } },
    },
    ...digestInferenceProblemResponses,
  },
});

/** The native request, whichever form it came in: texts, accepted images and the options. */
interface EmbeddingsInputs {
  texts: string[];
  images: ImageSource[];
  normalize: boolean;
  encodingFormat: 'float' | 'base64';
}

/** Reads a multipart body: `text` fields and `image` parts, each in order, and the options as fields. */
async function multipartInputs(c: Context<AppEnv>, svc: RequestServices): Promise<EmbeddingsInputs> {
  const parts = await readMultipart(c.req.raw, svc.config.maxRequestBytes, svc.bodies);
  checkMultipartFields(parts.fields, Object.keys(EmbeddingsFormSchema.shape));
  const form = parseFields(
    EmbeddingsFormSchema,
    { text: parts.fields.get('text'), normalize: parts.fields.get('normalize')?.[0], encoding_format: parts.fields.get('encoding_format')?.[0] },
    'body',
  );
  const texts = form.text ?? [];
  if (texts.length === 0 && parts.files.length === 0) {
    throw validationProblem([{ in: 'body', path: 'image', message: 'give image parts, text fields or both' }]);
  }
  const images = await intakeImageParts(parts.files, svc.config, svc.imageBudget());
  return { texts, images, normalize: form.normalize !== 'false', encodingFormat: form.encoding_format ?? 'float' };
}

/** Registers `POST /v1/embeddings`. */
export function registerEmbeddings(app: OpenAPIHono<AppEnv>): void {
  openapiOwnBody(app, embeddingsRoute, async (c) => {
    const svc = c.var.services();
    let inputs: EmbeddingsInputs;
    const kind = bodyKind(c, true);
    if (kind === 'binary') {
      const query = parseFields(EmbeddingsQuerySchema, c.req.query(), 'query');
      inputs = { texts: [], images: [await rawBodyImage(c, svc)], normalize: query.normalize !== 'false', encodingFormat: query.encoding_format ?? 'float' };
    } else if (kind === 'multipart') {
      inputs = await multipartInputs(c, svc);
    } else {
      const body = parseFields(EmbeddingsRequestSchema, await readJson(c), 'body');
      const encode = (v: Float32Array): number[] | string => (body.encoding_format === 'base64' ? bytesToBase64(float32ToBytes(v)) : Array.from(v));
      if (isOpenAiEmbeddingsRequest(body)) {
        const answer = await openAiEmbeddings(c.env.CACHE, svc, body, encode);
        c.header('x-cache', svc.inference.cacheStatus);
        return c.json(answer, 200);
      }
      if (body.images) checkImageCount(body.images.length, svc.config);
      const images = body.images ? await intakeImageInputs(body.images, svc.intake, svc.imageBudget(), (i) => `images[${i}]`) : [];
      inputs = { texts: body.texts ?? [], images, normalize: body.normalize ?? true, encodingFormat: body.encoding_format ?? 'float' };
    }
    checkRequestPixels(inputs.images, svc.config);
    const encode = (v: Float32Array): number[] | string => (inputs.encodingFormat === 'base64' ? bytesToBase64(float32ToBytes(v)) : Array.from(v));
    const result = await svc.inference.embeddings(inputs.texts, inputs.images, inputs.normalize);
    // The vectors are built: nothing reads the images' bytes again.
    svc.bodies.release();
    const response: EmbeddingsResponse = {
      model: result.model.id,
      dim: result.model.dim,
      data: [
        ...result.texts.map((v, index) => ({ index, type: 'text' as const, embedding: encode(v) })),
        ...result.images.map((v, index) => ({ index, type: 'image' as const, embedding: encode(v) })),
      ],
      usage: { text_tokens: result.textTokens, images: inputs.images.length },
    };
    c.header('x-cache', svc.inference.cacheStatus);
    return c.json(response, 200);
  });
}
