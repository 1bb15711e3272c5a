import { describe, expect, it } from 'vitest';
import { fakePngBytes } from '../../test/fake-backend';
import { fakeImageEmbedding } from '../../test/fake-embeddings';
import { backendUrl } from '../../test/helpers';
import { BodyPool, BUFFER_GRANULE, bufferSize, isPinned, pinBody, POISON_BYTE, RequestBodies } from './body-pool';
import { readCapped, readPooled } from './read-capped';

const MiB = 1024 * 1024;

function bodyOf(length: number, fill: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(length).fill(fill);
}

/** A request whose body has a declared length, as a client's upload arrives. */
function upload(bytes: Uint8Array<ArrayBuffer>): Request {
  return new Request('https://api.test/', { method: 'POST', headers: { 'content-length': String(bytes.byteLength) }, body: bytes });
}

describe('bufferSize', () => {
  it('rounds up to the granule', () => {
    expect(bufferSize(1)).toBe(BUFFER_GRANULE);
    expect(bufferSize(BUFFER_GRANULE)).toBe(BUFFER_GRANULE);
    expect(bufferSize(3 * MiB + 1)).toBe(3 * MiB + BUFFER_GRANULE);
  });
});

describe('BodyPool', () => {
  it('lends a view of exactly the requested length, and small bodies an unpooled buffer', () => {
    const pool = new BodyPool({ minPooledBytes: 1024 });
    const big = pool.acquire(3000);
    expect(big.bytes.byteLength).toBe(3000);
    expect(big.bytes.buffer.byteLength).toBe(bufferSize(3000));
    expect(big.pooled).toBe(true);
    const small = pool.acquire(100);
    expect(small.pooled).toBe(false);
    expect(small.bytes.buffer.byteLength).toBe(100);
  });

  it('reuses a released buffer and detaches every view the previous holder kept', () => {
    const pool = new BodyPool({ minPooledBytes: 1 });
    const first = pool.acquire(5000);
    const image = first.bytes.subarray(10, 4000);
    image.fill(7);
    first.release();
    // Whatever still pointed at the first request's bytes now sees nothing.
    expect(image.byteLength).toBe(0);
    expect(image[0]).toBeUndefined();
    const second = pool.acquire(4500);
    expect(pool.stats.reused).toBe(1);
    second.bytes.fill(9);
    // Had the buffer been handed out while `image` still viewed it, `image` would read the 9s.
    expect(image.byteLength).toBe(0);
    expect([...second.bytes.subarray(0, 4)]).toEqual([9, 9, 9, 9]);
  });

  it('throws on a second release and on reading a released lease', () => {
    const pool = new BodyPool({ minPooledBytes: 1 });
    const lease = pool.acquire(2000);
    lease.release();
    expect(() => { lease.release(); }).toThrow(/released twice/);
    expect(() => lease.bytes).toThrow(/after its release/);
  });

  it('poisons a released buffer, so the next holder never starts from the previous bytes', () => {
    const pool = new BodyPool({ minPooledBytes: 1, poison: POISON_BYTE });
    const first = pool.acquire(2048);
    first.bytes.fill(1);
    first.release();
    const second = pool.acquire(2048);
    expect(second.bytes.every((b) => b === POISON_BYTE)).toBe(true);
  });

  it('drops a pinned buffer (bytes the runtime may still send) instead of reusing it, and leaves its bytes alone', () => {
    const pool = new BodyPool({ minPooledBytes: 1, poison: POISON_BYTE });
    const lease = pool.acquire(4096);
    const sent = lease.bytes;
    sent.fill(3);
    pinBody(sent.subarray(100, 200));
    expect(isPinned(sent)).toBe(true);
    lease.release();
    expect(pool.stats).toMatchObject({ pinnedDrops: 1, pooledBytes: 0 });
    const next = pool.acquire(4096);
    next.bytes.fill(5);
    expect(pool.stats.reused).toBe(0);
    expect(sent.byteLength).toBe(4096);
    expect(sent.every((b) => b === 3)).toBe(true);
  });

  it('keeps at most maxPooledBytes for reuse', () => {
    const pool = new BodyPool({ minPooledBytes: 1, maxPooledBytes: 2.5 * BUFFER_GRANULE });
    const leases = [pool.acquire(4096), pool.acquire(4096), pool.acquire(4096)];
    for (const lease of leases) lease.release();
    expect(pool.stats.pooledBytes).toBe(2 * BUFFER_GRANULE);
    pool.acquire(4096);
    pool.acquire(4096);
    pool.acquire(4096);
    expect(pool.stats.reused).toBe(2);
  });

  it('lends the smallest free buffer that fits, and none more than twice the body', () => {
    const pool = new BodyPool({ minPooledBytes: 1 });
    const large = pool.acquire(3 * BUFFER_GRANULE);
    const small = pool.acquire(BUFFER_GRANULE);
    large.release();
    small.release();
    expect(pool.acquire(BUFFER_GRANULE / 2).bytes.buffer.byteLength).toBe(BUFFER_GRANULE);
    // The remaining free buffer (3 granules) is more than twice a one-granule body: a new buffer.
    expect(pool.acquire(BUFFER_GRANULE).bytes.buffer.byteLength).toBe(BUFFER_GRANULE);
    expect(pool.acquire(2 * BUFFER_GRANULE).bytes.buffer.byteLength).toBe(3 * BUFFER_GRANULE);
    expect(pool.stats.reused).toBe(2);
  });
});

describe('RequestBodies and readPooled', () => {
  it('reads bodies into reused buffers, each request seeing only its own bytes', async () => {
    const pool = new BodyPool({ minPooledBytes: 1, poison: POISON_BYTE });
    const firstRequest = new RequestBodies(pool);
    const first = await readPooled(upload(bodyOf(300_000, 1)), 1_000_000, firstRequest);
    expect(first.byteLength).toBe(300_000);
    expect(first.every((b) => b === 1)).toBe(true);
    firstRequest.release();
    expect(first.byteLength).toBe(0);

    const secondRequest = new RequestBodies(pool);
    const second = await readPooled(upload(bodyOf(290_000, 2)), 1_000_000, secondRequest);
    expect(pool.stats.reused).toBe(1);
    expect(second.byteLength).toBe(290_000);
    expect(second.every((b) => b === 2)).toBe(true);
    secondRequest.release();
  });

  it('throws when a request releases its bodies twice or reads one after releasing', async () => {
    const bodies = new RequestBodies(new BodyPool({ minPooledBytes: 1 }));
    await readPooled(upload(bodyOf(1000, 1)), 10_000, bodies);
    bodies.release();
    expect(() => { bodies.release(); }).toThrow(/twice/);
    await expect(readPooled(upload(bodyOf(1000, 1)), 10_000, bodies)).rejects.toThrow(/after the request released/);
  });

  it('readCapped still returns bytes of their own, never from a pool', async () => {
    const bytes = await readCapped(upload(bodyOf(5000, 4)), 10_000);
    expect(bytes.buffer.byteLength).toBe(5000);
    expect(bytes.every((b) => b === 4)).toBe(true);
  });
});

// Why a body that went into a backend subrequest is pinned, never reused: the runtime reads a fetch
// body from the caller's memory after fetch() has returned (a `new Request` copies it; `fetch` does
// not). Should this test ever fail, the runtime copies, and the pinning could be revisited.
describe('the runtime and subrequest bodies', () => {
  it('sends what the caller buffer holds when the request goes out, not when fetch is called', async () => {
    const png = fakePngBytes(crypto.randomUUID(), 200_000);
    const bytes = new Uint8Array(png);
    const answer = fetch(`${backendUrl(crypto.randomUUID())}/v1/embed/image`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-backend-token', 'content-type': 'image/png', accept: 'application/json' },
      body: bytes,
    });
    // What releasing the body would do to the buffer, before the request is sent.
    bytes.fill(POISON_BYTE);
    const res = await answer;
    expect(res.status).toBe(200);
    const { embeddings } = await res.json<{ embeddings: number[][] }>();
    expect(embeddings).toEqual([await fakeImageEmbedding(new Uint8Array(png.byteLength).fill(POISON_BYTE))]);
  });
});
