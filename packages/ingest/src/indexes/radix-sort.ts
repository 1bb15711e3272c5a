/**
 * A stable LSD radix sort of 64-bit keys with an id carried beside each key, on typed arrays only: no
 * comparator, no per-record objects, so sorting tens of millions of records costs the arrays themselves
 * plus one scratch pair of the same size. Ids that arrive ascending leave (key, id) order, because
 * every pass is stable.
 */
import { endianness } from 'node:os';

/**
 * Bits per digit: eight passes of 256 buckets. Measured against 16-bit digits (four passes of 65,536
 * buckets) on 1M random keys: about 160 ms against 530 ms, as 256 buckets' write positions stay in cache.
 */
const DIGIT_BITS = 8;
const RADIX = 1 << DIGIT_BITS;
const PASSES = 64 / DIGIT_BITS;

/** Key and id columns of the same capacity; the sort reads `length` records from the front. */
export interface KeyIdArrays {
  readonly keys: BigUint64Array;
  readonly ids: Float64Array;
}

/** A scratch pair for {@link radixSortKeyIds}, at least `length` records long; reuse it across sorts. */
export function sortScratch(length: number): KeyIdArrays {
  return { keys: new BigUint64Array(length), ids: new Float64Array(length) };
}

/** 32-bit words of a key column: a key's low word at 2i, its high word at 2i + 1 (little-endian). */
export function keyWords(keys: BigUint64Array): Uint32Array {
  assertLittleEndian();
  return new Uint32Array(keys.buffer, keys.byteOffset, keys.length * 2);
}

function assertLittleEndian(): void {
  // The digit and word views below read a key's bytes in memory order.
  if (endianness() !== 'LE') throw new Error('the index builder needs a little-endian machine');
}

/**
 * Sorts the first `length` records of `data` by key, in place, keeping the arrival order of equal keys.
 * `scratch` must hold at least `length` records; its contents are overwritten.
 */
export function radixSortKeyIds(data: KeyIdArrays, length: number, scratch: KeyIdArrays = sortScratch(length)): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > data.keys.length || length > data.ids.length) {
    throw new Error(`bug: sorting ${length} records of arrays of ${data.keys.length} keys and ${data.ids.length} ids`);
  }
  if (scratch.keys.length < length || scratch.ids.length < length) throw new Error(`bug: a scratch of ${scratch.keys.length} records for ${length}`);
  if (length < 2) return;
  assertLittleEndian();
  const counts = histograms(data.keys, length);
  let src = data;
  let dst = scratch;
  for (let pass = 0; pass < PASSES; pass++) {
    const count = counts.subarray(pass * RADIX, (pass + 1) * RADIX);
    // A digit every key shares leaves the order as it is.
    if (count.includes(length)) continue;
    scatter(src, dst, length, pass, prefixSums(count));
    [src, dst] = [dst, src];
  }
  if (src !== data) {
    data.keys.set(src.keys.subarray(0, length));
    data.ids.set(src.ids.subarray(0, length));
  }
}

/** The count of every digit value of every pass, in one read of the keys. */
function histograms(keys: BigUint64Array, length: number): Uint32Array {
  const digits = new Uint8Array(keys.buffer, keys.byteOffset, length * PASSES);
  const counts = new Uint32Array(PASSES * RADIX);
  for (let i = 0; i < length * PASSES; i += PASSES) {
    for (let pass = 0; pass < PASSES; pass++) {
      const at = pass * RADIX + (digits[i + pass] as number);
      counts[at] = (counts[at] as number) + 1;
    }
  }
  return counts;
}

/** Where each digit value's records start in the output. */
function prefixSums(count: Uint32Array): Float64Array {
  const starts = new Float64Array(RADIX);
  let sum = 0;
  for (let d = 0; d < RADIX; d++) {
    starts[d] = sum;
    sum += count[d] as number;
  }
  return starts;
}

/** One stable pass: every record to the next free place of its digit's bucket. */
function scatter(src: KeyIdArrays, dst: KeyIdArrays, length: number, pass: number, next: Float64Array): void {
  const digits = new Uint8Array(src.keys.buffer, src.keys.byteOffset, length * PASSES);
  const from = keyWords(src.keys);
  const to = keyWords(dst.keys);
  const fromIds = src.ids;
  const toIds = dst.ids;
  for (let i = 0; i < length; i++) {
    const digit = digits[i * PASSES + pass] as number;
    const j = next[digit] as number;
    next[digit] = j + 1;
    to[2 * j] = from[2 * i] as number;
    to[2 * j + 1] = from[2 * i + 1] as number;
    toIds[j] = fromIds[i] as number;
  }
}
