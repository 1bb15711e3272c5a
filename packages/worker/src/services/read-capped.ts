import { ProblemError } from '../errors';

/**
 * Reads a request or response body up to `maxBytes`: a declared larger length is refused before
 * reading, and the stream is cut off (cancelled) as soon as it passes the cap (413 `image_too_large`).
 *
 * A body whose length is declared and within the cap, and that the runtime does not decompress, is
 * read in one native call: the runtime's framing holds it to the declared length, and reading a
 * camera-size image chunk by chunk in JavaScript (hundreds of reads, then a copy) cost more CPU than
 * everything else a cached answer does.
 */
export async function readCapped(message: Request | Response, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
  const declared = message.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    await message.body?.cancel();
    throw new ProblemError('image_too_large', `the image is ${declared} bytes; the limit is ${maxBytes}`);
  }
  if (message.body === null) return new Uint8Array(0);
  if (declared !== null && /^\d+$/.test(declared) && message.headers.get('content-encoding') === null) {
    if (signal?.aborted) throw signal.reason;
    const filled = await readDeclared(message.body, Number(declared));
    const bytes = filled ?? new Uint8Array(await message.arrayBuffer());
    if (bytes.byteLength > maxBytes) throw new ProblemError('image_too_large', `the image is larger than the limit of ${maxBytes} bytes`);
    return bytes;
  }
  const reader = (message.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw new ProblemError('image_too_large', `the image is larger than the limit of ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Reads a body of declared `length` straight into one buffer of that size: a single BYOB
 * `readAtLeast` (a Workers runtime extension), which the runtime fills natively. Returns null when the
 * stream has no BYOB reader (a stream built in JavaScript), for the caller to read it another way.
 */
async function readDeclared(body: ReadableStream, length: number): Promise<Uint8Array<ArrayBuffer> | null> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = body.getReader({ mode: 'byob' });
  } catch {
    return null;
  }
  try {
    if (length === 0) {
      await reader.cancel();
      return new Uint8Array(0);
    }
    const { value } = await reader.readAtLeast(length, new Uint8Array(length));
    if (value === undefined || value.byteLength < length) {
      throw new ProblemError('invalid_request', `the body ended after ${value?.byteLength ?? 0} of the ${length} bytes it declared`);
    }
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  } finally {
    reader.releaseLock();
  }
}
