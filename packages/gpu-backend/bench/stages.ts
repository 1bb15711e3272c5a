/**
 * `--stages` of `pnpm bench:backend`: where a ViT image's CPU goes, ours beside Pillow's, each stage timed
 * the same way on both sides: one image at a time on one thread, process CPU (user + system of every
 * thread, so libvips' and libuv's threads count for the decode) read before and after each call, over the
 * same JPEGs for the same time. Ours runs in this process with the pre-processing threads' settings
 * (`preprocess-worker.ts`); Pillow's in `pillow-floor.py --stages`. A running server's CPU by thread is
 * `process-cpu.ts`'s `threadCpuMs`.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { loadVitConfig } from '../src/models/model-config.js';
import { decodeJpegSync, decodeToRgb, rgbToTensor, tensorLength, type RgbImage, type RgbScratch } from '../src/models/preprocess.js';

/** CPU ms per image of each pre-processing stage. */
export interface StageTimes {
  images: number;
  decodeMs: number;
  /** Ours: the resize and the normalisation are one pass, counted here. */
  resizeMs: number;
  /** Pillow only (NumPy's rescale, normalise and transpose); null where it is part of the resize. */
  normaliseMs: number | null;
}

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * Our stages over `images` for `durationMs`, as a pre-processing thread runs them: the decode (JPEGs by the
 * native libjpeg-turbo decoder into one reused buffer where it is built, else `decodeToRgb`: libvips, one
 * thread per decode, cache off) and `rgbToTensor` (the WebAssembly resize + normalise pass) into one
 * reused tensor buffer, as the server recycles them. `COYO_JPEG_DECODER=sharp` measures the sharp path.
 */
export async function ourStages(images: readonly Buffer[], modelsDir: string, durationMs: number): Promise<StageTimes> {
  if (images.length === 0) throw new RangeError('no images given');
  sharp.cache(false);
  sharp.concurrency(1);
  const cfg = (await loadVitConfig(join(modelsDir, 'vit-large-patch16-384'))).preprocess;
  const limits = { maxPixels: 100_000_000 };
  const into = new Float32Array(tensorLength(cfg));
  const scratch: RgbScratch = { buffer: null };
  const decode = async (bytes: Buffer): Promise<RgbImage> => decodeJpegSync(bytes, limits, {}, scratch) ?? (await decodeToRgb(bytes, limits, { onThisThread: false }));
  for (const bytes of images) rgbToTensor(await decode(bytes), cfg, into); // warm-up
  let decodeMs = 0;
  let resize = 0;
  let count = 0;
  const end = performance.now() + durationMs;
  while (performance.now() < end || count < images.length) {
    const t0 = cpuMs();
    const rgb = await decode(images[count % images.length] as Buffer);
    const t1 = cpuMs();
    rgbToTensor(rgb, cfg, into);
    const t2 = cpuMs();
    decodeMs += t1 - t0;
    resize += t2 - t1;
    count++;
  }
  return { images: count, decodeMs: decodeMs / count, resizeMs: resize / count, normaliseMs: null };
}
