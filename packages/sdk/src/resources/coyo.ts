import type { components } from '../generated/schema.js';
import { CoyoInputError } from '../errors.js';
import type { APIPromise, PagePromise } from '../internal/api-promise.js';
import type { RequestOptions } from '../internal/request.js';
import type { JsonOk, Query } from '../internal/types.js';
import type { Coyo } from '../client.js';

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
