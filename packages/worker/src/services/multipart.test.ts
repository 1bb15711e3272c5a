import { describe, expect, it } from 'vitest';
import { indexOfBytes, multipartBoundary, MultipartError, parseMultipart, type FormEntry } from './multipart';

const enc = new TextEncoder();

/** A seeded byte source, so a failure repeats. */
function bytesOf(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Serialises `form` the way a client does, and returns the body and its boundary. */
async function encode(form: FormData): Promise<{ body: Uint8Array<ArrayBuffer>; boundary: string }> {
  const response = new Response(form);
  const boundary = multipartBoundary(response.headers.get('content-type') ?? '');
  if (boundary === null) throw new Error('no boundary');
  return { body: new Uint8Array(await response.arrayBuffer()), boundary };
}

/** Comparable form of entries: files as their name, type and bytes. */
function plain(entries: FormEntry[]) {
  return entries.map(([name, value]) => [name, typeof value === 'string' ? value : { filename: value.filename, type: value.type, bytes: [...value.bytes] }]);
}

function parse(text: string, boundary = 'XyZ'): FormEntry[] {
  return parseMultipart(enc.encode(text) as Uint8Array<ArrayBuffer>, boundary);
}

describe('indexOfBytes', () => {
  it('finds what a naive search finds, on bytes full of partial matches', () => {
    const hay = bytesOf(20_000, 7).map((b) => b & 0x03);
    for (const [len, seed] of [
      [1, 1],
      [2, 2],
      [5, 3],
      [9, 4],
    ] as const) {
      const needle = bytesOf(len, seed).map((b) => b & 0x03);
      for (const from of [0, 17, 5000]) {
        let naive = -1;
        for (let i = from; i + len <= hay.length && naive < 0; i++) if (needle.every((b, j) => hay[i + j] === b)) naive = i;
        expect(indexOfBytes(hay, needle, from)).toBe(naive);
      }
    }
  });
});

describe('multipartBoundary', () => {
  it('reads a token or a quoted boundary, and null when there is none', () => {
    expect(multipartBoundary('multipart/form-data; boundary=abc123')).toBe('abc123');
    expect(multipartBoundary('multipart/form-data; BOUNDARY="a b;c"; charset=utf-8')).toBe('a b;c');
    expect(multipartBoundary('multipart/form-data')).toBeNull();
    expect(multipartBoundary(`multipart/form-data; boundary=${'x'.repeat(71)}`)).toBeNull();
  });
});

describe('parseMultipart', () => {
  it('gives the entries the runtime gives, with binary files holding CRLF and partial delimiters', async () => {
    const boundaryLike = enc.encode('\r\n--\r\n-');
    const image = bytesOf(300_000, 11);
    image.set(boundaryLike, 1000);
    image.set(boundaryLike, image.length - boundaryLike.length);
    const form = new FormData();
    form.append('text', 'a photo of a cat');
    form.append('image', new Blob([image], { type: 'image/jpeg' }), 'cat.jpg');
    form.append('text', 'ünïcödé, "quoted"\r\nand a new line');
    form.append('image', new Blob([bytesOf(0, 1)]), 'empty.bin');
    form.append('images', new Blob([bytesOf(4096, 12)], { type: 'image/png' }), 'x "y".png');
    const { body, boundary } = await encode(form);
    const ours = parseMultipart(body, boundary);
    const theirs = await new Request('http://x/', { method: 'POST', body: form }).formData();
    const expected: FormEntry[] = [];
    for (const [name, value] of theirs) {
      expected.push([name, typeof value === 'string' ? value : { filename: value.name, type: value.type, bytes: new Uint8Array(await value.arrayBuffer()) }]);
    }
    expect(plain(ours)).toEqual(plain(expected));
    const first = ours[1]?.[1];
    expect(typeof first !== 'string' && first?.bytes.buffer).toBe(body.buffer);
  });

  it('skips a preamble, an epilogue and transport padding after a delimiter', () => {
    const text = 'preamble\r\n--XyZ  \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ\r\ncontent-disposition: form-data; name="b"\r\n\r\n\r\n--XyZ--\r\nepilogue';
    expect(parse(text)).toEqual([
      ['a', '1'],
      ['b', ''],
    ]);
  });

  it('refuses bodies that are not a well-formed form', () => {
    expect(() => parse('no boundary here')).toThrow(MultipartError);
    expect(() => parse('--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nnever closed')).toThrow(/closing boundary/);
    expect(() => parse('--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--')).toThrow(/Content-Disposition/);
    expect(() => parse('--XyZ\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n--XyZ--')).toThrow(/form-data/);
    expect(() => parse('--XyZjunk\r\n')).toThrow(/CRLF/);
    expect(() => parse(`--XyZ\r\nX-Long: ${'a'.repeat(20_000)}\r\n\r\nx\r\n--XyZ--`)).toThrow(/headers do not end/);
    expect(() => parse('--XyZ\r\nbad header line\r\n\r\nx\r\n--XyZ--')).toThrow(/no name/);
  });
});
