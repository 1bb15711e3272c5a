/**
 * A per-isolate pool of request-body buffers. A camera-size image body is read into a buffer of a few
 * MB; allocated fresh for every request, that buffer is new memory whenever the previous request's one
 * has not been collected yet, and the page faults of filling it cost the isolate about a millisecond.
 * A buffer handed back after a request that provably no longer needs its bytes is reused instead.
 *
 * Handing a buffer back is the dangerous step: one request must never see another's image. So:
 * - A buffer goes back only through its {@link BodyLease}, once: a second release, or reading a
 *   released lease's bytes, throws (a bug).
 * - Releasing detaches the buffer (`ArrayBuffer.prototype.transfer`, which keeps the memory and gives
 *   it a new owner): every view taken of the old buffer — the lease's, an image's, a multipart part's
 *   — reads as empty from then on, so no view can see the next request's bytes.
 * - Bytes handed to the runtime for longer than the request's own code runs are {@link pinBody pinned}:
 *   a pinned buffer is dropped on release, never reused. A subrequest body is such bytes: `fetch` reads
 *   the caller's buffer when the request goes out, after `fetch()` has returned, and nothing says when
 *   it is done with it (body-pool.test.ts shows the first part).
 * - With `poison`, a released buffer is overwritten first, so a reader the detach could not reach (the
 *   runtime) would see the poison rather than stale or foreign bytes; the tests turn it on.
 */

/** `ArrayBuffer.prototype.transfer` and `detached` (ES2024; in the Workers runtime), typed here until the TS lib has them. */
interface TransferableBuffer extends ArrayBuffer {
  transfer?: () => ArrayBuffer;
  readonly detached?: boolean;
}

/** Whether the runtime can detach a buffer while keeping its memory; without it nothing is reused. */
const CAN_TRANSFER = typeof (ArrayBuffer.prototype as TransferableBuffer).transfer === 'function';

/** Buffers whose bytes the runtime may still read (a subrequest body): never reused. */
const pinned = new WeakSet<ArrayBuffer>();

/**
 * Marks `bytes`' buffer as handed to the runtime beyond the request's own code (a `fetch` body): its
 * lease's release then drops the buffer instead of reusing it. Call it before the bytes leave.
 */
export function pinBody(bytes: Uint8Array<ArrayBuffer>): void {
  pinned.add(bytes.buffer);
}

/** Whether `bytes`' buffer was pinned by {@link pinBody}. */
export function isPinned(bytes: Uint8Array<ArrayBuffer>): boolean {
  return pinned.has(bytes.buffer);
}

export interface BodyPoolOptions {
  /** The most bytes the pool keeps for reuse (default 16 MiB: five camera-size image bodies). */
  maxPooledBytes?: number;
  /** Bodies smaller than this are allocated exactly and never pooled (default 256 KiB). */
  minPooledBytes?: number;
  /** Overwrite a buffer with this byte on release (tests), or not at all (default). */
  poison?: number | null;
}

/** The byte a test pool writes over released buffers. */
export const POISON_BYTE = 0xdb;

/** New pooled buffers are a whole number of these: a body a little larger than the last still fits. */
export const BUFFER_GRANULE = 64 * 1024;

/** The size of a new pooled buffer for a body of `length` bytes: `length` rounded up to the granule. */
export function bufferSize(length: number): number {
  return Math.ceil(length / BUFFER_GRANULE) * BUFFER_GRANULE;
}

/** How many leases a pool has handed out, and how many of those reused a buffer. */
export interface BodyPoolStats {
  leases: number;
  reused: number;
  released: number;
  pinnedDrops: number;
  pooledBytes: number;
}

/**
 * One request's use of a body buffer: its `bytes` (exactly the body's length) are valid until
 * {@link release}, which hands the buffer back to its pool. A lease that is never released (an error,
 * a subrequest that carried the bytes) is simply collected.
 */
export class BodyLease {
  readonly #pool: BodyPool;
  #buffer: ArrayBuffer;
  readonly #capacity: number;
  #length: number;
  #released = false;
  /** Whether the buffer may go back to the pool (it is of a size class, not an exact small one). */
  readonly pooled: boolean;
  /** This lease's number in its pool, for messages about it. */
  readonly generation: number;

  /** @internal Made by {@link BodyPool.acquire}. */
  constructor(pool: BodyPool, buffer: ArrayBuffer, length: number, pooled: boolean, generation: number) {
    this.#pool = pool;
    this.#buffer = buffer;
    this.#capacity = buffer.byteLength;
    this.#length = length;
    this.pooled = pooled;
    this.generation = generation;
  }

  /** The body's bytes; throws once the lease is released. */
  get bytes(): Uint8Array<ArrayBuffer> {
    if (this.#released) throw new Error(`bug: body lease ${this.generation} read after its release`);
    return new Uint8Array(this.#buffer, 0, this.#length);
  }

  get released(): boolean {
    return this.#released;
  }

  /**
   * Takes the buffer a read returned in place of the one it was given (a BYOB read transfers the
   * buffer it fills), holding `length` bytes.
   */
  adopt(filled: Uint8Array<ArrayBuffer>, length: number): void {
    if (this.#released) throw new Error(`bug: body lease ${this.generation} filled after its release`);
    if (filled.byteOffset !== 0 || filled.buffer.byteLength !== this.#capacity || length > this.#capacity) {
      throw new Error(`bug: body lease ${this.generation} was filled into another buffer`);
    }
    this.#buffer = filled.buffer;
    this.#length = length;
  }

  /**
   * Hands the buffer back: every view of it is detached (reads as empty) from now on. Call only where
   * nothing will read the bytes again; a second call throws.
   */
  release(): void {
    if (this.#released) throw new Error(`bug: body lease ${this.generation} released twice`);
    this.#released = true;
    this.#pool.reclaim(this, this.#buffer);
  }
}

/**
 * The pool itself: free buffers, at most `maxPooledBytes` of them. A body takes the smallest free buffer
 * that holds it and is at most twice its size (a few buffers, so a scan), else a new one of
 * {@link bufferSize}: no size classes, so a cold body allocates little more than its own length.
 */
export class BodyPool {
  readonly #maxPooledBytes: number;
  readonly #minPooledBytes: number;
  readonly #poison: number | null;
  readonly #free: ArrayBuffer[] = [];
  #pooledBytes = 0;
  #generation = 0;
  readonly #stats: BodyPoolStats = { leases: 0, reused: 0, released: 0, pinnedDrops: 0, pooledBytes: 0 };

  constructor({ maxPooledBytes = 16 * 1024 * 1024, minPooledBytes = 256 * 1024, poison = null }: BodyPoolOptions = {}) {
    this.#maxPooledBytes = maxPooledBytes;
    this.#minPooledBytes = minPooledBytes;
    this.#poison = poison;
  }

  get stats(): BodyPoolStats {
    return { ...this.#stats, pooledBytes: this.#pooledBytes };
  }

  /**
   * A lease on a buffer for a body of `length` bytes: a free buffer that fits when the pool has one
   * (its bytes are whatever the last body left: the caller fills all `length` of them before reading),
   * else a new one. Bodies under `minPooledBytes` get an exact, unpooled buffer.
   */
  acquire(length: number): BodyLease {
    const generation = ++this.#generation;
    this.#stats.leases++;
    if (length < this.#minPooledBytes) return new BodyLease(this, new ArrayBuffer(length), length, false, generation);
    // A buffer fits when it holds the body and is no larger than twice it (or than a new one would be).
    const largest = Math.max(2 * length, bufferSize(length));
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const size = (this.#free[i] as ArrayBuffer).byteLength;
      if (size >= length && size <= largest && (best < 0 || size < (this.#free[best] as ArrayBuffer).byteLength)) best = i;
    }
    if (best >= 0) {
      const [buffer] = this.#free.splice(best, 1) as [ArrayBuffer];
      this.#pooledBytes -= buffer.byteLength;
      this.#stats.reused++;
      return new BodyLease(this, buffer, length, true, generation);
    }
    return new BodyLease(this, new ArrayBuffer(bufferSize(length)), length, true, generation);
  }

  /** A lease on bytes read some other way (a whole buffer of their own); never pooled. */
  wrap(bytes: Uint8Array<ArrayBuffer>): BodyLease {
    if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) throw new Error('bug: only a whole buffer can be wrapped in a body lease');
    this.#stats.leases++;
    return new BodyLease(this, bytes.buffer, bytes.byteLength, false, ++this.#generation);
  }

  /** @internal Called by {@link BodyLease.release} once per lease. */
  reclaim(lease: BodyLease, buffer: ArrayBuffer): void {
    this.#stats.released++;
    if (pinned.has(buffer)) {
      this.#stats.pinnedDrops++;
      return;
    }
    const owned = buffer as TransferableBuffer;
    if (owned.detached === true) throw new Error(`bug: body lease ${lease.generation} holds a detached buffer`);
    if (this.#poison !== null) new Uint8Array(buffer).fill(this.#poison);
    if (!CAN_TRANSFER || owned.transfer === undefined) return;
    // Detach every view of the bytes, keeping the memory for the next lease.
    const kept = owned.transfer();
    if (!lease.pooled || this.#pooledBytes + kept.byteLength > this.#maxPooledBytes) return;
    this.#free.push(kept);
    this.#pooledBytes += kept.byteLength;
  }
}

/**
 * The body leases of one request, released together once its answer is built and nothing will read
 * the bytes again. A request that fails, or whose bytes went out in a subrequest (pinned), is not
 * released or drops its buffers: only a proven-finished request returns memory to the pool.
 */
export class RequestBodies {
  readonly #leases: BodyLease[] = [];
  #released = false;

  constructor(readonly pool: BodyPool) {}

  /** Keeps `lease` for {@link release}; returns its bytes. */
  hold(lease: BodyLease): Uint8Array<ArrayBuffer> {
    if (this.#released) throw new Error('bug: a body read after the request released its bodies');
    this.#leases.push(lease);
    return lease.bytes;
  }

  /**
   * Hands every body of the request back to the pool (pinned ones are dropped): every view of their
   * bytes — images, multipart parts — reads as empty afterwards. Call once, after the answer is built.
   */
  release(): void {
    if (this.#released) throw new Error('bug: the request released its bodies twice');
    this.#released = true;
    for (const lease of this.#leases.splice(0)) lease.release();
  }
}
