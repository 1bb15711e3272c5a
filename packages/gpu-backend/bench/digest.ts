/**
 * `pnpm exec tsx bench/digest.ts` (from packages/gpu-backend): what checking a raw image's `content-digest`
 * costs a pre-processing thread, beside what that thread already spends on the image. One camera-size JPEG
 * of about 3 MB (12 Mpx, photo-like texture, generated once), timed on one thread as a pre-processing
 * thread runs it, interleaved over rounds so load drift weighs alike: SHA-256 of its bytes (node:crypto,
 * what `sha256-claim.ts` does), its decode (the native libjpeg-turbo decoder into one reused buffer where
 * it is built, else sharp with one libvips thread), and the ViT resize + normalise. Process CPU (user +
 * system of every thread, so libvips' threads count) read before and after each call; the load average
 * is printed with the numbers, which are meaningful only against each other.
 *
 * Options: --rounds <n> (default 5), --per-round <n> calls of each stage per round (default 4).
 */
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { z } from 'zod';
import { sha256Hex } from '../src/backend/sha256-claim.js';
import { cameraJpeg } from './camera-jpeg.js';
import { jpegDecoderLabel, probeJpegDecoder } from '../src/models/jpeg-native.js';
import { loadVitConfig } from '../src/models/model-config.js';
import { decodeJpegSync, decodeToRgb, rgbToTensor, tensorLength, type RgbImage, type RgbScratch } from '../src/models/preprocess.js';

const ArgsSchema = z.object({
  rounds: z.coerce.number().int().min(1).default(5),
  'per-round': z.coerce.number().int().min(1).default(4),
});

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, 'per-round': { type: 'string' } } });
  const args = ArgsSchema.parse(values);
  sharp.cache(false);
  sharp.concurrency(1);
  const modelsDir = resolve(fileURLToPath(new URL('../../../models', import.meta.url)));
  const cfg = (await loadVitConfig(join(modelsDir, 'vit-large-patch16-384'))).preprocess;
  const jpeg = await cameraJpeg();
  const limits = { maxPixels: 100_000_000 };
  const scratch: RgbScratch = { buffer: null };
  const into = new Float32Array(tensorLength(cfg));
  const decode = async (): Promise<RgbImage> => decodeJpegSync(jpeg, limits, {}, scratch) ?? (await decodeToRgb(jpeg, limits, { onThisThread: false }));
  let decoded: RgbImage = await decode();
  rgbToTensor(decoded, cfg, into);
  for (let i = 0; i < 4; i++) sha256Hex(jpeg);

  const stages = {
    sha256: () => { sha256Hex(jpeg); },
    decode: async () => { decoded = await decode(); },
    resize: () => { rgbToTensor(decoded, cfg, into); },
  };
  const totals = { sha256: [] as number[], decode: [] as number[], resize: [] as number[] };
  for (let round = 0; round < args.rounds; round++) {
    for (const [name, run] of Object.entries(stages) as Array<[keyof typeof stages, () => Promise<void> | undefined]>) {
      const t0 = cpuMs();
      for (let i = 0; i < args['per-round']; i++) await run();
      totals[name].push((cpuMs() - t0) / args['per-round']);
    }
  }
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const fmt = (xs: readonly number[]) => `${mean(xs).toFixed(2)} ms (rounds ${xs.map((x) => x.toFixed(2)).join(' ')})`;
  console.log(`one ${(jpeg.byteLength / 1e6).toFixed(2)} MB ${decoded.width}×${decoded.height} JPEG, CPU ms per call on one thread; JPEG decoder ${jpegDecoderLabel(probeJpegDecoder().status)}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`  sha-256 of the bytes    ${fmt(totals.sha256)}`);
  console.log(`  decode                  ${fmt(totals.decode)}`);
  console.log(`  ViT resize + normalise  ${fmt(totals.resize)}`);
  console.log(`  sha-256 / decode ${(mean(totals.sha256) / mean(totals.decode)).toFixed(3)}; / (decode + resize) ${(mean(totals.sha256) / (mean(totals.decode) + mean(totals.resize))).toFixed(3)}`);
}

await main();
