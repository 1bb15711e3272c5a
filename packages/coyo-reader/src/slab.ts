/**
 * Buffers for decoded pages, carved out of shared slabs instead of an `ArrayBuffer` each. A COYO
 * look-up or filter page decodes dozens of pages of a few KB (17 columns a row group), and a typed
 * array of more than a few dozen bytes gets a backing store of its own, allocated, zeroed and tracked
 * by the garbage collector one by one: in the Workers profile, allocating page buffers cost about as
 * much as decoding them. A region is handed out once and never reused, so nothing one page wrote is
 * seen by another; a slab is freed when no view of it is left.
 */

/** Bytes of one slab. */
const SLAB_BYTES = 256 * 1024;
/** Larger buffers get an `ArrayBuffer` of their own (they would waste most of a slab's tail). */
const LARGEST_CARVED = 32 * 1024;

let slab = new ArrayBuffer(0);
let used = 0;

/** Offset of a fresh region of `bytes` bytes in `slab` (8-byte aligned). */
function carve(bytes: number): number {
  if (used + bytes > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const at = used;
  used += (bytes + 7) & ~7;
  return at;
}

/** `length` bytes, zero or not: for output that is written before it is read. */
export function slabBytes(length: number): Uint8Array {
  if (length > LARGEST_CARVED) return new Uint8Array(length);
  const at = carve(length);
  return new Uint8Array(slab, at, length);
}

/** `length` int32s, zero or not. */
export function slabInt32(length: number): Int32Array {
  if (length * 4 > LARGEST_CARVED) return new Int32Array(length);
  const at = carve(length * 4);
  return new Int32Array(slab, at, length);
}

/** `length` float64s, zero or not. */
export function slabFloat64(length: number): Float64Array {
  if (length * 8 > LARGEST_CARVED) return new Float64Array(length);
  const at = carve(length * 8);
  return new Float64Array(slab, at, length);
}
