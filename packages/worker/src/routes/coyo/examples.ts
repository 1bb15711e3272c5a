/**
 * Example requests and answers of the `/v1/coyo/*` routes, shown by the API reference page. They are
 * built with the reader's own encoders (cursors, CSV records) so they read exactly as the routes
 * write; `scripts/openapi-lint.test.ts` parses each with the route's schema so none can drift.
 */
import { COYO_SCHEMA, DATASET_CARD_ROW, type CoyoColumn } from '@coyo/coyo-schema';
import { csvRecord, encodeCursor, predicateFingerprint } from '@coyo/coyo-reader';

/** A published dataset version, as the pointer names it. */
export const VERSION = '658fe60119ae5582';


/** Two rows as a projection `columns=id,url,text` returns them. */
const ROWS = [
  { id: DATASET_CARD_ROW.id, url: DATASET_CARD_ROW.url, text: DATASET_CARD_ROW.text },
  { id: 2680060225217, url: 'https://images.example.com/photos/red-bicycle.jpg', text: 'A red bicycle leaning on a brick wall' },
] as const;

export const lookupResponseExample = { version: VERSION, row: DATASET_CARD_ROW };

export const batchRequestExample = { ids: [2680060225205, 1], columns: ['id', 'url', 'text'] };
export const batchResponseExample = { version: VERSION, rows: [ROWS[0], null] };

export const rowsResponseExample = {
  version: VERSION,
  offset: 0,
  length: 2,
  num_rows_total: 746_972_269,
  rows: ROWS.map((row, i) => ({ row_idx: i, row })),
};

export const filterResponseExample = {
  version: VERSION,
  rows: ROWS,
  // Where a filter without predicates resumes after the second row.
  next_cursor: encodeCursor({ v: 1, after: ROWS[1].id, f: predicateFingerprint([]) }),
  scanned_rows: 2,
  row_groups_read: 1,
  row_groups_skipped: 0,
};

/** The export body for `columns=id,url,text`, in the two text formats. */
export const exportJsonlExample = ROWS.map((row) => `${JSON.stringify(row)}\n`).join('');
export const exportCsvExample = csvRecord(['id', 'url', 'text']) + ROWS.map((row) => csvRecord([row.id, row.url, row.text])).join('');

/** Plausible per-column ranges of a full version (the statistics of its manifest). */
const RANGES: Partial<Record<CoyoColumn, { min: number; max: number }>> = {
  id: { min: 0, max: 6_734_874_493_207 },
  width: { min: 200, max: 13_722 },
  height: { min: 200, max: 11_811 },
  text_length: { min: 1, max: 1000 },
  word_count: { min: 1, max: 256 },
  num_tokens_bert: { min: 1, max: 512 },
  num_tokens_gpt: { min: 1, max: 512 },
  num_faces: { min: 0, max: 73 },
  clip_similarity_vitb32: { min: 0.199951171875, max: 0.5634765625 },
  clip_similarity_vitl14: { min: 0.1500244140625, max: 0.52490234375 },
  nsfw_score_opennsfw2: { min: 0, max: 0.998046875 },
  nsfw_score_gantman: { min: 0, max: 0.99951171875 },
  watermark_score: { min: 0, max: 1 },
  aesthetic_score_laion_v2: { min: 1.2763671875, max: 9.8125 },
};

export const statsResponseExample = {
  version: VERSION,
  published_at: '2026-11-30T09:14:02.118Z',
  created_at: '2026-11-30T08:51:47.530Z',
  rows: 746_972_269,
  shards: 1472,
  row_group_size: 2048,
  bytes: 84_337_812_994,
  columns: Object.fromEntries(
    COYO_SCHEMA.map(({ name, type }) => {
      const range = RANGES[name];
      return [name, range === undefined ? { type } : { type, ...range }];
    }),
  ),
};
