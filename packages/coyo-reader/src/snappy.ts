/**
 * Snappy decompression (the raw block format of parquet pages) that stops where the reader stops: a
 * look-up reads one row of a page of hundreds, an export only up to its last match, and snappy is
 * sequential, so everything after the last byte asked for is never decoded. The copy loops are
 * hyparquet's (`hyparquet/src/snappy.js`), made resumable.
 */

/** A malformed snappy block; says what was wrong. */
export class SnappyError extends Error {
  override readonly name = 'SnappyError';
}

/** Copies `length` bytes one at a time, forward (a snappy copy may overlap its own output). */
function copyBytes(from: Uint8Array, fromPos: number, to: Uint8Array, toPos: number, length: number): void {
  for (let i = 0; i < length; i++) to[toPos + i] = from[fromPos + i] as number;
}

/**
 * One snappy block, decoded on demand into `output` (allocated at its full, declared size): call
 * {@link ensure} before reading bytes of `output`. Throws {@link SnappyError} when the block is
 * malformed or its declared size is not the page's.
 */
export class SnappyBlock {
  readonly output: Uint8Array;
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
    this.output = new Uint8Array(outputLength);
  }

  /** Decodes until at least `n` bytes of `output` are ready (all of it at most). */
  ensure(n: number): void {
    if (this.decoded >= n) return;
    const input = this.input;
    const output = this.output;
    const inputLength = input.length;
    const outputLength = output.length;
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
        copyBytes(input, pos, output, out, len);
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
      copyBytes(output, out - offset, output, out, len);
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
