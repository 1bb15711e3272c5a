import type { components } from './generated/schema.js';
import { CoyoInputError } from './errors.js';
import { APIPromise, PagePromise, type WithRequestId } from './internal/api-promise.js';
import { imageJson, imagesBody, rawImageBody, resolveImage, type ImageInput, type ResolvedImage } from './internal/image.js';
import { send, type PreparedRequest, type RequestOptions, type TransportConfig } from './internal/request.js';
import type { JsonBody, JsonOk } from './internal/types.js';
import { VERSION } from './version.js';
import { CoyoResource } from './resources/coyo.js';
import { EmbeddingsResource, ModelsResource } from './resources/inference.js';

export type { RequestOptions, PreparedRequest };

/** Options of a {@link Coyo} client. */
export interface ClientOptions {
  /** The API's base URL, e.g. `https://api.coyo-edge.dev` or `http://127.0.0.1:8787`. Default: `COYO_BASE_URL`. */
  baseURL?: string | undefined;
  /** An API key (`coyo_…`). Default: the `COYO_API_KEY` environment variable. */
  apiKey?: string | undefined;
  /** Milliseconds for a whole call: every attempt, Retry-After waits and reading the body. Default 60 000. */
  timeout?: number;
  /** Retries on connection errors, 408, 409, 429 and 5xx, honouring `Retry-After`. Default 2. */
  maxRetries?: number;
  /** The longest `Retry-After` waited out, in ms; a longer one throws at once with `retryAfter` set. Default 5 000. */
  maxRetryAfter?: number;
  /** The `fetch` to use: the single seam for tests, proxies and custom agents. Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Headers sent with every request (in a browser the API's CORS policy must allow them). */
  defaultHeaders?: Record<string, string>;
  /**
   * Allows an API key in a web page, where every visitor can read it. Leave off unless the key is
   * the visitor's own (typed in by them) or the page is internal.
   */
  dangerouslyAllowBrowser?: boolean;
}

/** One `{ label, score }` of a zero-shot or classification answer, sorted by score. */
export type LabelScore = components['schemas']['LabelScore'];
type ZeroShotFields = Omit<JsonBody<'/v1/zero-shot', 'post'>, 'image' | 'images'>;
type ClassifyFields = Omit<JsonBody<'/v1/classify', 'post'>, 'image' | 'images'>;
export type ZeroShotParams = ZeroShotFields & { image: ImageInput };
export type ZeroShotBatchParams = ZeroShotFields & { images: ImageInput[] };
export type ClassifyParams = ClassifyFields & { image: ImageInput };
export type ClassifyBatchParams = ClassifyFields & { images: ImageInput[] };
export type SimilarityParams = Omit<JsonBody<'/v1/similarity', 'post'>, 'images'> & { images: ImageInput[] };
export type Similarity = JsonOk<'/v1/similarity', 'post'>;

function env(name: string): string | undefined {
  const g: { process?: { env?: Record<string, string | undefined> } } = globalThis;
  return g.process?.env?.[name];
}

function isBrowser(): boolean {
  return typeof window !== 'undefined' && typeof document !== 'undefined';
}

/** A field as a query parameter or form field: lists as one JSON array, so a label may hold a comma. */
function fieldText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The body of an image route: one image of bytes as a raw body (fields in the query, its SHA-256 in
 * `Content-Digest`), several as
 * multipart parts, anything with a URL or base64 as JSON (bytes then go as base64). A batch of one
 * goes as JSON too: the edge answers a lone raw or multipart image with a single list, not a list
 * of lists.
 */
async function imageRequest(path: '/v1/zero-shot' | '/v1/classify', params: { image: ImageInput } | { images: ImageInput[] }): Promise<PreparedRequest> {
  const { image: _image, images: _images, ...fields } = { image: undefined, images: undefined, ...params };
  const batched = 'images' in params;
  const inputs = batched ? params.images : [params.image];
  if (!Array.isArray(inputs) || inputs.length === 0) throw new CoyoInputError('images must be a non-empty array');
  const resolved = await Promise.all(inputs.map((input, i) => resolveImage(input, batched ? `images[${String(i)}]` : 'image')));
  const bytes = resolved.flatMap((image) => ('bytes' in image ? [image] : []));
  const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
  if (bytes.length === resolved.length && !batched && bytes[0] !== undefined) {
    return { method: 'POST', path, query: Object.fromEntries(entries.map(([k, v]) => [k, fieldText(v)])), body: await rawImageBody(bytes[0]) };
  }
  if (bytes.length === resolved.length && bytes.length > 1) {
    const form = new FormData();
    for (const [key, value] of entries) form.append(key, fieldText(value));
    for (const [i, image] of bytes.entries()) form.append('image', new Blob([image.bytes], { type: image.type }), `image-${String(i)}`);
    return { method: 'POST', path, body: { form } };
  }
  const json = (list: ResolvedImage[]) => list.map(imageJson);
  return { method: 'POST', path, body: { json: { ...Object.fromEntries(entries), ...(batched ? { images: json(resolved) } : { image: json(resolved)[0] }) } } };
}

/**
 * The coyo-edge client.
 *
 * @example
 * const coyo = new Coyo({ apiKey: process.env.COYO_API_KEY });
 * const scores = await coyo.zeroShot({ image: 'https://…/cat.jpg', labels: ['cat', 'dog'] });
 */
export class Coyo {
  readonly baseURL: string;
  readonly coyo: CoyoResource;
  readonly embeddings: EmbeddingsResource;
  readonly models: ModelsResource;
  private readonly transport: TransportConfig;

  constructor(options: ClientOptions = {}) {
    const baseURL = options.baseURL ?? env('COYO_BASE_URL');
    if (baseURL === undefined || baseURL === '') throw new CoyoInputError('baseURL is required (or set COYO_BASE_URL)');
    if (!/^https?:\/\//i.test(baseURL)) throw new CoyoInputError(`baseURL must be an http(s) URL, got ${JSON.stringify(baseURL)}`);
    const apiKey = options.apiKey ?? env('COYO_API_KEY');
    if (apiKey !== undefined && isBrowser() && options.dangerouslyAllowBrowser !== true) {
      throw new CoyoInputError(
        'An API key in a browser is readable by every visitor of the page. Call the API from a server, or pass ' +
          'dangerouslyAllowBrowser: true if the key is the visitor\'s own.',
      );
    }
    this.baseURL = baseURL.replace(/\/+$/, '');
    const client = `coyo-sdk/${VERSION}`;
    this.transport = {
      baseURL: this.baseURL,
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      headers: {
        'x-coyo-client': client,
        ...(isBrowser() ? {} : { 'user-agent': client }),
        ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
        ...options.defaultHeaders,
      },
      timeout: options.timeout ?? 60_000,
      maxRetries: options.maxRetries ?? 2,
      maxRetryAfter: options.maxRetryAfter ?? 5_000,
    };
    this.coyo = new CoyoResource(this);
    this.embeddings = new EmbeddingsResource(this);
    this.models = new ModelsResource(this);
  }

  /** Sends one request through the retrying transport; the answer is typed by the caller from the spec. */
  request<T>(prepare: () => PreparedRequest | Promise<PreparedRequest>, options?: RequestOptions): APIPromise<T> {
    return new APIPromise<T>(send(this.transport, prepare, options));
  }

  /** Like {@link request}, for an answer that continues on further pages. */
  requestPage<Page, Item>(
    prepare: () => PreparedRequest,
    next: (page: Page) => PagePromise<Page, Item> | undefined,
    items: (page: Page) => readonly Item[],
    options?: RequestOptions,
  ): PagePromise<Page, Item> {
    return new PagePromise<Page, Item>(send(this.transport, prepare, options), next, items);
  }

  /** Zero-shot classification of one image against free-text labels (ALIGN), scores sorted descending. */
  zeroShot(params: ZeroShotParams, options?: RequestOptions): APIPromise<LabelScore[]>;
  /** Zero-shot classification of several images: one sorted list per image, in order. */
  zeroShot(params: ZeroShotBatchParams, options?: RequestOptions): APIPromise<LabelScore[][]>;
  zeroShot(params: ZeroShotParams | ZeroShotBatchParams, options?: RequestOptions): APIPromise<LabelScore[] | LabelScore[][]> {
    return this.request(() => imageRequest('/v1/zero-shot', params), options);
  }

  /** ImageNet-1k classification with ViT-L/16 (`top_k` 5 by default). */
  classify(params: ClassifyParams, options?: RequestOptions): APIPromise<LabelScore[]>;
  /** ImageNet-1k classification of several images: one list per image, in order. */
  classify(params: ClassifyBatchParams, options?: RequestOptions): APIPromise<LabelScore[][]>;
  classify(params: ClassifyParams | ClassifyBatchParams, options?: RequestOptions): APIPromise<LabelScore[] | LabelScore[][]> {
    return this.request(() => imageRequest('/v1/classify', params), options);
  }

  /**
   * Cosine similarities (and ALIGN logits) of N images × M texts. Images that are all bytes go as
   * multipart parts (no base64); with a URL or base64 string among them, the request is JSON.
   */
  similarity(params: SimilarityParams, options?: RequestOptions): APIPromise<Similarity> {
    return this.request(async () => ({ method: 'POST', path: '/v1/similarity', body: await imagesBody(params) }), options);
  }
}

export type { WithRequestId };
