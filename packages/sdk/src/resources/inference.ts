import type { APIPromise } from '../internal/api-promise.js';
import { imagesBody, rawImageBody, resolveImage, type ImageInput } from '../internal/image.js';
import type { PreparedRequest, RequestOptions } from '../internal/request.js';
import type { JsonBody, JsonOk } from '../internal/types.js';
import type { Coyo } from '../client.js';
import type { components } from '../generated/schema.js';

/**
 * The native request: the route also takes OpenAI's shape (`input`, `model`, `dimensions`, `user`) for OpenAI's own
 * clients, which the SDK never sends, so those fields are left out and the answer is always the native one.
 */
export type EmbeddingsParams = Omit<JsonBody<'/v1/embeddings', 'post'>, 'images' | 'input' | 'model' | 'dimensions' | 'user'> & {
  images?: ImageInput[];
};
export type Embeddings = components['schemas']['EmbeddingsResponse'];
export type ModelList = JsonOk<'/v1/models', 'get'>;

/** `client.embeddings`: ALIGN image and text embeddings. */
export class EmbeddingsResource {
  constructor(private readonly client: Coyo) {}

  /**
   * Embeds texts and/or images (normalised by default; `encoding_format: 'base64'` for compact float32).
   * One image of bytes and no texts goes as the raw body (options in the query, its SHA-256 in
   * `Content-Digest`); other images that are all bytes go as multipart parts (no base64); with a URL or
   * base64 string among them, the request is JSON. The answer is the same: texts first, then images,
   * each in order.
   */
  create(params: EmbeddingsParams, options?: RequestOptions): APIPromise<Embeddings> {
    return this.client.request(() => embeddingsRequest(params), options);
  }
}

async function embeddingsRequest(params: EmbeddingsParams): Promise<PreparedRequest> {
  const path = '/v1/embeddings';
  const { images, texts, ...fields } = params;
  const [only] = images ?? [];
  if (images?.length !== 1 || only === undefined || (texts !== undefined && texts.length > 0)) return { method: 'POST', path, body: await imagesBody(params) };
  const image = await resolveImage(only, 'images[0]');
  // A URL or base64 string is a reference the edge fetches or decodes: JSON, as before.
  if ('ref' in image) return { method: 'POST', path, body: await imagesBody({ ...params, images: [image.ref] }) };
  const query = Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, String(value)]));
  return { method: 'POST', path, query, body: await rawImageBody(image) };
}

/** `client.models`: what the API serves. */
export class ModelsResource {
  constructor(private readonly client: Coyo) {}

  /** The served models, their dimensions and the backend's health. */
  list(options?: RequestOptions): APIPromise<ModelList> {
    return this.client.request(() => ({ method: 'GET', path: '/v1/models' }), options);
  }
}
