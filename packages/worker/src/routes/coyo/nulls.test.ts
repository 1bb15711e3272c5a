/**
 * The COYO routes over a version whose rows hold NULLs (`coyo-nulls-bucket.json` of `@coyo/coyo-reader/testing`, served
 * from memory so the shared R2 binding keeps the NULL-free fixture): every NULL is answered as JSON
 * null, filters follow SQL, and a NULL where the ingest never writes one is a logged 500.
 */
import { COYO_COLUMNS, NULLABLE_COLUMNS, type CoyoColumn } from '@coyo/coyo-schema';
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { CoyoMemory, type CoyoRecord, type RangeReadBucket } from '@coyo/coyo-reader';
import {
  at,
  defined,
  NULLS_FIXTURE_VERSION,
  memoryBucket,
  nullIdFixtureObjects,
  nullsFixtureObjects,
  nullsFixtureRows,
} from '@coyo/coyo-reader/testing';
import { createApp } from '../../app';
import type { AppEnv, Env } from '../../env';
import { handleError, validationHook } from '../../errors';
import { openApiDocument } from '../../openapi';
import { registerCoyoRoutes } from './index';
import { BatchResponseSchema, CoyoRowSchema, FilterResponseSchema, LookupResponseSchema, RowsResponseSchema } from './schemas';

const testEnv: Env = env;
let rows: CoyoRecord[];

beforeAll(async () => {
  rows = await nullsFixtureRows();
});

afterEach(() => {
  vi.restoreAllMocks();
});

function app() {
  const a = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  a.onError(handleError);
  registerCoyoRoutes(a, { memory: new CoyoMemory(), edgeCache: null });
  return a;
}

async function call(path: string, init: RequestInit = {}, { a = app(), bucket = memoryBucket(nullsFixtureObjects()) }: { a?: OpenAPIHono<AppEnv>; bucket?: RangeReadBucket } = {}) {
  const ctx = createExecutionContext();
  const response = await a.request(path, init, { ...testEnv, COYO_BUCKET: bucket as unknown as R2Bucket }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** The first row whose `column` is NULL (the fixture has one for every nullable column). */
function rowWithNull(column: CoyoColumn): CoyoRecord {
  const row = rows.find((r) => r[column] === null);
  if (row === undefined) throw new Error(`test setup: the fixture has no NULL ${column}`);
  return row;
}

/** SQL's semantics: NULL satisfies no comparison. */
function atLeast(column: CoyoColumn, min: number): CoyoRecord[] {
  return rows.filter((r) => {
    const value = r[column];
    return typeof value === 'number' && value >= min;
  });
}

describe('GET /v1/coyo/{id} with NULL values', () => {
  it.each(NULLABLE_COLUMNS.map((c) => [c]))('answers 200 with %s null where the row has no value', async (column) => {
    const target = rowWithNull(column);
    const response = await call(`/v1/coyo/${target.id}`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({ version: NULLS_FIXTURE_VERSION, row: target });
    expect((body as { row: Record<string, unknown> }).row[column]).toBeNull();
    expect(LookupResponseSchema.safeParse(body).success).toBe(true);
  });

  it('keeps every key of a projection, a NULL one as null', async () => {
    const target = rowWithNull('url');
    const response = await call(`/v1/coyo/${target.id}?columns=url,nsfw_score_gantman,id`);
    expect(await response.json()).toEqual({ version: NULLS_FIXTURE_VERSION, row: { id: target.id, url: null, nsfw_score_gantman: null } });
  });

  it('sends the version as ETag and answers 304 for it', async () => {
    const a = app();
    const target = rowWithNull('watermark_score');
    const first = await call(`/v1/coyo/${target.id}`, {}, { a });
    expect(first.headers.get('etag')).toBe(`"${NULLS_FIXTURE_VERSION}"`);
    const again = await call(`/v1/coyo/${target.id}`, { headers: { 'if-none-match': `"${NULLS_FIXTURE_VERSION}"` } }, { a });
    expect(again.status).toBe(304);
  });
});

describe('POST /v1/coyo/batch with NULL values', () => {
  it('answers null for an absent id and null values inside present rows', async () => {
    const targets = [rowWithNull('text'), rowWithNull('num_faces'), rowWithNull('image_phash')];
    const ids = [at(targets, 0).id, 1, at(targets, 1).id, at(targets, 2).id];
    const response = await call('/v1/coyo/batch', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids }) });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({ version: NULLS_FIXTURE_VERSION, rows: [targets[0], null, targets[1], targets[2]] });
    expect(BatchResponseSchema.safeParse(body).success).toBe(true);
  });
});

describe('GET /v1/coyo/rows with NULL values', () => {
  it('pages through every row, NULLs as null', async () => {
    const seen: unknown[] = [];
    for (let offset = 0; offset < rows.length; offset += 100) {
      const response = await call(`/v1/coyo/rows?offset=${offset}&length=100`);
      expect(response.status).toBe(200);
      const body = await response.json();
      expect(RowsResponseSchema.safeParse(body).success).toBe(true);
      seen.push(...(body as { rows: { row: unknown }[] }).rows.map((r) => r.row));
    }
    expect(seen).toEqual(rows);
  });
});

describe('GET /v1/coyo/filter with NULL values', () => {
  async function allIds(query: string): Promise<{ ids: number[]; rows: Record<string, unknown>[] }> {
    const a = app();
    const out: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    do {
      const response = await call(`/v1/coyo/filter?${query}&limit=100${cursor ? `&cursor=${cursor}` : ''}`, {}, { a });
      expect(response.status).toBe(200);
      const body = await response.json();
      expect(FilterResponseSchema.safeParse(body).success).toBe(true);
      const page = body as { rows: Record<string, unknown>[]; next_cursor: string | null };
      out.push(...page.rows);
      cursor = page.next_cursor;
    } while (cursor !== null);
    return { ids: out.map((r) => r['id'] as number), rows: out };
  }

  it('leaves out rows whose value is NULL for min=0 on that column', async () => {
    const { ids } = await allIds('min_watermark_score=0&columns=id');
    expect(ids).toEqual(atLeast('watermark_score', 0).map((r) => r.id));
    expect(ids.length).toBeLessThan(rows.length);
  });

  it('returns rows whose value is NULL in a column without a bound, with that value null', async () => {
    const { rows: got } = await allIds('min_aesthetic_score_laion_v2=5&columns=id,watermark_score,url');
    const expected = atLeast('aesthetic_score_laion_v2', 5).map((r) => ({ id: r.id, watermark_score: r.watermark_score, url: r.url }));
    expect(got).toEqual(expected);
    expect(got.some((r) => r['watermark_score'] === null)).toBe(true);
  });

  it('returns every row, NULLs included, when no bound is given', async () => {
    const { rows: got } = await allIds('columns=id,num_faces,nsfw_score_gantman');
    expect(got).toEqual(rows.map((r) => ({ id: r.id, num_faces: r.num_faces, nsfw_score_gantman: null })));
  });
});

describe('GET /v1/coyo/stats with NULL values', () => {
  it('reports ranges over the non-NULL values, none for a column without any, with the version as ETag', async () => {
    const response = await call('/v1/coyo/stats');
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe(`"${NULLS_FIXTURE_VERSION}"`);
    const body = await response.json<{ rows: number; columns: Record<string, { type: string; min?: number; max?: number }> }>();
    const widths = rows.map((r) => r.width).filter((v): v is number => v !== null);
    expect(body.rows).toBe(rows.length);
    expect(body.columns['width']).toEqual({ type: 'INTEGER', min: Math.min(...widths), max: Math.max(...widths) });
    expect(body.columns['nsfw_score_gantman']).toEqual({ type: 'FLOAT' });
  });
});

describe('a NULL id in a shard', () => {
  it('answers a 500 problem and logs the shard, row group and row', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const objects = nullIdFixtureObjects();
    const [key] = [...objects.keys()].filter((k) => k.endsWith('.parquet'));
    const manifest = JSON.parse(new TextDecoder().decode(objects.get(defined(key).replace(/shard-\d+\.parquet$/, 'manifest.json')))) as {
      shards: { min_id: number }[];
    };
    const response = await call(`/v1/coyo/${at(manifest.shards, 0).min_id}`, {}, { bucket: memoryBucket(objects) });
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.stringify(await response.json())).not.toMatch(/NULL|shard/);
    const logged = errors.mock.calls.map((args) => String(args[0])).join('\n');
    expect(logged).toMatch(/"error":"ShardDataError"/);
    expect(logged).toContain(`${key} row group 0, row 9: id is NULL`);
  });
});

describe('the COYO row schema', () => {
  it('declares exactly the nullable columns as nullable in the OpenAPI document', () => {
    const doc = openApiDocument(createApp());
    const properties = (doc.components?.schemas?.['CoyoRow'] as { properties: Record<string, { type?: string | string[] }> }).properties;
    const nullable = COYO_COLUMNS.filter((c) => {
      const type = properties[c]?.type;
      return Array.isArray(type) && type.includes('null');
    });
    expect(nullable).toEqual([...NULLABLE_COLUMNS]);
  });

  it('has the reader row type as its complete form', () => {
    expectTypeOf<{ [K in keyof z.output<typeof CoyoRowSchema>]-?: Exclude<z.output<typeof CoyoRowSchema>[K], undefined> }>().toEqualTypeOf<CoyoRecord>();
    expect(CoyoRowSchema.safeParse({ id: null }).success).toBe(false);
  });
});
