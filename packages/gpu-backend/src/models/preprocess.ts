/**
 * Image bytes → model input tensors, reproducing the Hugging Face image processors of our
 * checkpoints bit for bit: decode like `PIL.Image.open(...).convert('RGB')` after EXIF
 * transpose (alpha dropped, not composited; grey replicated; embedded ICC profiles ignored, as
 * Pillow ignores them), Pillow BILINEAR resize, center crop, then rescale / normalise in float32
 * in the processor's order. Every parameter comes from the checkpoint's preprocessor_config.json.
 */
import sharp, { type OutputInfo } from 'sharp';
import { ImageInputError } from './errors.js';
import { sniffImageFormat, type ImageFormat } from './image-format.js';
import { nativeJpeg, type NativeJpeg, type NativeJpegResult } from './jpeg-native.js';
import {
  outputSize,
  type AlignPreprocessConfig,
  type ImagePreprocessConfig,
  type VitPreprocessConfig,
} from './model-config.js';
import { threadResizer } from './pillow-resize-wasm.js';
import { pillowBilinearResizeWindow, type ResizeWindow } from './pillow-resize.js';

export { pillowBilinearResize, pillowBilinearResizeWindow } from './pillow-resize.js';

/** Caller-set bounds on what an image may cost to decode. */
export interface DecodeLimits {
  /** Largest width × height accepted, checked from the header before any pixel is decoded. */
  maxPixels: number;
}

/** How to decode, beyond the limits. */
export interface DecodeOptions {
  /**
   * Apply the EXIF orientation (default true), as the Hugging Face processors do after
   * `exif_transpose`. `false` keeps the stored pixel order, as a bare `Image.open` does.
   */
  autoOrient?: boolean;
  /**
   * Whether a JPEG may be decoded synchronously on the calling thread by the native decoder (default
   * true). `false` keeps every decode off the calling thread (sharp: libuv's and libvips' threads), for
   * callers on the event loop; the pixels are the same either way.
   */
  onThisThread?: boolean;
}

/** Interleaved 8-bit RGB, row-major, `width * height * 3` bytes. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

const FORMATS_ACCEPTED = 'JPEG, PNG, WebP, GIF or AVIF';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] ?? err.message : String(err);
}

/**
 * A decode buffer one thread reuses from image to image ({@link decodeJpegSync}): the native decoder
 * writes each image into it, and replaces it with a larger one when an image does not fit.
 */
export interface RgbScratch {
  buffer: ArrayBuffer | null;
}

/** Checks the limits and the magic bytes; the image's format when it is one we decode. */
function acceptedFormat(bytes: Uint8Array, maxPixels: number): ImageFormat {
  if (!Number.isSafeInteger(maxPixels) || maxPixels < 1) {
    throw new RangeError(`limits.maxPixels must be a positive integer, got ${maxPixels}`);
  }
  if (bytes.length === 0) throw new ImageInputError('invalid_image', 'the image body is empty');
  const sniffed = sniffImageFormat(bytes);
  if (!sniffed.supported) {
    const what =
      sniffed.format === null ? 'not a recognised image format' : `${sniffed.format.toUpperCase()} is not supported`;
    throw new ImageInputError('unsupported_media_type', `${what}; send ${FORMATS_ACCEPTED}`);
  }
  return sniffed.format;
}

function tooLarge(width: number, height: number, maxPixels: number, cause?: unknown): ImageInputError {
  return new ImageInputError('image_too_large', `${width}×${height} = ${width * height} pixels exceeds the limit of ${maxPixels} pixels`, cause === undefined ? undefined : { cause });
}

/**
 * One JPEG through the native decoder: the image, or `undefined` when the decoder hands it back (a kind
 * of JPEG it does not decode bit for bit like libvips: CMYK, 12-bit, a rotating EXIF orientation, …).
 */
function decodeJpegNative(addon: NativeJpeg, bytes: Uint8Array, maxPixels: number, autoOrient: boolean, scratch: RgbScratch | undefined): RgbImage | undefined {
  let result: NativeJpegResult;
  try {
    result = addon.decode(bytes, scratch?.buffer ?? null, maxPixels, autoOrient);
  } catch (err) {
    if (err instanceof Error && (err as Error & { code?: unknown }).code === 'ERR_JPEG_DECODE') {
      throw new ImageInputError('invalid_image', `cannot decode the jpeg image: ${messageOf(err)}`, { cause: err });
    }
    throw err;
  }
  switch (result.kind) {
    case 'rgb': {
      if (scratch !== undefined) scratch.buffer = result.buffer;
      const { width, height } = result;
      return { data: new Uint8Array(result.buffer, 0, width * height * 3), width, height };
    }
    case 'too-large':
      throw tooLarge(result.width, result.height, maxPixels);
    case 'fallback':
      return undefined;
  }
}

/**
 * The synchronous path of {@link decodeToRgb}: a JPEG decoded on this thread by the native libjpeg-turbo
 * decoder, into `scratch` when given (the pixels then stay valid until the next call with the same
 * scratch). `undefined` when {@link decodeToRgb} must decode the image instead: not a JPEG, the addon not
 * loaded, or a JPEG the native decoder hands to sharp. Refuses what {@link decodeToRgb} refuses, with the
 * same errors.
 */
export function decodeJpegSync(bytes: Uint8Array, limits: DecodeLimits, options: DecodeOptions = {}, scratch?: RgbScratch): RgbImage | undefined {
  const addon = nativeJpeg();
  if (addon === null) return undefined;
  if (acceptedFormat(bytes, limits.maxPixels) !== 'jpeg') return undefined;
  return decodeJpegNative(addon, bytes, limits.maxPixels, options.autoOrient ?? true, scratch);
}

/**
 * Decodes an untrusted image to 8-bit sRGB: first frame of animations, EXIF orientation applied
 * (unless `options.autoOrient` is false), alpha dropped, grey replicated, CMYK converted. Refuses
 * non-images from their magic bytes and pixel bombs from their header, so neither reaches the decoder.
 * JPEGs go through the native libjpeg-turbo decoder when it is built ({@link decodeJpegSync}), which gives
 * libvips' bytes; everything else, and the JPEGs it hands back, through sharp.
 *
 * @throws ImageInputError `invalid_image` (empty, truncated or corrupt), `unsupported_media_type`
 *   (not JPEG/PNG/WebP/GIF/AVIF), `image_too_large` (more than `limits.maxPixels` pixels).
 */
export async function decodeToRgb(
  bytes: Uint8Array,
  limits: DecodeLimits,
  options: DecodeOptions = {},
): Promise<RgbImage> {
  const { maxPixels } = limits;
  const { autoOrient = true, onThisThread = true } = options;
  const format = acceptedFormat(bytes, maxPixels);
  if (format === 'jpeg' && onThisThread) {
    const addon = nativeJpeg();
    const native = addon === null ? undefined : decodeJpegNative(addon, bytes, maxPixels, autoOrient, undefined);
    if (native !== undefined) return native;
  }
  return decodeWithSharp(bytes, format, maxPixels, autoOrient);
}

/** libvips' decode, as {@link decodeToRgb} describes it. */
export async function decodeWithSharp(bytes: Uint8Array, format: ImageFormat, maxPixels: number, autoOrient: boolean): Promise<RgbImage> {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  let decoded: { data: Buffer; info: OutputInfo };
  try {
    // One pass: libvips reads the header first and refuses more than `maxPixels` pixels before it
    // decodes any (a separate header read costs another trip through libvips per image).
    decoded = await sharp(input, {
      // 'error' refuses truncated and corrupt data but, like Pillow, tolerates libjpeg warnings
      // such as extraneous bytes before a marker.
      failOn: 'error',
      limitInputPixels: maxPixels,
      autoOrient,
      ignoreIcc: true,
      pages: 1,
      page: 0,
      // Top to bottom in one pass: no random access to the decoded image is needed.
      sequentialRead: true,
    })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    const message = messageOf(err);
    if (/pixel limit/i.test(message)) {
      const size = await declaredSize(input);
      if (size === undefined) throw new ImageInputError('image_too_large', `the image exceeds the limit of ${maxPixels} pixels`, { cause: err });
      throw tooLarge(size.width, size.height, maxPixels, err);
    }
    throw new ImageInputError('invalid_image', `cannot decode the ${format} image: ${message}`, { cause: err });
  }
  const { data, info } = decoded;
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
    throw new Error(`bug: decoder returned ${info.channels} channels for ${info.width}×${info.height}`);
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/** Width and height from an image's header, or `undefined` when it cannot be read. */
async function declaredSize(input: Buffer): Promise<{ width: number; height: number } | undefined> {
  try {
    const { width, height } = await sharp(input, { limitInputPixels: false }).metadata();
    return width >= 1 && height >= 1 ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Width × height as an image's header declares it, read by libvips without decoding a pixel (sharp's
 * `metadata()`); 0 when the header cannot be read, since decoding refuses such an image anyway.
 */
export async function declaredPixels(bytes: Uint8Array): Promise<number> {
  try {
    const { width, height } = await sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      limitInputPixels: false,
    }).metadata();
    return width >= 1 && height >= 1 ? width * height : 0;
  } catch {
    return 0;
  }
}

const lutCache = new WeakMap<ImagePreprocessConfig, Float32Array>();

/**
 * The float32 value of each 8-bit level per channel ([3 × 256]), computed in the Hugging Face
 * processor's order and precision: float32(x·factor) (−1 if offset), then
 * (x − float32(mean)) / float32(std), then EfficientNet's include_top x / float32(std).
 * Every step is per-pixel, so the whole chain is one table look-up.
 */
export function pixelLookupTable(cfg: ImagePreprocessConfig): Float32Array {
  const cached = lutCache.get(cfg);
  if (cached !== undefined) return cached;
  const f32 = Math.fround;
  const lut = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) {
      let x = v;
      if (cfg.rescale !== null) {
        x = f32(v * cfg.rescale.factor);
        if (cfg.rescale.offset) x = f32(x - 1);
      }
      if (cfg.normalize !== null) {
        x = f32(f32(x - f32(cfg.normalize.mean[c] as number)) / f32(cfg.normalize.std[c] as number));
      }
      if (cfg.includeTopStd !== null) x = f32(x / f32(cfg.includeTopStd[c] as number));
      lut[c * 256 + v] = x;
    }
  }
  lutCache.set(cfg, lut);
  return lut;
}

/** Where the center crop falls in the resized image (HF: offset (size − crop) // 2). */
export function centerCropWindow(cfg: ImagePreprocessConfig): ResizeWindow | undefined {
  const crop = cfg.centerCrop;
  if (crop === null) return undefined;
  return {
    left: Math.floor((cfg.resize.width - crop.width) / 2),
    top: Math.floor((cfg.resize.height - crop.height) / 2),
    width: crop.width,
    height: crop.height,
  };
}

/** Values in one image's tensor for `cfg`: 3 × H × W (H, W = crop or resize size). */
export function tensorLength(cfg: ImagePreprocessConfig): number {
  const { width, height } = outputSize(cfg);
  return 3 * width * height;
}

/**
 * Decoded RGB → channels-first float32 tensor [3, H, W] (H, W = crop or resize size), written into
 * `into` when given (it must hold {@link tensorLength} values), else into a new array.
 * Only the pixels that survive the crop are resized, in WebAssembly SIMD where the runtime has it,
 * and turned into float32 there by the same table (the JavaScript reference otherwise; both give
 * Pillow's bytes and the processor's values).
 */
export function rgbToTensor(image: RgbImage, cfg: ImagePreprocessConfig, into?: Float32Array): Float32Array {
  const { width: outW, height: outH } = outputSize(cfg);
  const plane = outW * outH;
  const out = into ?? new Float32Array(3 * plane);
  if (out.length !== 3 * plane) throw new RangeError(`the tensor buffer holds ${out.length} values, not 3 × ${outW} × ${outH}`);
  const lut = pixelLookupTable(cfg);
  const window = centerCropWindow(cfg);
  const resizer = threadResizer();
  if (resizer !== null) {
    resizer.resizeToPlanar(image.data, image.width, image.height, cfg.resize.width, cfg.resize.height, window, lut, out);
    return out;
  }
  const rgb = pillowBilinearResizeWindow(image.data, image.width, image.height, cfg.resize.width, cfg.resize.height, window);
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    out[i] = lut[rgb[p] as number] as number;
    out[plane + i] = lut[256 + (rgb[p + 1] as number)] as number;
    out[2 * plane + i] = lut[512 + (rgb[p + 2] as number)] as number;
  }
  return out;
}

/** Image bytes → ALIGN `pixel_values` for one image, [3, 289, 289] with the real config. */
export async function preprocessAlign(
  bytes: Uint8Array,
  cfg: AlignPreprocessConfig,
  limits: DecodeLimits,
  into?: Float32Array,
): Promise<Float32Array> {
  return rgbToTensor(await decodeToRgb(bytes, limits), cfg, into);
}

/** Image bytes → ViT `pixel_values` for one image, [3, 384, 384] with the real config. */
export async function preprocessVit(
  bytes: Uint8Array,
  cfg: VitPreprocessConfig,
  limits: DecodeLimits,
  into?: Float32Array,
): Promise<Float32Array> {
  return rgbToTensor(await decodeToRgb(bytes, limits), cfg, into);
}
