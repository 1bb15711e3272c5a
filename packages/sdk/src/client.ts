import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './generated/schema.js';
import { APIError, type Problem } from './errors.js';
import { createRetryingFetch } from './internal/retry.js';
import { toImagePayload, type ImageInput } from './internal/image.js';
import type { JsonBody, JsonOk, Query } from './internal/types.js';

/** Options of a {@link Coyo} client. */
export interface ClientOptions {
  /** The API's base URL, e.g. `https://api.coyo-edge.dev` or `http://127.0.0.1:8787`. Default: `COYO_BASE_URL`. */
  baseURL?: string;
  /** An API key (`coyo_…`). Default: the `COYO_API_KEY` environment variable. */
  apiKey?: string;
  /** Time allowed per attempt, in milliseconds. Default 60 000. */
  timeout?: number;
  /** Retries on connection errors, 408, 409, 429 and 5xx, honouring `Retry-After`. Default 2. */
  maxRetries?: number;
  /** The `fetch` to use: the single seam for tests, proxies and custom agents. Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string>;
}

/** Per-call options. */
export interface RequestOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export type ZeroShotParams = Omit<JsonBody<'/v1/zero-shot', 'post'>, 'image' | 'images'> & { image: ImageInput };
export type ZeroShotBatchParams = Omit<JsonBody<'/v1/zero-shot', 'post'>, 'image' | 'images'> & { images: ImageInput[] };
export type ClassifyParams = Omit<JsonBody<'/v1/classify', 'post'>, 'image' | 'images'> & { image: ImageInput };
export type ClassifyBatchParams = Omit<JsonBody<'/v1/classify', 'post'>, 'image' | 'images'> & { images: ImageInput[] };
export type EmbeddingsParams = Omit<JsonBody<'/v1/embeddings', 'post'>, 'images'> & { images?: ImageInput[] };
export type SimilarityParams = Omit<JsonBody<'/v1/similarity', 'post'>, 'images'> & { images: ImageInput[] };
/** One `{ label, score }` of a zero-shot or classification answer, sorted by score. */
export type LabelScore = { label: string; score: number };
export type Embeddings = JsonOk<'/v1/embeddings', 'post'>;
export type Similarity = JsonOk<'/v1/similarity', 'post'>;
export type ModelList = JsonOk<'/v1/models', 'get'>;
export type CoyoRow = JsonOk<'/v1/coyo/{id}', 'get'>;
export type CoyoRows = JsonOk<'/v1/coyo/rows', 'get'>;
export type CoyoFilterParams = Query<'/v1/coyo/filter', 'get'>;
export type CoyoFilterPage = JsonOk<'/v1/coyo/filter', 'get'>;
export type CoyoStats = JsonOk<'/v1/coyo/stats', 'get'>;

function env(name: string): string | undefined {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  return g.process?.env?.[name];
}

/**
 * The coyo-edge client.
 *
 * @example
 * const coyo = new Coyo({ apiKey: process.env.COYO_API_KEY });
 * const scores = await coyo.zeroShot({ image: { url: 'https://…/cat.jpg' }, labels: ['cat', 'dog'] });
 */
export class Coyo {
  readonly baseURL: string;
  readonly coyo: CoyoDataset;
  readonly embeddings: EmbeddingsResource;
  readonly models: ModelsResource;
  /** @internal */
  readonly http: Client<paths>;

  constructor(options: ClientOptions = {}) {
    const baseURL = options.baseURL ?? env('COYO_BASE_URL');
    if (!baseURL) throw new TypeError('baseURL is required (or set COYO_BASE_URL)');
    const apiKey = options.apiKey ?? env('COYO_API_KEY');
    this.baseURL = baseURL.replace(/\/+$/, '');
    const baseFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.http = createClient<paths>({
      baseUrl: this.baseURL,
      fetch: createRetryingFetch({ fetch: baseFetch, maxRetries: options.maxRetries ?? 2, timeoutMs: options.timeout ?? 60_000 }),
      headers: { ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...options.defaultHeaders },
    });
    this.coyo = new CoyoDataset(this);
    this.embeddings = new EmbeddingsResource(this);
    this.models = new ModelsResource(this);
  }

  /** Zero-shot classification of one image against free-text labels (ALIGN), scores sorted descending. */
  async zeroShot(params: ZeroShotParams, options?: RequestOptions): Promise<LabelScore[]>;
  /** Zero-shot classification of several images: one sorted list per image, in order. */
  async zeroShot(params: ZeroShotBatchParams, options?: RequestOptions): Promise<LabelScore[][]>;
  async zeroShot(params: ZeroShotParams | ZeroShotBatchParams, options?: RequestOptions): Promise<LabelScore[] | LabelScore[][]> {
    const body = await withImages(params);
    return unwrap(await this.http.POST('/v1/zero-shot', { body: body as never, ...requestInit(options) })) as LabelScore[] | LabelScore[][];
  }

  /** ImageNet-1k classification with ViT-L/16 (top 5 by default). */
  async classify(params: ClassifyParams, options?: RequestOptions): Promise<LabelScore[]>;
  async classify(params: ClassifyBatchParams, options?: RequestOptions): Promise<LabelScore[][]>;
  async classify(params: ClassifyParams | ClassifyBatchParams, options?: RequestOptions): Promise<LabelScore[] | LabelScore[][]> {
    const body = await withImages(params);
    return unwrap(await this.http.POST('/v1/classify', { body: body as never, ...requestInit(options) })) as LabelScore[] | LabelScore[][];
  }

  /** Cosine similarities (and ALIGN logits) of N images × M texts. */
  async similarity(params: SimilarityParams, options?: RequestOptions): Promise<Similarity> {
    const images = await Promise.all(params.images.map(toImagePayload));
    return unwrap(await this.http.POST('/v1/similarity', { body: { ...params, images } as never, ...requestInit(options) }));
  }
}

/** `client.embeddings`: ALIGN image and text embeddings. */
export class EmbeddingsResource {
  constructor(private readonly client: Coyo) {}

  /** Embeds texts and/or images (normalised by default; `encoding_format: 'base64'` for compact float32). */
  async create(params: EmbeddingsParams, options?: RequestOptions): Promise<Embeddings> {
    const images = params.images ? await Promise.all(params.images.map(toImagePayload)) : undefined;
    const body = { ...params, ...(images ? { images } : {}) };
    return unwrap(await this.client.http.POST('/v1/embeddings', { body: body as never, ...requestInit(options) }));
  }
}

/** `client.models`: what the API serves. */
export class ModelsResource {
  constructor(private readonly client: Coyo) {}

  /** The served models, their dimensions and the backend's health. */
  async list(options?: RequestOptions): Promise<ModelList> {
    return unwrap(await this.client.http.GET('/v1/models', requestInit(options)));
  }
}

/** `client.coyo`: COYO-700M metadata. */
export class CoyoDataset {
  constructor(private readonly client: Coyo) {}

  /** One row by id; throws {@link NotFoundError} when no row has it. */
  async retrieve(id: number, options?: RequestOptions): Promise<CoyoRow> {
    return unwrap(await this.client.http.GET('/v1/coyo/{id}', { params: { path: { id: String(id) } } as never, ...requestInit(options) }));
  }

  /** Up to 100 rows by id, in the order asked; absent ids give `null`. */
  async batch(ids: number[], options?: RequestOptions): Promise<JsonOk<'/v1/coyo/batch', 'post'>> {
    return unwrap(await this.client.http.POST('/v1/coyo/batch', { body: { ids } as never, ...requestInit(options) }));
  }

  /** A page of rows in global id order (`length` ≤ 100). */
  async rows(params: { offset: number; length: number }, options?: RequestOptions): Promise<CoyoRows> {
    return unwrap(await this.client.http.GET('/v1/coyo/rows', { params: { query: params } as never, ...requestInit(options) }));
  }

  /** One page of rows matching the predicates; pass `next_cursor` back as `cursor` to go on. */
  async filter(params: CoyoFilterParams, options?: RequestOptions): Promise<CoyoFilterPage> {
    return unwrap(await this.client.http.GET('/v1/coyo/filter', { params: { query: params } as never, ...requestInit(options) }));
  }

  /** Every page of a filter, following cursors until the scan is complete. */
  async *filterPages(params: CoyoFilterParams, options?: RequestOptions): AsyncGenerator<CoyoFilterPage> {
    let cursor: string | undefined;
    do {
      const page: CoyoFilterPage = await this.filter({ ...params, ...(cursor ? { cursor } : {}) } as CoyoFilterParams, options);
      yield page;
      cursor = (page as { next_cursor?: string | null }).next_cursor ?? undefined;
    } while (cursor);
  }

  /** Dataset version, row and shard counts, per-column ranges. */
  async stats(options?: RequestOptions): Promise<CoyoStats> {
    return unwrap(await this.client.http.GET('/v1/coyo/stats', requestInit(options)));
  }
}

async function withImages<T extends { image: ImageInput } | { images: ImageInput[] }>(params: T): Promise<Record<string, unknown>> {
  if ('images' in params) return { ...params, images: await Promise.all(params.images.map(toImagePayload)) };
  return { ...params, image: await toImagePayload(params.image) };
}

function requestInit(options: RequestOptions | undefined): { signal?: AbortSignal; headers?: Record<string, string> } {
  return { ...(options?.signal ? { signal: options.signal } : {}), ...(options?.headers ? { headers: options.headers } : {}) };
}

/** The 200 body of an answer (typed by the caller from the same spec), or the matching APIError. */
function unwrap<T>(result: { data?: unknown; error?: unknown; response: Response }): T {
  if (result.response.ok && result.data !== undefined) return result.data as T;
  const problem = typeof result.error === 'object' && result.error !== null ? (result.error as Problem) : undefined;
  throw APIError.from(result.response.status, problem, result.response.headers);
}
