import { ProblemError } from '../errors';
import { BodyPool, type BodyLease, type RequestBodies } from './body-pool';

/** Leases of exact, never-pooled buffers, for reads whose caller keeps the bytes. */
const UNPOOLED = new BodyPool({ minPooledBytes: Number.POSITIVE_INFINITY, maxPooledBytes: 0 });

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
  return (await readCappedLease(message, maxBytes, UNPOOLED, signal)).bytes;
}

/**
 * {@link readCapped} into a buffer leased from `pool`: a body of declared length is read straight into a
 * pooled buffer (services/body-pool.ts); the caller releases the lease once nothing reads the bytes.
 */
export async function readCappedLease(message: Request | Response, maxBytes: number, pool: BodyPool, signal?: AbortSignal): Promise<BodyLease> {
  const declared = message.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    await message.body?.cancel();
    throw new ProblemError('image_too_large', `the image is ${declared} bytes; the limit is ${maxBytes}`);
  }
  if (message.body === null) return UNPOOLED.acquire(0);
  if (declared !== null && /^\d+$/.test(declared) && message.headers.get('content-encoding') === null) {
    if (signal?.aborted) throw signal.reason;
    const filled = await readDeclared(message.body, Number(declared), pool);
    const lease = filled ?? UNPOOLED.wrap(new Uint8Array(await message.arrayBuffer()));
    if (lease.bytes.byteLength > maxBytes) throw new ProblemError('image_too_large', `the image is larger than the limit of ${maxBytes} bytes`);
    return lease;
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
  const lease = pool.acquire(total);
  const out = lease.bytes;
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return lease;
}

/**
 * Reads a body of declared `length` straight into one buffer leased for it: a single BYOB
 * `readAtLeast` (a Workers runtime extension), which the runtime fills natively. Returns null when the
 * stream has no BYOB reader (a stream built in JavaScript), for the caller to read it another way.
 */
async function readDeclared(body: ReadableStream, length: number, pool: BodyPool): Promise<BodyLease | null> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = body.getReader({ mode: 'byob' });
  } catch {
    return null;
  }
  try {
    if (length === 0) {
      await reader.cancel();
      return pool.acquire(0);
    }
    const lease = pool.acquire(length);
    // The read transfers the buffer it is given and returns a view of it; the lease follows it.
    const { value } = await reader.readAtLeast(length, lease.bytes);
    if (value === undefined || value.byteLength < length) {
      throw new ProblemError('invalid_request', `the body ended after ${value?.byteLength ?? 0} of the ${length} bytes it declared`);
    }
    lease.adopt(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), length);
    return lease;
  } finally {
    reader.releaseLock();
  }
}

/**
 * {@link readCapped} into a buffer of the request's pool, held by `bodies` until it releases them:
 * the bytes must not be used after `bodies.release()`.
 */
export async function readPooled(message: Request | Response, maxBytes: number, bodies: RequestBodies): Promise<Uint8Array<ArrayBuffer>> {
  return bodies.hold(await readCappedLease(message, maxBytes, bodies.pool));
}
