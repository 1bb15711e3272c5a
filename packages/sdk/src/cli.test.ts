import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { exitCode, main } from './cli.js';
import { APIConnectionTimeoutError, CoyoInputError, NotFoundError } from './errors.js';
import { fileFromPath } from './node.js';

const dir = mkdtempSync(join(tmpdir(), 'coyo-cli-'));
const cat = join(dir, 'cat.png');
writeFileSync(cat, Buffer.from([137, 80, 78, 71]));

let out: string;
let err: string;
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

function answering(...bodies: [number, unknown][]) {
  const seen: Request[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    seen.push(new Request(input, init));
    const [status, body] = bodies[Math.min(seen.length - 1, bodies.length - 1)] ?? [500, {}];
    return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }));
  };
  return { fetch, seen };
}

const base = ['--base-url', 'http://edge.test', '--api-key', 'coyo_k'];

describe('coyo CLI', () => {
  it('zero-shots a file sent as a binary image/png body and prints JSON', async () => {
    const api = answering([200, [{ label: 'cat', score: 0.9 }]]);
    expect(await main(['zero-shot', cat, '--labels', 'cat,dog', ...base], { fetch: api.fetch })).toBe(0);
    expect(JSON.parse(out)).toEqual([{ label: 'cat', score: 0.9 }]);
    expect(api.seen[0]?.headers.get('content-type')).toBe('image/png');
    expect(new URL(api.seen[0]?.url ?? '').searchParams.get('labels')).toBe('["cat","dog"]');
  });

  it('prints a table with --table', async () => {
    const api = answering([200, [{ label: 'tabby', score: 0.5 }]]);
    expect(await main(['classify', cat, '--table', ...base], { fetch: api.fetch })).toBe(0);
    expect(out.split('\n')[0]).toMatch(/^label\s+score$/);
  });

  it('streams filter matches as JSON lines with progress on stderr', async () => {
    const api = answering([200, { rows: [{ id: 1 }, { id: 2 }], next_cursor: 'c', scanned_rows: 5 }], [200, { rows: [{ id: 3 }], next_cursor: null, scanned_rows: 5 }]);
    expect(await main(['filter', '--min-width', '100', '--jsonl', '--max', '3', ...base], { fetch: api.fetch })).toBe(0);
    expect(out.trim().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(new URL(api.seen[0]?.url ?? '').searchParams.get('min_width')).toBe('100');
    expect(err).toMatch(/3 rows, 2 pages/);
  });

  it('exits by error class: 4 for a missing row, 3 for a bad key, 2 for an unknown column', async () => {
    expect(await main(['get', '5', ...base], answering([404, { type: 'not_found', detail: 'no row 5' }]))).toBe(4);
    expect(err).toMatch(/NotFoundError: 404 no row 5/);
    expect(await main(['models', ...base], answering([401, { type: 'unauthorized' }]))).toBe(3);
    expect(await main(['get', '5', '--columns', 'nope', ...base], answering([200, {}]))).toBe(2);
    expect(exitCode(new APIConnectionTimeoutError(1))).toBe(6);
    expect(exitCode(new NotFoundError(404, undefined, new Headers()))).toBe(4);
  });

  it('reads files with a type from their extension, and names a missing file', async () => {
    const blob = await fileFromPath(cat);
    expect(blob.type).toBe('image/png');
    expect(blob.name).toBe('cat.png');
    await expect(fileFromPath(join(dir, 'missing.jpg'))).rejects.toBeInstanceOf(CoyoInputError);
  });
});
