import { parquetReadObjects } from 'hyparquet';
import { beforeAll, describe, expect, it } from 'vitest';
import { CountingBucket } from './bucket';
import { CoyoDataset, CoyoMemory, type ExportPlan, type ExportRequest } from './dataset';
import { csvField, csvRecord, exportBody, type ExportFormat } from './export';
import { encodeCursor, matchesPredicate, predicateFingerprint, type Predicate } from './filter';
import type { PartialRecord } from './schema';
import { type CompleteRecord, fixtureObjects, fixtureRows, memoryBucket } from '../testing';

const objects = fixtureObjects();
let oracle: CompleteRecord[];

beforeAll(async () => {
  oracle = await fixtureRows();
});

async function open() {
  const bucket = new CountingBucket(memoryBucket(objects));
  return { bucket, dataset: await CoyoDataset.open({ bucket, memory: new CoyoMemory() }) };
}

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

const predicates: Predicate[] = [{ column: 'aesthetic_score_laion_v2', min: 5 }];
const expected = () => oracle.filter((r) => predicates.every((p) => matchesPredicate(p, r[p.column])));

/** Every page of an export, following next_cursor, decoded as JSON Lines. */
async function exportAll(request: Omit<ExportRequest, 'cursor'>, format: ExportFormat = 'jsonl') {
  const { dataset } = await open();
  const pages: { plan: ExportPlan; bytes: Uint8Array }[] = [];
  let cursor: string | null = null;
  do {
    const plan = await dataset.planExport({ ...request, ...(cursor === null ? {} : { cursor }) });
    pages.push({ plan, bytes: await bytesOf(exportBody(dataset, plan, format)) });
    cursor = plan.next_cursor;
  } while (cursor !== null);
  return pages;
}

function jsonl(bytes: Uint8Array): PartialRecord[] {
  const text = new TextDecoder().decode(bytes);
  return text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as PartialRecord);
}

describe('export plans and bodies', () => {
  it('export every match in id order across budgeted pages, each page naming the next cursor up front', async () => {
    const pages = await exportAll({ predicates, columns: ['id', 'url', 'aesthetic_score_laion_v2'], maxReads: 3, maxRowsScanned: 1e9 });
    expect(pages.length).toBeGreaterThan(2);
    for (const { plan } of pages) expect(plan.steps.length).toBeGreaterThan(0);
    const rows = pages.flatMap((p) => jsonl(p.bytes));
    expect(rows).toEqual(expected().map((r) => ({ id: r.id, url: r.url, aesthetic_score_laion_v2: r.aesthetic_score_laion_v2 })));
    expect(pages.at(-1)?.plan.next_cursor).toBeNull();
  });

  it('resume inside a row group from a filter cursor (the two share cursors)', async () => {
    const all = expected();
    const after = all[5]?.id as number;
    const { dataset } = await open();
    const plan = await dataset.planExport({
      predicates,
      columns: ['id'],
      cursor: encodeCursor({ v: 1, after, f: predicateFingerprint(predicates) }),
      maxReads: 1000,
      maxRowsScanned: 1e9,
    });
    expect(jsonl(await bytesOf(exportBody(dataset, plan, 'jsonl')))).toEqual(all.slice(6).map((r) => ({ id: r.id })));
  });

  it('read one row group per pull, not the whole result, and nothing before the first pull', async () => {
    const { bucket, dataset } = await open();
    const plan = await dataset.planExport({ predicates: [], columns: ['id', 'text'], maxReads: 1000, maxRowsScanned: 1e9 });
    expect(plan.steps.length).toBeGreaterThan(3);
    const readsAfterPlan = bucket.stats.reads;
    const reader = exportBody(dataset, plan, 'jsonl').getReader();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(bucket.stats.reads - readsAfterPlan).toBeLessThanOrEqual(1); // at most the one-chunk read-ahead
    await reader.read();
    expect(bucket.stats.reads - readsAfterPlan).toBeLessThanOrEqual(2);
    await reader.cancel();
  });

  it('write CSV with a header and RFC 4180 quoting, NULL as an empty field', async () => {
    expect(csvRecord(['a,b', 'say "hi"', 'two\nlines', '', null, 1.5])).toBe('"a,b","say ""hi""","two\nlines","",,1.5\r\n');
    expect(csvField('plain')).toBe('plain');
    const pages = await exportAll({ predicates, columns: ['text', 'id'], maxReads: 1000, maxRowsScanned: 1e9 }, 'csv');
    const text = new TextDecoder().decode(pages[0]?.bytes);
    expect(text.startsWith('id,text\r\n')).toBe(true);
    expect(text.split('\r\n').filter((l) => l !== '').length).toBe(expected().length + 1);
  });

  it('write a Parquet file hyparquet reads back to the same rows, one row group per source group with matches', async () => {
    const pages = await exportAll({ predicates, columns: ['id', 'url', 'width', 'watermark_score'], maxReads: 1000, maxRowsScanned: 1e9 }, 'parquet');
    expect(pages).toHaveLength(1);
    const bytes = pages[0]?.bytes as Uint8Array;
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const rows = await parquetReadObjects({ file });
    expect(rows.map((r) => ({ ...r, id: Number(r['id']) }))).toEqual(
      expected().map((r) => ({ id: r.id, url: r.url, width: r.width, watermark_score: r.watermark_score })),
    );
  });

  it('write a valid empty file when nothing matches', async () => {
    const none: Predicate[] = [{ column: 'width', min: 1e9 }];
    const { dataset } = await open();
    const plan = await dataset.planExport({ predicates: none, columns: ['id'], maxReads: 1000, maxRowsScanned: 1e9 });
    expect(plan.steps).toEqual([]);
    expect(plan.next_cursor).toBeNull();
    const bytes = await bytesOf(exportBody(dataset, plan, 'parquet'));
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    expect(await parquetReadObjects({ file })).toEqual([]);
    expect(await bytesOf(exportBody(dataset, plan, 'jsonl'))).toHaveLength(0);
  });
});
