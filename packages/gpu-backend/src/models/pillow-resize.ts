/**
 * Pillow's resize (`Image.resize(size, filter)`, Resample.c) for 8-bit images, reproduced to the
 * bit: BILINEAR on RGB (the Hugging Face image processors of our checkpoints resize with Pillow,
 * and libvips' bilinear (sharp) places its taps and rounds differently, up to 118 levels apart when
 * enlarging, so the models would see other pixels than they were evaluated with) and LANCZOS on
 * single-channel `L` images (what `imagehash.phash` resizes with).
 *
 * Algorithm: separable, horizontal pass first into an 8-bit image, then vertical. For output
 * index i: center = (i + 0.5)·scale, support = filter support · max(scale, 1), taps
 * trunc(center − support + 0.5) .. trunc(center + support + 0.5) clamped to the image, filter
 * weights normalised to sum 1, converted to 22-bit fixed point (round half away from zero),
 * accumulated from 2^21, shifted right by 22 and clipped to 0..255.
 */
const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);
const CLIP_HIGH = 1 << (PRECISION_BITS + 8);

/** Integer filter taps for a range of output positions along one axis. */
export interface ResampleCoefficients {
  /** First output index these taps are for. */
  first: number;
  /** Number of output indices covered. */
  count: number;
  /** Per output: [first input index, number of taps]. */
  bounds: Int32Array;
  /** Per output: `ksize` fixed-point weights (unused tail is 0). */
  weights: Int32Array;
  ksize: number;
}

/** A rectangle of the resized image, in output pixels. */
export interface ResizeWindow {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** One of Pillow's resampling filters (Resample.c `struct filter`). */
export interface PillowFilter {
  name: 'bilinear' | 'lanczos';
  /** Half-width in input pixels at scale 1. */
  support: number;
  weight: (x: number) => number;
}

/** `Image.BILINEAR`: the triangle filter. */
export const BILINEAR: PillowFilter = {
  name: 'bilinear',
  support: 1,
  weight: (x) => {
    const a = x < 0 ? -x : x;
    return a < 1 ? 1 - a : 0;
  },
};

/**
 * Resample.c `sinc_filter`. Pillow calls glibc's `sin`, which V8's `Math.sin` matches to within an
 * ulp but not always exactly; the taps are rounded to 22-bit integers after normalisation, and for
 * every input size from 1 to 12,000 pixels resized to 32 they come out the same integers as
 * Pillow's (checked against a transcription of `precompute_coeffs` run on glibc).
 */
function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

/** `Image.LANCZOS` (formerly `ANTIALIAS`): sinc windowed by sinc, 3 lobes. */
export const LANCZOS: PillowFilter = {
  name: 'lanczos',
  support: 3,
  weight: (x) => (-3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0),
};

/** Bytes per pixel the resize handles: `L` or `RGB`. */
export type PillowChannels = 1 | 3;

/** What to resize with, beyond the sizes; defaults are the ALIGN/ViT case. */
export interface ResampleOptions {
  /** Default BILINEAR. */
  filter?: PillowFilter;
  /** Default 3 (interleaved RGB). */
  channels?: PillowChannels;
}

/**
 * Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for `filter`, for output indices
 * `first .. first + count - 1` of an `inSize → outSize` resize.
 */
export function resampleCoefficients(
  inSize: number,
  outSize: number,
  filter: PillowFilter = BILINEAR,
  first = 0,
  count = outSize - first,
): ResampleCoefficients {
  if (!Number.isInteger(inSize) || inSize < 1 || !Number.isInteger(outSize) || outSize < 1) {
    throw new RangeError(`resize sizes must be positive integers, got ${inSize} → ${outSize}`);
  }
  if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 1 || first + count > outSize) {
    throw new RangeError(`output range ${first}+${count} is outside 0..${outSize}`);
  }
  const scale = inSize / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const ss = 1 / filterScale;
  const bounds = new Int32Array(count * 2);
  const weights = new Int32Array(count * ksize);
  const taps = new Float64Array(ksize);
  for (let i = 0; i < count; i++) {
    const center = (first + i + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * ss);
      taps[x] = w;
      ww += w;
    }
    const base = i * ksize;
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? (taps[x] as number) / ww : (taps[x] as number);
      weights[base + x] = k < 0 ? Math.trunc(-0.5 + k * ONE) : Math.trunc(0.5 + k * ONE);
    }
    bounds[i * 2] = xmin;
    bounds[i * 2 + 1] = xmax;
  }
  return { first, count, bounds, weights, ksize };
}

function clip8(v: number): number {
  if (v <= 0) return 0;
  if (v >= CLIP_HIGH) return 255;
  return v >> PRECISION_BITS;
}

function checkImage(pixels: Uint8Array, width: number, height: number, channels: PillowChannels): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}×${height}`);
  }
  if (pixels.length !== width * height * channels) {
    const what = channels === 3 ? 'RGB' : 'L';
    throw new RangeError(
      `${what} buffer holds ${pixels.length} bytes, ${width}×${height}×${channels} = ${width * height * channels} expected`,
    );
  }
}

/**
 * When the width does not change Pillow skips the horizontal pass: the window's columns `left ..
 * left + winW - 1` of source rows `rowFirst .. rowEnd - 1` are copied, packed, into `dst` at `offset`.
 */
export function copyWindowColumns(
  pixels: Uint8Array,
  width: number,
  channels: PillowChannels,
  rowFirst: number,
  rowEnd: number,
  left: number,
  winW: number,
  dst: Uint8Array,
  offset: number,
): void {
  const srcStride = width * channels;
  const rowLen = winW * channels;
  for (let y = rowFirst; y < rowEnd; y++) {
    const start = y * srcStride + left * channels;
    dst.set(pixels.subarray(start, start + rowLen), offset + (y - rowFirst) * rowLen);
  }
}

/** Tap tables kept per thread: computing Lanczos taps costs ≈ 1 ms for a 1600-pixel side. */
const COEFFICIENT_CACHE_SIZE = 64;
const coefficientCache = new Map<string, ResampleCoefficients>();

/** `resampleCoefficients`, remembered for the last 64 distinct arguments. The result is shared: read it only. */
function cachedCoefficients(
  inSize: number,
  outSize: number,
  filter: PillowFilter,
  first: number,
  count: number,
): ResampleCoefficients {
  const key = `${filter.name} ${inSize} ${outSize} ${first} ${count}`;
  const hit = coefficientCache.get(key);
  if (hit !== undefined) {
    coefficientCache.delete(key); // most recently used last
    coefficientCache.set(key, hit);
    return hit;
  }
  const computed = resampleCoefficients(inSize, outSize, filter, first, count);
  coefficientCache.set(key, computed);
  if (coefficientCache.size > COEFFICIENT_CACHE_SIZE) {
    const oldest = coefficientCache.keys().next();
    if (oldest.done !== true) coefficientCache.delete(oldest.value);
  }
  return computed;
}

/**
 * What one windowed resize computes: the taps of each pass (absent when Pillow skips that pass
 * because the size does not change along its axis) and the source rows the vertical pass reads.
 * Shared by the JavaScript and the WebAssembly implementations, so both run the same arithmetic.
 */
export interface ResizePlan {
  window: ResizeWindow;
  channels: PillowChannels;
  /** Taps of the horizontal pass for the window's columns (shared: read only); undefined when the width is unchanged. */
  horizontal: ResampleCoefficients | undefined;
  /** Taps of the vertical pass for the window's rows (shared: read only); undefined when the height is unchanged. */
  vertical: ResampleCoefficients | undefined;
  /** Source rows `rowFirst .. rowEnd - 1` are all the horizontal pass needs. */
  rowFirst: number;
  rowEnd: number;
}

/** Validates a windowed resize and computes its taps. @throws RangeError on bad sizes or window. */
export function planResize(
  pixels: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  window: ResizeWindow = { left: 0, top: 0, width: outWidth, height: outHeight },
  options: ResampleOptions = {},
): ResizePlan {
  const { filter = BILINEAR, channels = 3 } = options;
  checkImage(pixels, width, height, channels);
  const { left, top, width: winW, height: winH } = window;
  if (
    ![left, top, winW, winH].every(Number.isInteger) ||
    left < 0 ||
    top < 0 ||
    winW < 1 ||
    winH < 1 ||
    left + winW > outWidth ||
    top + winH > outHeight
  ) {
    throw new RangeError(`window ${winW}×${winH}+${left}+${top} is outside the ${outWidth}×${outHeight} output`);
  }
  const horizontal = outWidth !== width ? cachedCoefficients(width, outWidth, filter, left, winW) : undefined;
  if (outHeight === height) {
    return { window, channels, horizontal, vertical: undefined, rowFirst: top, rowEnd: top + winH };
  }
  const vertical = cachedCoefficients(height, outHeight, filter, top, winH);
  const b = vertical.bounds;
  const rowFirst = b[0] as number;
  const rowEnd = (b[(winH - 1) * 2] as number) + (b[(winH - 1) * 2 + 1] as number);
  return { window, channels, horizontal, vertical, rowFirst, rowEnd };
}

/** Horizontal pass over interleaved RGB: source rows → `temp`, `rowLen` bytes per row. */
function horizontalRgb(
  rgb: Uint8Array,
  srcStride: number,
  rowFirst: number,
  rows: number,
  coefficients: ResampleCoefficients,
  temp: Uint8Array,
): void {
  const { bounds, weights, ksize, count: winW } = coefficients;
  const rowLen = winW * 3;
  for (let y = 0; y < rows; y++) {
    const srcRow = (rowFirst + y) * srcStride;
    let o = y * rowLen;
    for (let i = 0; i < winW; i++) {
      const xmin = bounds[i * 2] as number;
      const taps = bounds[i * 2 + 1] as number;
      const kBase = i * ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      let p = srcRow + xmin * 3;
      for (let t = 0; t < taps; t++) {
        const k = weights[kBase + t] as number;
        s0 = (s0 + Math.imul(rgb[p] as number, k)) | 0;
        s1 = (s1 + Math.imul(rgb[p + 1] as number, k)) | 0;
        s2 = (s2 + Math.imul(rgb[p + 2] as number, k)) | 0;
        p += 3;
      }
      temp[o] = clip8(s0);
      temp[o + 1] = clip8(s1);
      temp[o + 2] = clip8(s2);
      o += 3;
    }
  }
}

/** Horizontal pass over single-channel `L` pixels. */
function horizontalL(
  l: Uint8Array,
  srcStride: number,
  rowFirst: number,
  rows: number,
  coefficients: ResampleCoefficients,
  temp: Uint8Array,
): void {
  const { bounds, weights, ksize, count: winW } = coefficients;
  for (let y = 0; y < rows; y++) {
    const srcRow = (rowFirst + y) * srcStride;
    const o = y * winW;
    for (let i = 0; i < winW; i++) {
      const taps = bounds[i * 2 + 1] as number;
      const kBase = i * ksize;
      let s = HALF;
      let p = srcRow + (bounds[i * 2] as number);
      for (let t = 0; t < taps; t++) s = (s + Math.imul(l[p++] as number, weights[kBase + t] as number)) | 0;
      temp[o + i] = clip8(s);
    }
  }
}

/**
 * Resizes 8-bit pixels (interleaved RGB or single-channel L, `options.channels`) to
 * `outWidth × outHeight` exactly as Pillow's resize with `options.filter` does, and returns only
 * `window` of the result (all of it by default). Pixels outside the window are never computed,
 * which makes resize-then-center-crop about a third cheaper for ALIGN. This is the plain
 * JavaScript reference; `pillow-resize-wasm.ts` computes the same bytes several times faster.
 */
export function pillowResizeWindow(
  pixels: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  window?: ResizeWindow,
  options?: ResampleOptions,
): Uint8Array {
  const plan = planResize(pixels, width, height, outWidth, outHeight, window, options);
  const { window: win, channels, horizontal, vertical, rowFirst, rowEnd } = plan;
  const { left, width: winW, height: winH } = win;
  const rowLen = winW * channels;

  // Horizontal pass: rows rowFirst..rowEnd-1 of the source → window columns.
  const tempRows = rowEnd - rowFirst;
  const temp = new Uint8Array(tempRows * rowLen);
  if (horizontal === undefined) copyWindowColumns(pixels, width, channels, rowFirst, rowEnd, left, winW, temp, 0);
  else if (channels === 3) horizontalRgb(pixels, width * 3, rowFirst, tempRows, horizontal, temp);
  else horizontalL(pixels, width, rowFirst, tempRows, horizontal, temp);

  if (vertical === undefined) return temp;

  // Vertical pass, the same for every channel count. The few source rows of one output row stay
  // in L1 as x advances.
  const { bounds, weights, ksize } = vertical;
  const out = new Uint8Array(winH * rowLen);
  for (let r = 0; r < winH; r++) {
    const rowBase = ((bounds[r * 2] as number) - rowFirst) * rowLen;
    const taps = bounds[r * 2 + 1] as number;
    const kBase = r * ksize;
    const o = r * rowLen;
    for (let x = 0; x < rowLen; x++) {
      let s = HALF;
      let p = rowBase + x;
      for (let t = 0; t < taps; t++) {
        s = (s + Math.imul(temp[p] as number, weights[kBase + t] as number)) | 0;
        p += rowLen;
      }
      out[o + x] = clip8(s);
    }
  }
  return out;
}

/**
 * Interleaved 8-bit RGB resized as Pillow's BILINEAR does, only `window` of the result (all of it
 * by default).
 */
export function pillowBilinearResizeWindow(
  rgb: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  window?: ResizeWindow,
): Uint8Array {
  return pillowResizeWindow(rgb, width, height, outWidth, outHeight, window);
}

/**
 * Pillow-exact BILINEAR resize of interleaved 8-bit RGB (`Image.resize((outW, outH), BILINEAR)`).
 *
 * @example pillowBilinearResize(rgb, 640, 480, 346, 346) // Uint8Array(346 * 346 * 3)
 */
export function pillowBilinearResize(
  rgb: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  return pillowResizeWindow(rgb, width, height, outWidth, outHeight);
}
