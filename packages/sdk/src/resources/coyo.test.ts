import { describe, expect, it } from 'vitest';
import { Coyo } from '../client.js';
import { APIConnectionError } from '../errors.js';

interface Scripted {
  /** Lines of the body, sent in chunks that split lines in two. */
  lines: string[];
  next?: string;
  version?: string;
  /** Break the body off after this many chunks. */
  breakAfter?: number;
}

function exportResponse({ lines, next, version = 'v1', breakAfter }: Scripted): Response {
  const text = lines.map((l) => `${l}\n`).join('');
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += 7) chunks.push(bytes.subarray(at, at + 7));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (breakAfter !== undefined && sent === breakAfter) {
        controller.error(new TypeError('network connection lost'));
        return;
      }
      const chunk = chunks[sent];
      sent += 1;
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
  const headers: Record<string, string> = { 'content-type': 'application/jsonl; charset=utf-8', 'x-coyo-version': version };
  if (next !== undefined) headers['x-coyo-next-cursor'] = next;
  return new Response(body, { status: 200, headers });
}

function scripted(responses: Scripted[]) {
  const urls: URL[] = [];
  const fetchFn: typeof fetch = (input) => {
    urls.push(new URL(input instanceof Request ? input.url : input));
    const next = responses[urls.length - 1];
    if (next === undefined) throw new Error('no response scripted');
    return Promise.resolve(exportResponse(next));
  };
  return { coyo: new Coyo({ baseURL: 'http://edge.test', apiKey: 'k', fetch: fetchFn }).coyo, urls };
}

const row = (id: number) => JSON.stringify({ id, url: `https://img.test/${String(id)}.jpg`, text: `text, "${String(id)}"` });

describe('coyo.export', () => {
  it('yields every row across responses, following x-coyo-next-cursor with the same parameters', async () => {
    const { coyo, urls } = scripted([{ lines: [row(1), row(2)], next: 'c1' }, { lines: [] , next: 'c2' }, { lines: [row(5)] }]);
    const ids: (number | undefined)[] = [];
    for await (const r of coyo.export({ min_width: 300, columns: ['url', 'text'] })) ids.push(r.id);
    expect(ids).toEqual([1, 2, 5]);
    expect(urls.map((u) => u.searchParams.get('cursor'))).toEqual([null, 'c1', 'c2']);
    expect(urls.every((u) => u.pathname === '/v1/coyo/export' && u.searchParams.get('format') === 'jsonl')).toBe(true);
    expect(urls[1]?.searchParams.get('min_width')).toBe('300');
    expect(urls[1]?.searchParams.get('columns')).toBe('url,text');
  });

  it('resumes a body that broke off by asking again with the same cursor, skipping the rows already yielded', async () => {
    const lines = [row(1), row(2), row(3), row(4)];
    const { coyo, urls } = scripted([{ lines, next: 'c1', breakAfter: 12 }, { lines, next: 'c1' }, { lines: [row(9)] }]);
    const ids: (number | undefined)[] = [];
    for await (const r of coyo.export({})) ids.push(r.id);
    expect(ids).toEqual([1, 2, 3, 4, 9]);
    expect(urls.map((u) => u.searchParams.get('cursor'))).toEqual([null, null, 'c1']);
  });

  it('refuses to resume across a version change', async () => {
    const lines = [row(1), row(2), row(3)];
    const { coyo } = scripted([{ lines, breakAfter: 2 }, { lines, version: 'v2' }]);
    const error: unknown = await (async () => {
      const seen: unknown[] = [];
      for await (const r of coyo.export({})) seen.push(r);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(String(error)).toMatch(/version changed/);
  });

  it('offers the rows as a web ReadableStream, and raw parts for CSV or Parquet', async () => {
    const { coyo } = scripted([{ lines: [row(1)], next: 'c1' }, { lines: [row(2)] }]);
    const ids: (number | undefined)[] = [];
    const reader = coyo.export({}).toReadableStream().getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) ids.push(r.value.id);
    expect(ids).toEqual([1, 2]);

    const raw = scripted([{ lines: ['url,text'], next: 'c1' }, { lines: ['url,text'] }]);
    const parts: (string | null)[] = [];
    for await (const part of raw.coyo.exportParts({ format: 'csv' })) {
      expect(await new Response(part.body).text()).toBe('url,text\n');
      parts.push(part.nextCursor);
    }
    expect(parts).toEqual(['c1', null]);
    expect(raw.urls[0]?.searchParams.get('format')).toBe('csv');
  });
});
