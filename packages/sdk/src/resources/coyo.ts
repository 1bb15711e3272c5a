import type { components } from '../generated/schema.js';
import { APIConnectionError, CoyoError, CoyoInputError, InvalidResponseError } from '../errors.js';
import type { APIPromise, PagePromise } from '../internal/api-promise.js';
import type { RequestOptions } from '../internal/request.js';
import type { JsonOk, Query } from '../internal/types.js';
import type { Coyo } from '../client.js';
import { imageJson, resolveImage, type ImageInput } from '../internal/image.js';

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
export type CoyoByUrl = JsonOk<'/v1/coyo/by-url', 'get'>;
export type CoyoByDomainParams = Query<'/v1/coyo/by-domain', 'get'>;
export type CoyoByDomainPage = JsonOk<'/v1/coyo/by-domain', 'get'>;
export type CoyoByPhashParams = Omit<Query<'/v1/coyo/by-phash', 'get'>, 'phash'>;
export type CoyoByPhash = JsonOk<'/v1/coyo/by-phash', 'get'>;
export type CoyoPhashMatch = components['schemas']['CoyoPhashMatch'];
/** `coyo.lookupImage()`'s options: the largest distance (0–8, default 0) and most matches (default 20). */
export interface CoyoLookupImageParams {
  maxDistance?: number;
  limit?: number;
}
/** The body formats of `coyo.export`. */
export type CoyoExportFormat = 'jsonl' | 'csv' | 'parquet';
export type CoyoExportParams = Omit<Query<'/v1/coyo/export', 'get'>, 'columns' | 'format'> & { columns?: CoyoColumn[]; format?: CoyoExportFormat };

/** One export response: its body (unread) and where the next response starts. */
export interface CoyoExportPart {
  /** The body, in the requested format: a JSON Lines, CSV or Parquet file of its own. */
  readonly body: ReadableStream<Uint8Array>;
  /** The `cursor` of the next response; null when this one reaches the end. */
  readonly nextCursor: string | null;
  /** The dataset version this response read. */
  readonly version: string | null;
  readonly response: Response;
}

/**
 * `coyo.export()`'s rows: `for await (const row of coyo.export({ … }))` reads every row across the
 * responses; `.toReadableStream()` gives the same rows as a web stream.
 */
export interface CoyoExportRows extends AsyncIterable<CoyoRow> {
  toReadableStream(): ReadableStream<CoyoRow>;
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
   * Rows in global id order from `offset` (default 0), `length` (≤ 1000, default 100) per page:
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

  /**
   * One export response (`format` jsonl, csv or parquet): the body unread, with the cursor of the next
   * response. For a file per response, e.g. Parquet: `for await (const part of coyo.exportParts({ … }))`.
   */
  async exportPart(params: CoyoExportParams = {}, options?: RequestOptions): Promise<CoyoExportPart> {
    const { columns, ...query } = params;
    const response = await this.client
      .request<never>(() => ({ method: 'GET', path: '/v1/coyo/export', query: { ...query, columns: columnsQuery(columns) } }), options)
      .asResponse();
    if (response.body === null) throw new InvalidResponseError('The API answered an export with no body.', response);
    return {
      body: response.body,
      nextCursor: response.headers.get('x-coyo-next-cursor'),
      version: response.headers.get('x-coyo-version'),
      response,
    };
  }

  /** Every export response in turn, following the cursors; read (or cancel) each body before asking for the next. */
  async *exportParts(params: CoyoExportParams = {}, options?: RequestOptions): AsyncGenerator<CoyoExportPart, void, undefined> {
    let cursor = params.cursor;
    for (;;) {
      const part = await this.exportPart({ ...params, ...(cursor === undefined ? {} : { cursor }) }, options);
      yield part;
      if (part.nextCursor === null) return;
      cursor = part.nextCursor;
    }
  }

  /**
   * Every row matching the predicates (the parameters of {@link filter}, no `limit`), streamed as JSON
   * Lines and read one line at a time across responses. A response whose body breaks off is asked for
   * again with the same cursor (up to `maxRetries` times, default 2) and the rows already yielded are
   * skipped, as long as the dataset version is the same.
   */
  export(params: Omit<CoyoExportParams, 'format'> = {}, options?: RequestOptions): CoyoExportRows {
    const rows = () => this.exportRows(params, options);
    return {
      [Symbol.asyncIterator]: rows,
      toReadableStream(): ReadableStream<CoyoRow> {
        const iterator = rows();
        return new ReadableStream<CoyoRow>(
          {
            async pull(controller) {
              const next = await iterator.next();
              if (next.done === true) controller.close();
              else controller.enqueue(next.value);
            },
            async cancel() {
              await iterator.return(undefined);
            },
          },
          { highWaterMark: 0 },
        );
      },
    };
  }

  private async *exportRows(params: Omit<CoyoExportParams, 'format'>, options?: RequestOptions): AsyncGenerator<CoyoRow, void, undefined> {
    const maxRetries = options?.maxRetries ?? 2;
    let cursor = params.cursor;
    for (;;) {
      let yielded = 0;
      let version: string | null = null;
      let nextCursor: string | null = null;
      for (let attempt = 0; ; attempt++) {
        const part = await this.exportPart({ ...params, format: 'jsonl', ...(cursor === undefined ? {} : { cursor }) }, options);
        if (attempt > 0 && part.version !== version) {
          await part.body.cancel().catch(() => undefined);
          throw new APIConnectionError(`An export response broke off and the dataset version changed (${String(version)} → ${String(part.version)}) before it could be resumed; restart from cursor ${String(cursor)}.`);
        }
        version = part.version;
        nextCursor = part.nextCursor;
        let skip = yielded;
        try {
          for await (const row of jsonLines(part.body)) {
            if (skip > 0) {
              skip -= 1;
              continue;
            }
            yielded += 1;
            yield row;
          }
          break;
        } catch (error) {
          if (error instanceof CoyoError || attempt >= maxRetries) throw error instanceof CoyoError ? error : new APIConnectionError(undefined, { cause: error });
        }
      }
      if (nextCursor === null) return;
      cursor = nextCursor;
    }
  }

  /**
   * Is this image URL in COYO-700M? The rows whose URL normalises to the same string (scheme and host case,
   * default port, fragment and percent-encoding do not matter).
   *
   * @example const { rows } = await coyo.coyo.byUrl('https://i.pinimg.com/736x/ab/cd/ef.jpg');
   */
  byUrl(url: string, options?: RequestOptions): APIPromise<CoyoByUrl> {
    return this.client.request(() => ({ method: 'GET', path: '/v1/coyo/by-url', query: { url } }), options);
  }

  /**
   * The rows of a host with their count, `limit` (default 20, ≤ 100) per page: `await` for one page (and
   * `count`), `for await (const row of coyo.byDomain({ domain }))` for every row, `.pages()` for the pages.
   */
  byDomain(params: CoyoByDomainParams, options?: RequestOptions): PagePromise<CoyoByDomainPage, CoyoRow> {
    return this.client.requestPage<CoyoByDomainPage, CoyoRow>(
      () => ({ method: 'GET', path: '/v1/coyo/by-domain', query: { ...params } }),
      (page) => (page.next_cursor === null ? undefined : this.byDomain({ ...params, cursor: page.next_cursor }, options)),
      (page) => page.rows,
      options,
    );
  }

  /** Rows whose `image_phash` is within Hamming distance `max_distance` (0–8, default 0) of `phash` (16 hex digits), nearest first. */
  byPhash(phash: string, params: CoyoByPhashParams = {}, options?: RequestOptions): APIPromise<CoyoByPhash> {
    return this.client.request(() => ({ method: 'GET', path: '/v1/coyo/by-phash', query: { phash, ...params } }), options);
  }

  /**
   * Is this image in COYO-700M? The API computes its pHash (as Python's `imagehash.phash`) and answers the
   * rows within `maxDistance`, with the hash. The image: a URL, `{ base64 }`, a Blob, bytes or a stream.
   *
   * @example const found = await coyo.coyo.lookupImage(await fileFromPath('cat.jpg'), { maxDistance: 4 });
   */
  lookupImage(image: ImageInput, params: CoyoLookupImageParams = {}, options?: RequestOptions): APIPromise<CoyoByPhash> {
    return this.client.request(async () => {
      const resolved = await resolveImage(image, 'image');
      const json = {
        image: imageJson(resolved),
        ...(params.maxDistance === undefined ? {} : { max_distance: params.maxDistance }),
        ...(params.limit === undefined ? {} : { limit: params.limit }),
      };
      return { method: 'POST', path: '/v1/coyo/lookup-image', body: { json } };
    }, options);
  }

  /** Dataset version, row and shard counts, per-column ranges. */
  stats(options?: RequestOptions): APIPromise<CoyoStats> {
    return this.client.request(() => ({ method: 'GET', path: '/v1/coyo/stats' }), options);
  }
}

/** The rows of a JSON Lines body, one per line, as the bytes arrive. */
async function* jsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<CoyoRow, void, undefined> {
  const decoder = new TextDecoder();
  let pending = '';
  const reader = body.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      pending += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const lines = pending.split('\n');
      pending = done ? '' : (lines.pop() ?? '');
      for (const line of lines) if (line !== '') yield JSON.parse(line) as CoyoRow;
      if (done) {
        finished = true;
        return;
      }
    }
  } finally {
    // A consumer that stops early (break) closes the connection instead of leaving the body unread.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
