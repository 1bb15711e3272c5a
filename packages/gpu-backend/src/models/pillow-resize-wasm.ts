/**
 * Pillow-exact resize in WebAssembly SIMD (`pillow-resize.wat`): the same bytes as the JavaScript
 * reference in `pillow-resize.ts` for every filter and channel count it handles, 5–7× faster,
 * which is most of an image's pre-processing cost. Each thread owns its own instance (WebAssembly
 * memory is not shared here).
 */
import { PILLOW_RESIZE_WASM_BASE64 } from './pillow-resize-wasm.generated.js';
import {
  copyWindowColumns,
  planResize,
  type ResampleCoefficients,
  type ResampleOptions,
  type ResizePlan,
  type ResizeWindow,
} from './pillow-resize.js';

type HorizontalPass = (
  src: number,
  srcStride: number,
  rows: number,
  dst: number,
  outW: number,
  bounds: number,
  weights: number,
  ksize: number,
) => void;

interface ResizeExports {
  memory: WebAssembly.Memory;
  /** Interleaved RGB. */
  horizontal: HorizontalPass;
  /** Single channel (L). */
  horizontal1: HorizontalPass;
  vertical: (src: number, rowLen: number, outRows: number, dst: number, bounds: number, weights: number, ksize: number) => void;
  /** Pillow's RGB → L. */
  luma: (src: number, n: number, dst: number) => void;
  /** Interleaved RGB → channels-first float32 through a [3 × 256] table. */
  planar_lut: (src: number, n: number, lut: number, dst: number) => void;
}

const PAGE = 65_536;
/** Bytes of slack after each buffer: the passes load and store in 4- and 16-byte blocks. */
const SLACK = 16;
/**
 * Memory an idle resizer keeps. WebAssembly memory only grows, so after an image needs more (a
 * 24-megapixel photo needs ≈ 90 MB) the next call starts from a fresh instance instead.
 */
export const RETAINED_MEMORY_BYTES = 32 * 1024 * 1024;

let compiled: WebAssembly.Module | undefined;

function wasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(PILLOW_RESIZE_WASM_BASE64, 'base64'));
  return compiled;
}

const align16 = (n: number): number => (n + 15) & ~15;

/** Byte offsets of one call's buffers in linear memory. */
interface Layout {
  src: number;
  /** The source rows converted to L (luma resizes only). */
  luma: number;
  temp: number;
  out: number;
  hBounds: number;
  hWeights: number;
  vBounds: number;
  vWeights: number;
  end: number;
}

function layout(
  srcBytes: number,
  lumaBytes: number,
  tempBytes: number,
  outBytes: number,
  h?: ResampleCoefficients,
  v?: ResampleCoefficients,
): Layout {
  const src = 0;
  const luma = align16(src + srcBytes + SLACK);
  const temp = align16(luma + lumaBytes + SLACK);
  const out = align16(temp + tempBytes + SLACK);
  const hBounds = align16(out + outBytes + SLACK);
  const hWeights = hBounds + (h?.bounds.byteLength ?? 0);
  const vBounds = align16(hWeights + (h?.weights.byteLength ?? 0));
  const vWeights = vBounds + (v?.bounds.byteLength ?? 0);
  return { src, luma, temp, out, hBounds, hWeights, vBounds, vWeights, end: vWeights + (v?.weights.byteLength ?? 0) + SLACK };
}

/** One thread's WebAssembly resizer. */
export class WasmPillowResizer {
  #exports: ResizeExports | undefined;

  /** @throws when this runtime cannot compile WebAssembly SIMD. */
  constructor() {
    wasmModule();
  }

  /** Memory the instance holds now (bytes), for tests and metrics. */
  get memoryBytes(): number {
    return this.#exports?.memory.buffer.byteLength ?? 0;
  }

  #instance(bytes: number): ResizeExports {
    const current = this.#exports;
    if (current !== undefined && current.memory.buffer.byteLength > Math.max(bytes, RETAINED_MEMORY_BYTES)) {
      this.#exports = undefined; // drop an instance grown by an earlier, larger image
    }
    const exports = (this.#exports ??= new WebAssembly.Instance(wasmModule(), {}).exports as unknown as ResizeExports);
    const have = exports.memory.buffer.byteLength;
    if (bytes > have) exports.memory.grow(Math.ceil((bytes - have) / PAGE));
    return exports;
  }

  /**
   * Same contract and bytes as `pillowResizeWindow`, but the answer is a view into this
   * resizer's memory, valid until its next call: read it (or copy it) before resizing again.
   */
  resizeWindowView(
    pixels: Uint8Array,
    width: number,
    height: number,
    outWidth: number,
    outHeight: number,
    window?: ResizeWindow,
    options?: ResampleOptions,
  ): Uint8Array {
    return this.#resize(pixels, width, height, outWidth, outHeight, window, options, 0).view;
  }

  /**
   * The resize of `resizeWindowView` (RGB), then each byte through `lut` ([3 × 256] float32: R levels,
   * then G, then B) into `into` channels-first ([3, H, W], H × W the window's size): the tensor
   * `rgbToTensor` builds, in one more pass here instead of a JavaScript loop, with no buffer allocated.
   */
  resizeToPlanar(
    pixels: Uint8Array,
    width: number,
    height: number,
    outWidth: number,
    outHeight: number,
    window: ResizeWindow | undefined,
    lut: Float32Array,
    into: Float32Array,
  ): void {
    const outW = window?.width ?? outWidth;
    const outH = window?.height ?? outHeight;
    const n = outW * outH;
    if (lut.length !== 3 * 256) throw new RangeError(`lut must hold 3 × 256 values, got ${lut.length}`);
    if (into.length !== 3 * n) throw new RangeError(`into must hold 3 × ${outW} × ${outH} values, got ${into.length}`);
    const extra = lut.byteLength + 12 * n + SLACK;
    const { view, ex, extraAt } = this.#resize(pixels, width, height, outWidth, outHeight, window, { channels: 3 }, extra);
    if (view.length !== 3 * n) throw new Error(`bug: resized to ${view.length} bytes, expected ${3 * n}`);
    const memory = ex.memory.buffer;
    const lutAt = extraAt;
    const dst = lutAt + lut.byteLength;
    new Float32Array(memory, lutAt, lut.length).set(lut);
    ex.planar_lut(view.byteOffset, n, lutAt, dst);
    into.set(new Float32Array(memory, dst, 3 * n));
  }

  #resize(
    pixels: Uint8Array,
    width: number,
    height: number,
    outWidth: number,
    outHeight: number,
    window: ResizeWindow | undefined,
    options: ResampleOptions | undefined,
    extraBytes: number,
  ): { view: Uint8Array; ex: ResizeExports; extraAt: number } {
    const plan = planResize(pixels, width, height, outWidth, outHeight, window, options);
    const { channels, horizontal: h, vertical: v, rowFirst, rowEnd } = plan;
    const { left, width: winW, height: winH } = plan.window;
    const rowLen = winW * channels;
    const srcStride = width * channels;
    const rows = rowEnd - rowFirst;
    const srcBytes = h !== undefined ? rows * srcStride : 0;
    const at = layout(srcBytes, 0, rows * rowLen, v !== undefined ? winH * rowLen : 0, h, v);
    const extraAt = align16(at.end);
    const ex = this.#instance(extraAt + extraBytes);
    const memory = ex.memory.buffer;
    const bytes = new Uint8Array(memory);

    if (h !== undefined) {
      bytes.set(pixels.subarray(rowFirst * srcStride, rowEnd * srcStride), at.src);
      new Int32Array(memory, at.hBounds, h.bounds.length).set(h.bounds);
      new Int32Array(memory, at.hWeights, h.weights.length).set(h.weights);
      const pass = channels === 3 ? ex.horizontal : ex.horizontal1;
      pass(at.src, srcStride, rows, at.temp, winW, at.hBounds, at.hWeights, h.ksize);
    } else {
      copyWindowColumns(pixels, width, channels, rowFirst, rowEnd, left, winW, bytes, at.temp);
    }
    return { view: verticalPass(ex, at, plan, rowLen), ex, extraAt };
  }

  /**
   * Pillow's `convert('L')` of interleaved RGB followed by `pillowResizeWindow` with
   * `{ ...options, channels: 1 }` — the bytes of `pillowResizeWindow(rgbToL(rgb), …)` — with the
   * luma computed here, only for the source rows the resize reads. The answer is a view, as for
   * `resizeWindowView`.
   */
  resizeLumaWindowView(
    rgb: Uint8Array,
    width: number,
    height: number,
    outWidth: number,
    outHeight: number,
    window?: ResizeWindow,
    options: Omit<ResampleOptions, 'channels'> = {},
  ): Uint8Array {
    const rgbPlan = planResize(rgb, width, height, outWidth, outHeight, window, { ...options, channels: 3 });
    const plan: ResizePlan = { ...rgbPlan, channels: 1 };
    const { horizontal: h, vertical: v, rowFirst, rowEnd } = plan;
    const { left, width: winW, height: winH } = plan.window;
    const rows = rowEnd - rowFirst;
    const at = layout(rows * width * 3, rows * width, rows * winW, v !== undefined ? winH * winW : 0, h, v);
    const ex = this.#instance(at.end);
    const memory = ex.memory.buffer;
    const bytes = new Uint8Array(memory);

    bytes.set(rgb.subarray(rowFirst * width * 3, rowEnd * width * 3), at.src);
    ex.luma(at.src, rows * width, at.luma);
    if (h !== undefined) {
      new Int32Array(memory, at.hBounds, h.bounds.length).set(h.bounds);
      new Int32Array(memory, at.hWeights, h.weights.length).set(h.weights);
      ex.horizontal1(at.luma, width, rows, at.temp, winW, at.hBounds, at.hWeights, h.ksize);
    } else {
      const luma = new Uint8Array(memory, at.luma, rows * width);
      copyWindowColumns(luma, width, 1, 0, rows, left, winW, bytes, at.temp);
    }
    return verticalPass(ex, at, plan, winW);
  }

  /** Same contract and bytes as `pillowResizeWindow` (a copy the caller owns). */
  resizeWindow(
    pixels: Uint8Array,
    width: number,
    height: number,
    outWidth: number,
    outHeight: number,
    window?: ResizeWindow,
    options?: ResampleOptions,
  ): Uint8Array {
    return this.resizeWindowView(pixels, width, height, outWidth, outHeight, window, options).slice();
  }
}

/** The vertical pass of `plan` over the rows at `at.temp` (or those rows as they are, when it has none). */
function verticalPass(ex: ResizeExports, at: Layout, plan: ResizePlan, rowLen: number): Uint8Array {
  const { vertical: v, rowFirst, rowEnd } = plan;
  const winH = plan.window.height;
  const memory = ex.memory.buffer;
  if (v === undefined) return new Uint8Array(memory, at.temp, (rowEnd - rowFirst) * rowLen);
  const vBounds = new Int32Array(memory, at.vBounds, v.bounds.length);
  vBounds.set(v.bounds);
  for (let r = 0; r < winH; r++) vBounds[r * 2] = (vBounds[r * 2] as number) - rowFirst;
  new Int32Array(memory, at.vWeights, v.weights.length).set(v.weights);
  ex.vertical(at.temp, rowLen, winH, at.out, at.vBounds, at.vWeights, v.ksize);
  return new Uint8Array(memory, at.out, winH * rowLen);
}

let shared: WasmPillowResizer | null | undefined;

/**
 * This thread's resizer, or null when the runtime has no WebAssembly SIMD (callers then use the
 * JavaScript reference, which gives the same bytes more slowly).
 */
export function threadResizer(): WasmPillowResizer | null {
  if (shared === undefined) {
    try {
      shared = new WasmPillowResizer();
    } catch {
      shared = null;
    }
  }
  return shared;
}
