/**
 * The 64-bit perceptual hash of an image exactly as Python's `imagehash.phash` (4.x, over Pillow
 * and scipy) computes it, the function behind dataset pHash columns such as COYO-700M's
 * `image_phash`:
 *
 * ```python
 * image = Image.open(bytes).convert('L').resize((32, 32), Image.LANCZOS)
 * dct = scipy.fftpack.dct(scipy.fftpack.dct(numpy.asarray(image), axis=0), axis=1)
 * low = dct[:8, :8]; bits = low > numpy.median(low)          # row-major, first bit most significant
 * ```
 *
 * Each stage is reproduced bit for bit: Pillow's fixed-point luma, its fixed-point Lanczos resize
 * (`pillow-resize.ts`, in WebAssembly SIMD where available), pocketfft's DCT-II (`pocketfft-dct.ts`),
 * numpy's median. So the hash equals the Python one even where a coefficient ties the median (a
 * flat image: every AC coefficient is exactly 0, as is the median, so only the DC bit is set).
 */
import { Dct2, dct2d } from './pocketfft-dct.js';
import { threadResizer } from './pillow-resize-wasm.js';
import { LANCZOS, pillowResizeWindow, type ResampleOptions } from './pillow-resize.js';
import { decodeToRgb, type DecodeLimits, type RgbImage } from './preprocess.js';

/** Side of the hash's bit block (imagehash's `hash_size`). */
const HASH_SIZE = 8;
/** Side of the resized image (imagehash's `hash_size * highfreq_factor`). */
const IMAGE_SIZE = 32;
const L_LANCZOS: ResampleOptions = { filter: LANCZOS, channels: 1 };

let plan: Dct2 | undefined;

/** Every intermediate result of one hash, for tests and diagnostics. */
export interface PhashStages {
  /** The 32×32 `L` image after the Lanczos resize, row-major. */
  pixels: Uint8Array;
  /** The top-left 8×8 block of the 2-D DCT-II, row-major. */
  dctLow: Float64Array;
  /** numpy's median of `dctLow`: the mean of its two middle values. */
  median: number;
  /** 16 lowercase hex digits. */
  hash: string;
}

/**
 * Pillow's `convert('L')` of RGB (Convert.c `rgb2l`, ITU-R 601-2 luma in 16-bit fixed point:
 * (R·19595 + G·38470 + B·7471 + 2^15) >> 16). Grey replicated to RGB comes back unchanged, since
 * the weights sum to 2^16.
 */
export function rgbToL(image: RgbImage): Uint8Array {
  const { data, width, height } = image;
  const n = width * height;
  if (data.length !== n * 3) throw new RangeError(`RGB buffer holds ${data.length} bytes, ${n * 3} expected`);
  const out = new Uint8Array(n);
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    out[i] = ((data[p] as number) * 19595 + (data[p + 1] as number) * 38470 + (data[p + 2] as number) * 7471 + 0x8000) >>> 16;
  }
  return out;
}

/** numpy.median of a copy of `values` (the mean of the two middle values for an even count). */
function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** imagehash's hex form: bits row-major, first bit most significant, zero-padded. */
function bitsToHex(bits: boolean[]): string {
  let hex = '';
  for (let i = 0; i < bits.length; i += 4) {
    const nibble = (bits[i] === true ? 8 : 0) | (bits[i + 1] === true ? 4 : 0) | (bits[i + 2] === true ? 2 : 0) | (bits[i + 3] === true ? 1 : 0);
    hex += nibble.toString(16);
  }
  return hex;
}

/** The hash of a single-channel `L` image of any size, with every stage. */
export function phashStagesOfL(l: Uint8Array, width: number, height: number): PhashStages {
  const resizer = threadResizer();
  const pixels =
    resizer !== null
      ? resizer.resizeWindow(l, width, height, IMAGE_SIZE, IMAGE_SIZE, undefined, L_LANCZOS)
      : pillowResizeWindow(l, width, height, IMAGE_SIZE, IMAGE_SIZE, undefined, L_LANCZOS);
  return stagesOfPixels(pixels);
}

/** DCT, median and bits of the 32×32 `L` image. */
function stagesOfPixels(pixels: Uint8Array): PhashStages {
  plan ??= new Dct2(IMAGE_SIZE);
  const dct = dct2d(pixels, IMAGE_SIZE, plan);
  const dctLow = new Float64Array(HASH_SIZE * HASH_SIZE);
  for (let y = 0; y < HASH_SIZE; y++) dctLow.set(dct.subarray(y * IMAGE_SIZE, y * IMAGE_SIZE + HASH_SIZE), y * HASH_SIZE);
  const med = median(dctLow);
  const hash = bitsToHex(Array.from(dctLow, (v) => v > med));
  return { pixels, dctLow, median: med, hash };
}

/** The hash of interleaved RGB, with every stage: `convert('L')`, then as `phashStagesOfL`. */
export function phashStagesOfRgb(image: RgbImage): PhashStages {
  const resizer = threadResizer();
  if (resizer === null) return phashStagesOfL(rgbToL(image), image.width, image.height);
  // Luma and resize in one WebAssembly call: the same bytes as rgbToL then the resize.
  const { data, width, height } = image;
  const pixels = resizer.resizeLumaWindowView(data, width, height, IMAGE_SIZE, IMAGE_SIZE, undefined, { filter: LANCZOS });
  return stagesOfPixels(pixels.slice());
}

/**
 * Image bytes → every stage of `imagehash.phash`. Decodes as `Image.open` does: first frame, no
 * EXIF rotation, alpha ignored, palettes through their palette — except where sharp's decoder
 * differs from Pillow's: transparent GIF pixels come out black (Pillow: their palette colour),
 * and CMYK JPEGs and 16-bit PNGs are converted otherwise, so their hashes can differ.
 *
 * @throws ImageInputError as `decodeToRgb` (non-images, corrupt data, more than `limits.maxPixels`).
 */
export async function phashStagesOf(bytes: Uint8Array, limits: DecodeLimits): Promise<PhashStages> {
  // The hash is computed on the event loop (`/v1/phash`): the decode stays off it.
  return phashStagesOfRgb(await decodeToRgb(bytes, limits, { autoOrient: false, onThisThread: false }));
}

/**
 * The perceptual hash of an image as Python's `imagehash.phash(Image.open(f))` prints it: 16
 * lowercase hex digits, comparable with COYO-700M's `image_phash`.
 *
 * @example await phashOf(await readFile('cat.jpg'), { maxPixels: 40_000_000 }) // 'a71e386996c7691a'
 * @throws ImageInputError as `decodeToRgb` (non-images, corrupt data, more than `limits.maxPixels`).
 */
export async function phashOf(bytes: Uint8Array, limits: DecodeLimits): Promise<string> {
  return (await phashStagesOf(bytes, limits)).hash;
}

/** Number of differing bits between two 16-hex-digit hashes (the distance near-duplicate search uses). */
export function phashDistance(a: string, b: string): number {
  const pattern = /^[0-9a-f]{16}$/i;
  if (!pattern.test(a) || !pattern.test(b)) throw new RangeError(`pHashes are 16 hex digits, got ${a} and ${b}`);
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let bits = 0;
  while (x !== 0n) {
    bits += Number(x & 1n);
    x >>= 1n;
  }
  return bits;
}
