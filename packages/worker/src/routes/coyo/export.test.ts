import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_VERSION, type CompleteRecord } from '@coyo/coyo-reader/testing';
import { coyoApp as app, seedCoyoFixture, testEnv } from '../../../test/coyo-app';
import { EXPORT_MAX_READS } from './index';

let rows: CompleteRecord[];

beforeAll(async () => {
  rows = await seedCoyoFixture();
});

async function call(path: string, a = app(), env: typeof testEnv = testEnv) {
  const ctx = createExecutionContext();
  const response = await a.request(path, {}, env, ctx);
  const text = await response.text();
  await waitOnExecutionContext(ctx);
  return { response, text };
}

/** Follows x-coyo-next-cursor from `query` to the end; returns every page. */
async function exportAll(query: string, a = app()) {
  const pages: { response: Response; text: string }[] = [];
  let cursor: string | null = null;
  do {
    const page = await call(`/v1/coyo/export?${query}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, a);
    expect(page.response.status).toBe(200);
    pages.push(page);
    cursor = page.response.headers.get('x-coyo-next-cursor');
  } while (cursor !== null);
  return pages;
}

const matches = () => rows.filter((r) => r.aesthetic_score_laion_v2 >= 5 && r.nsfw_score_opennsfw2 <= Math.fround(0.02));

describe('GET /v1/coyo/export', () => {
  it('streams every match as JSON Lines over budgeted responses, each naming the next cursor and link up front', async () => {
    const pages = await exportAll('min_aesthetic_score_laion_v2=5&max_nsfw_score_opennsfw2=0.02&columns=id,url,text', app({ exportMaxReads: 3 }));
    expect(pages.length).toBeGreaterThan(2);
    const first = pages[0]?.response;
    expect(first?.headers.get('content-type')).toBe('application/jsonl; charset=utf-8');
    expect(first?.headers.get('x-coyo-version')).toBe(FIXTURE_VERSION);
    expect(first?.headers.get('link')).toMatch(/^<http:\/\/[^>]*\/v1\/coyo\/export\?[^>]*cursor=[^>]+>; rel="next"$/);
    expect(pages.at(-1)?.response.headers.get('link')).toBeNull();
    const got = pages.flatMap((p) => p.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown));
    expect(got).toEqual(matches().map((r) => ({ id: r.id, url: r.url, text: r.text })));
  });

  it('takes its per-response budget from COYO_EXPORT_MAX_READS', async () => {
    const query = '/v1/coyo/export?min_width=300&columns=id,width';
    const one = await call(query, app(), { ...testEnv, COYO_EXPORT_MAX_READS: '1' });
    const wide = await call(query, app(), { ...testEnv, COYO_EXPORT_MAX_READS: '1000' });
    expect(Number(one.response.headers.get('x-coyo-export-row-groups'))).toBe(1);
    expect(one.response.headers.get('x-coyo-next-cursor')).not.toBeNull();
    expect(Number(wide.response.headers.get('x-coyo-export-row-groups'))).toBeGreaterThan(EXPORT_MAX_READS);
    expect(wide.response.headers.get('x-coyo-next-cursor')).toBeNull();
    expect(wide.text.startsWith(one.text)).toBe(true);
  });

  it('gives the same bytes when a response is repeated with the same cursor', async () => {
    const a = app({ exportMaxReads: 2 });
    const first = await call('/v1/coyo/export?min_width=300&columns=id,width', a);
    const cursor = encodeURIComponent(first.response.headers.get('x-coyo-next-cursor') ?? '');
    const again = await call(`/v1/coyo/export?min_width=300&columns=id,width&cursor=${cursor}`, a);
    const repeat = await call(`/v1/coyo/export?min_width=300&columns=id,width&cursor=${cursor}`, a);
    expect(again.text).toBe(repeat.text);
    expect(again.text.length).toBeGreaterThan(0);
  });

  it('writes CSV for img2dataset: url,text with a header, RFC 4180 quoting and CRLF', async () => {
    const pages = await exportAll('columns=url,text&format=csv');
    const [page] = pages;
    expect(page?.response.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(page?.response.headers.get('content-disposition')).toBe(`attachment; filename="coyo-${FIXTURE_VERSION}.csv"`);
    const quote = (s: string) => (/[",\r\n]/.test(s) || s === '' ? `"${s.replaceAll('"', '""')}"` : s);
    // The default budget: a few row groups a response, each response naming the next.
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.every((p) => Number(p.response.headers.get('x-coyo-export-row-groups')) <= EXPORT_MAX_READS)).toBe(true);
    // Every response is a CSV file of its own, header first; together they hold every row once.
    expect(pages.every((p) => p.text.startsWith('url,text\r\n'))).toBe(true);
    const body = pages.map((p) => p.text.slice('url,text\r\n'.length)).join('');
    expect(body).toBe(rows.map((r) => `${quote(r.url)},${quote(r.text)}\r\n`).join(''));
  });

  it('writes a Parquet file that starts and ends with PAR1', async () => {
    const a = app();
    const ctx = createExecutionContext();
    const response = await a.request('/v1/coyo/export?columns=id&format=parquet&max_width=250', {}, testEnv, ctx);
    const bytes = new Uint8Array(await response.arrayBuffer());
    await waitOnExecutionContext(ctx);
    expect(response.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const magic = (at: number) => new TextDecoder().decode(bytes.subarray(at, at + 4));
    expect([magic(0), magic(bytes.length - 4)]).toEqual(['PAR1', 'PAR1']);
  });

  it.each([
    ['an unknown format', 'format=xml', /format/],
    ['a limit (an export has none)', 'limit=10', /limit/],
    ['a non-finite bound', 'min_width=1e309', /min_width must be a finite number/],
    ['a malformed cursor', 'cursor=%%%', /cursor is malformed/],
  ])('answers 400 problem for %s', async (_name, query, message) => {
    const { response, text } = await call(`/v1/coyo/export?${query}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(text).toMatch(message);
  });
});
