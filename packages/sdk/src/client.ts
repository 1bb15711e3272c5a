import type { components } from './generated/schema.js';
import { CoyoInputError } from './errors.js';
import { APIPromise, PagePromise, type WithRequestId } from './internal/api-promise.js';
import { imageJson, resolveImage, type ImageInput, type ResolvedImage } from './internal/image.js';
import { send, type PreparedRequest, type RequestOptions, type TransportConfig } from './internal/request.js';
import type { JsonBody, JsonOk, Query } from './internal/types.js';
import { VERSION } from './version.js';

export type { RequestOptions };

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
export type EmbeddingsParams = Omit<JsonBody<'/v1/embeddings', 'post'>, 'images'> & { images?: ImageInput[] };
export type SimilarityParams = Omit<JsonBody<'/v1/similarity', 'post'>, 'images'> & { images: ImageInput[] };
export type Embeddings = JsonOk<'/v1/embeddings', 'post'>;
export type Similarity = JsonOk<'/v1/similarity', 'post'>;
export type ModelList = JsonOk<'/v1/models', 'get'>;
/** One COYO-700M row; with `columns`, only those keys are present. */
export type CoyoRow = components['schemas']['CoyoRow'];
/** A column name of {@link CoyoRow}. */
export type CoyoColumn = Extract<keyof CoyoRow, string>;
export type CoyoLookup = JsonOk<'/v1/coyo/{id}', 'get'>;
/** `coyo.batch()`'s answer: one entry per id asked, `null` where no row has it. */
export type CoyoBatch = Omit<JsonOk<'/v1/coyo/batch', 'post'>, 'rows'> & { rows: (CoyoRow | null)[] };
export type CoyoRowsPage = JsonOk<'/v1/coyo/rows', 'get'>;
export type CoyoRowsItem = CoyoRowsPage['rows'][number];
export type CoyoRowsParams = Omit<Query<'/v1/coyo/rows', 'get'>, 'columns'> & { columns?: CoyoColumn[] };
export type CoyoFilterParams = Omit<Query<'/v1/coyo/filter', 'get'>, 'columns'> & { columns?: CoyoColumn[] };
export type CoyoFilterPage = JsonOk<'/v1/coyo/filter', 'get'>;
export type CoyoStats = JsonOk<'/v1/coyo/stats', 'get'>;

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
 * The body of an image route: one image of bytes as a raw body (fields in the query), several as
 * multipart parts, anything with a URL or base64 as JSON (bytes then go as base64).
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
    const type = bytes[0].type.startsWith('image/') ? bytes[0].type : 'application/octet-stream';
    return { method: 'POST', path, query: Object.fromEntries(entries.map(([k, v]) => [k, fieldText(v)])), body: { bytes: bytes[0].bytes, type } };
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

async function jsonImages<P extends { images?: ImageInput[] | undefined }>(params: P): Promise<Omit<P, 'images'> & { images?: ({ url: string } | { base64: string })[] }> {
  const { images, ...rest } = params;
  if (images === undefined) return rest;
  if (!Array.isArray(images)) throw new CoyoInputError('images must be an array');
  const resolved = await Promise.all(images.map((image, i) => resolveImage(image, `images[${String(i)}]`)));
  return { ...rest, images: resolved.map(imageJson) };
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

  /** Cosine similarities (and ALIGN logits) of N images × M texts. */
  similarity(params: SimilarityParams, options?: RequestOptions): APIPromise<Similarity> {
    return this.request(async () => ({ method: 'POST', path: '/v1/similarity', body: { json: await jsonImages(params) } }), options);
  }
}

/** `client.embeddings`: ALIGN image and text embeddings. */
export class EmbeddingsResource {
  constructor(private readonly client: Coyo) {}

  /** Embeds texts and/or images (normalised by default; `encoding_format: 'base64'` for compact float32). */
  create(params: EmbeddingsParams, options?: RequestOptions): APIPromise<Embeddings> {
    return this.client.request(async () => ({ method: 'POST', path: '/v1/embeddings', body: { json: await jsonImages(params) } }), options);
  }
}

/** `client.models`: what the API serves. */
export class ModelsResource {
  constructor(private readonly client: Coyo) {}

  /** The served models, their dimensions and the backend's health. */
  list(options?: RequestOptions): APIPromise<ModelList> {
    return this.client.request(() => ({ method: 'GET', path: '/v1/models' }), options);
  }
}

function columnsQuery(columns: readonly CoyoColumn[] | undefined): string | undefined {
  return columns === undefined ? undefined : columns.join(',');
}

/** `client.coyo`: COYO-700M metadata. */
export class CoyoResource {
  constructor(private readonly client: Coyo) {}

  /** One row by id; throws {@link NotFoundError} when no row has it. */
  retrieve(id: number, params: { columns?: CoyoColumn[] } = {}, options?: RequestOptions): APIPromise<CoyoLookup> {
    return this.client.request(() => {
      if (!Number.isSafeInteger(id) || id < 0) throw new CoyoInputError(`id must be a non-negative integer, got ${String(id)}`);
      return { method: 'GET', path: `/v1/coyo/${String(id)}`, query: { columns: columnsQuery(params.columns) } };
    }, options);
  }

  /** Up to 100 rows by id, in the order asked; absent ids give `null`. */
  batch(ids: number[], params: { columns?: CoyoColumn[] } = {}, options?: RequestOptions): APIPromise<CoyoBatch> {
    return this.client.request(() => ({ method: 'POST', path: '/v1/coyo/batch', body: { json: { ids, ...params } } }), options);
  }

  /**
   * Rows in global id order from `offset` (default 0), `length` (≤ 100, default 100) per page:
   * `await` for one page, `for await (const { row_idx, row } of coyo.rows())` for every row after it.
   */
  rows(params: CoyoRowsParams = {}, options?: RequestOptions): PagePromise<CoyoRowsPage, CoyoRowsItem> {
    const { columns, ...query } = params;
    return this.client.requestPage<CoyoRowsPage, CoyoRowsItem>(
      () => ({ method: 'GET', path: '/v1/coyo/rows', query: { ...query, columns: columnsQuery(columns) } }),
      (page) => {
        const offset = page.offset + page.rows.length;
        return page.rows.length === 0 || offset >= page.num_rows_total ? undefined : this.rows({ ...params, offset }, options);
      },
      (page) => page.rows,
      options,
    );
  }

  /**
   * Rows matching the predicates, `limit` (default 20) per page: `await` for one page,
   * `for await (const row of coyo.filter({ … }))` for every match, `.pages()` for the pages.
   */
  filter(params: CoyoFilterParams = {}, options?: RequestOptions): PagePromise<CoyoFilterPage, CoyoRow> {
    const { columns, ...query } = params;
    return this.client.requestPage<CoyoFilterPage, CoyoRow>(
      () => ({ method: 'GET', path: '/v1/coyo/filter', query: { ...query, columns: columnsQuery(columns) } }),
      (page) => (page.next_cursor === null ? undefined : this.filter({ ...params, cursor: page.next_cursor }, options)),
      (page) => page.rows,
      options,
    );
  }

  /** Dataset version, row and shard counts, per-column ranges. */
  stats(options?: RequestOptions): APIPromise<CoyoStats> {
    return this.client.request(() => ({ method: 'GET', path: '/v1/coyo/stats' }), options);
  }
}

export type { WithRequestId };
