import { describe, expect, it } from 'vitest';
import { ProblemError } from '../errors';
import { readCapped } from './read-capped';

const bytes = (n: number) => new Uint8Array(n).map((_, i) => (i * 31) & 255);

/** A body of `total` bytes in chunks of `chunk`, with no declared length. */
function streamed(total: number, chunk: number): Request {
  const data = bytes(total);
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= total) {
        controller.close();
        return;
      }
      controller.enqueue(data.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
  return new Request('https://x/', { method: 'POST', body, duplex: 'half' } as RequestInit);
}

async function problemOf(work: Promise<unknown>): Promise<ProblemError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof ProblemError) return err;
    throw err;
  }
  throw new Error('expected a problem');
}

describe('readCapped', () => {
  it('reads a body of declared length within the cap', async () => {
    const data = bytes(30_000);
    const request = new Request('https://x/', { method: 'POST', body: data, headers: { 'content-length': String(data.byteLength) } });
    expect(await readCapped(request, 1_000_000)).toEqual(data);
  });

  it('reads a body of declared length from a stream that has no BYOB reader', async () => {
    const request = streamed(10_000, 1000);
    const declared = new Request(request, { headers: { 'content-length': '10000' } });
    expect(await readCapped(declared, 1_000_000)).toEqual(bytes(10_000));
  });

  it('reads an empty body of declared length', async () => {
    const request = new Request('https://x/', { method: 'POST', body: new Uint8Array(0), headers: { 'content-length': '0' } });
    expect(await readCapped(request, 1_000_000)).toEqual(new Uint8Array(0));
  });

  it('refuses a declared length above the cap before reading', async () => {
    const request = new Request('https://x/', { method: 'POST', body: bytes(100), headers: { 'content-length': '100' } });
    expect((await problemOf(readCapped(request, 99))).slug).toBe('image_too_large');
  });

  it('reads a streamed body of unknown length, and cuts it off past the cap', async () => {
    expect(await readCapped(streamed(10_000, 1000), 10_000)).toEqual(bytes(10_000));
    expect((await problemOf(readCapped(streamed(10_000, 1000), 9_999))).slug).toBe('image_too_large');
  });

  it('holds a content-encoded body to the cap whatever length it declares', async () => {
    const response = new Response(bytes(100), { headers: { 'content-length': '10', 'content-encoding': 'gzip' } });
    expect((await problemOf(readCapped(response, 50))).slug).toBe('image_too_large');
  });
});
