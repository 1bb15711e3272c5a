/**
 * The native JPEG decoder (native/jpeg/jpeg_decode.c, built by `pnpm build:native`): libjpeg-turbo's
 * libjpeg API called synchronously on the calling thread, into a buffer reused from image to image. Each
 * thread that imports this module loads the addon once (it is context-aware and keeps no global state).
 *
 * Where it is looked for: `COYO_JPEG_ADDON` (a path), else native/jpeg/build/jpeg_decode.node relative to
 * this module's folder two levels up — the package in the repository, `app/` in the device pack, where the
 * bundle sits in app/lib/bin/. `COYO_JPEG_DECODER=sharp` turns it off.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** What one call of the addon's `decode` gives back. */
export type NativeJpegResult =
  | { kind: 'rgb'; width: number; height: number; channels: 3; buffer: ArrayBuffer }
  | { kind: 'fallback'; reason: string }
  | { kind: 'too-large'; width: number; height: number };

export interface NativeJpeg {
  /**
   * Decodes `input` into `buffer` (pixels in its first width × height × 3 bytes), or into a new
   * ArrayBuffer returned in `buffer` when it is null or too small. Throws an Error with code
   * `ERR_JPEG_DECODE` and libjpeg's message for corrupt or truncated data.
   */
  decode(input: Uint8Array, buffer: ArrayBuffer | null, maxPixels: number, autoOrient: boolean): NativeJpegResult;
  /**
   * libjpeg's own encoder, for the tests: JPEGs sharp's encoder cannot write. `options` is
   * [quality, luma h factor, luma v factor, restart interval in MCU rows, progressive, arithmetic, grey].
   */
  encode(rgb: Uint8Array, width: number, height: number, options: Int32Array): Uint8Array;
  /** libjpeg's API version the addon was compiled against (62 for libjpeg-turbo's default). */
  jpegLibVersion: number;
}

/** Which decoder JPEGs go through, and why when it is not the native one. */
export type JpegDecoderStatus = { decoder: 'libjpeg-turbo'; addon: string } | { decoder: 'sharp'; reason: string };

const AddonSchema = z.object({ decode: z.function(), encode: z.function(), jpegLibVersion: z.number().int() });

export const DEFAULT_ADDON_PATH = fileURLToPath(new URL('../../native/jpeg/build/jpeg_decode.node', import.meta.url));

let loaded: { addon: NativeJpeg | null; status: JpegDecoderStatus } | undefined;

/**
 * Loads the addon from `COYO_JPEG_ADDON` or the default path, as a process with environment `env` would
 * (this thread caches its own result; this function does not).
 */
export function probeJpegDecoder(env: NodeJS.ProcessEnv = process.env): { addon: NativeJpeg | null; status: JpegDecoderStatus } {
  if (env.COYO_JPEG_DECODER === 'sharp') return { addon: null, status: { decoder: 'sharp', reason: 'COYO_JPEG_DECODER=sharp' } };
  const path = env.COYO_JPEG_ADDON ?? DEFAULT_ADDON_PATH;
  if (!existsSync(path)) return { addon: null, status: { decoder: 'sharp', reason: `the native JPEG decoder is not built (${path}; run pnpm build:native)` } };
  try {
    const module = { exports: {} as unknown };
    process.dlopen(module, path);
    AddonSchema.parse(module.exports);
    return { addon: module.exports as NativeJpeg, status: { decoder: 'libjpeg-turbo', addon: path } };
  } catch (error) {
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
    return { addon: null, status: { decoder: 'sharp', reason: `the native JPEG decoder at ${path} does not load: ${message}` } };
  }
}

/** The addon, or null when JPEGs go through sharp. */
export function nativeJpeg(): NativeJpeg | null {
  loaded ??= probeJpegDecoder();
  return loaded.addon;
}

/** Which decoder this thread uses for JPEGs (loads the addon if it has not been). */
export function jpegDecoderStatus(): JpegDecoderStatus {
  loaded ??= probeJpegDecoder();
  return loaded.status;
}

/** A label for logs and bench headers: `libjpeg-turbo (native)` or `sharp (<why>)`. */
export function jpegDecoderLabel(status: JpegDecoderStatus = jpegDecoderStatus()): string {
  return status.decoder === 'libjpeg-turbo' ? 'libjpeg-turbo (native addon)' : `sharp (${status.reason})`;
}
