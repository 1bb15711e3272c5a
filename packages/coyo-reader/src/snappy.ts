/**
 * Snappy decompression (the raw block format of parquet pages) that stops where the reader stops: a
 * look-up reads one row of a page of hundreds, an export only up to its last match, and snappy is
 * sequential, so everything after the last byte asked for is never decoded. The copy loops are
 * hyparquet's (`hyparquet/src/snappy.js`), made resumable, with long moves done natively and short
 * copies a word at a time.
 */

import { slabBytes } from './slab';

/** A malformed snappy block; says what was wrong. */
export class SnappyError extends Error {
  override readonly name = 'SnappyError';
}

/**
 * Copies at least this long go through `TypedArray.set` / `copyWithin` (a native move); shorter ones
 * are a byte loop, where the call and the subarray would cost more than the bytes. COYO's pages are
 * mostly copies of 4–8 bytes (URLs and captions), which move as two 32-bit words.
 */
const NATIVE_COPY = 32;

/**
 * One snappy block, decoded on demand into `output` (its full, declared size, from a slab): call
 * {@link ensure} before reading bytes of `output`. Throws {@link SnappyError} when the block is
 * malformed or its declared size is not the page's.
 */
export class SnappyBlock {
  readonly output: Uint8Array;
  private readonly view: DataView;
  /** Bytes of `output` decoded so far. */
  decoded = 0;
  private pos = 0;

  constructor(
    private readonly input: Uint8Array,
    outputLength: number,
  ) {
    let declared = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= input.length || shift > 28) throw new SnappyError('snappy: bad length preamble');
      const c = input[this.pos++] as number;
      declared += (c & 0x7f) * 2 ** shift;
      if (c < 128) break;
      shift += 7;
    }
    if (declared !== outputLength) throw new SnappyError(`snappy: the block holds ${declared} bytes, the page ${outputLength}`);
    this.output = slabBytes(outputLength);
    this.view = new DataView(this.output.buffer, this.output.byteOffset, outputLength);
  }

  /** Decodes until at least `n` bytes of `output` are ready (all of it at most). */
  ensure(n: number): void {
    if (this.decoded >= n) return;
    const input = this.input;
    const output = this.output;
    const inputLength = input.length;
    const outputLength = output.length;
    const view = this.view;
    let pos = this.pos;
    let out = this.decoded;
    while (out < n && pos < inputLength) {
      const tag = input[pos++] as number;
      if ((tag & 3) === 0) {
        let len = (tag >>> 2) + 1;
        if (len > 60) {
          const extra = len - 60;
          if (pos + 4 > inputLength) throw new SnappyError('snappy: literal length past the end of the block');
          // Little-endian in `extra` bytes; int32 arithmetic throughout keeps V8 on small integers.
          len = (input[pos] as number) | ((input[pos + 1] as number) << 8) | ((input[pos + 2] as number) << 16) | ((input[pos + 3] as number) << 24);
          len = (extra === 4 ? len : len & ((1 << (8 * extra)) - 1)) + 1;
          if (len <= 0) throw new SnappyError('snappy: literal longer than a page');
          pos += extra;
        }
        if (pos + len > inputLength || out + len > outputLength) throw new SnappyError('snappy: literal past the end of the block');
        if (len < NATIVE_COPY) {
          for (let i = 0; i < len; i++) output[out + i] = input[pos + i] as number;
        } else {
          output.set(input.subarray(pos, pos + len), out);
        }
        pos += len;
        out += len;
        continue;
      }
      let len: number;
      let offset: number;
      const kind = tag & 3;
      if (kind === 1) {
        if (pos >= inputLength) throw new SnappyError('snappy: copy past the end of the block');
        len = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) | (input[pos] as number);
        pos += 1;
      } else if (kind === 2) {
        if (pos + 2 > inputLength) throw new SnappyError('snappy: copy past the end of the block');
        len = (tag >>> 2) + 1;
        offset = (input[pos] as number) | ((input[pos + 1] as number) << 8);
        pos += 2;
      } else {
        if (pos + 4 > inputLength) throw new SnappyError('snappy: copy past the end of the block');
        len = (tag >>> 2) + 1;
        offset = (input[pos] as number) | ((input[pos + 1] as number) << 8) | ((input[pos + 2] as number) << 16) | ((input[pos + 3] as number) << 24);
        pos += 4;
      }
      if (offset <= 0 || offset > out) throw new SnappyError(`snappy: a copy from ${offset} bytes back at output byte ${out}`);
      if (out + len > outputLength) throw new SnappyError('snappy: copy past the end of the output');
      // A copy that reaches into its own output (offset < len) repeats a pattern: byte by byte, as
      // the format defines it; a long one that does not is one native move.
      if (len <= 8 && offset >= 8 && out + 8 <= outputLength) {
        // Eight bytes as two words. Those past `len` lie beyond `decoded`, where nothing is read
        // before the elements that follow overwrite them; the source ends before `out` (offset ≥ 8).
        const from = out - offset;
        view.setUint32(out, view.getUint32(from, true), true);
        view.setUint32(out + 4, view.getUint32(from + 4, true), true);
      } else if (len < NATIVE_COPY || offset < len) {
        const from = out - offset;
        for (let i = 0; i < len; i++) output[out + i] = output[from + i] as number;
      } else {
        output.copyWithin(out, out - offset, out - offset + len);
      }
      out += len;
    }
    this.pos = pos;
    this.decoded = out;
    if (out < n) throw new SnappyError(`snappy: the block ends after ${out} of ${outputLength} bytes`);
  }
}

/** Decompresses a whole snappy block into `outputLength` bytes. */
export function snappyDecompress(input: Uint8Array, outputLength: number): Uint8Array {
  const block = new SnappyBlock(input, outputLength);
  block.ensure(outputLength);
  return block.output;
}
