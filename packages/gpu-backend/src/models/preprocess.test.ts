import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ImageInputError } from './errors.js';
import { loadAlignConfig, loadVitConfig, type AlignPreprocessConfig, type VitPreprocessConfig } from './model-config.js';
import { decodeToRgb, pillowBilinearResize, pillowBilinearResizeWindow, preprocessAlign, preprocessVit } from './preprocess.js';
import { ALIGN_MODEL_ID, VIT_MODEL_ID, generateTestModels } from './test-models.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const FIXTURES = resolve(REPO_ROOT, '../shared/fixtures/align-preprocess');
const LIMITS = { maxPixels: 40_000_000 };

const ManifestSchema = z.object({
  cases: z.array(z.object({ image: z.string(), reference: z.string(), shape: z.tuple([z.literal(3), z.number(), z.number()]) })),
});
const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(FIXTURES, 'manifest.json'), 'utf8')));

let modelsDir: string;
let alignCfg: AlignPreprocessConfig;
let vitCfg: VitPreprocessConfig;

beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'coyo-preprocess-'));
  await generateTestModels(modelsDir);
  alignCfg = (await loadAlignConfig(join(modelsDir, ALIGN_MODEL_ID))).preprocess;
  vitCfg = (await loadVitConfig(join(modelsDir, VIT_MODEL_ID))).preprocess;
});

afterAll(async () => {
  await rm(modelsDir, { recursive: true, force: true });
});

function readF32(bytes: Buffer): Float32Array {
  const copy = new Uint8Array(bytes);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

function rawImage(pixels: number[], width: number, height: number, channels: 1 | 2 | 3 | 4): Sharp {
  return sharp(Buffer.from(pixels), { raw: { width, height, channels } });
}

async function uniformPng(rgb: [number, number, number], width: number, height: number): Promise<Buffer> {
  const pixels: number[] = [];
  for (let i = 0; i < width * height; i++) pixels.push(...rgb);
  return rawImage(pixels, width, height, 3).png().toBuffer();
}

async function expectImageError(promise: Promise<unknown>, type: string, status: number): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageInputError);
  expect((err as ImageInputError).type).toBe(type);
  expect((err as ImageInputError).status).toBe(status);
}

describe('preprocessAlign', () => {
  it.each(manifest.cases.map((c) => [c.image, c] as const))(
    'reproduces the transformers reference tensor of %s exactly',
    async (_name, testCase) => {
      const image = await readFile(join(FIXTURES, testCase.image));
      const reference = readF32(await readFile(join(FIXTURES, testCase.reference)));
      const tensor = await preprocessAlign(image, alignCfg, LIMITS);
      expect(tensor.length).toBe(testCase.shape[0] * testCase.shape[1] * testCase.shape[2]);
      expect(maxAbsDiff(tensor, reference)).toBe(0);
    },
  );

  it('maps a uniform colour to x / 127.5 - 1 per channel', async () => {
    const tensor = await preprocessAlign(await uniformPng([255, 0, 51], 50, 40), alignCfg, LIMITS);
    const plane = 289 * 289;
    expect(tensor.length).toBe(3 * plane);
    expect(new Set(tensor.subarray(0, plane))).toEqual(new Set([1]));
    expect(new Set(tensor.subarray(plane, 2 * plane))).toEqual(new Set([-1]));
    const blue = new Set(tensor.subarray(2 * plane));
    expect(blue.size).toBe(1);
    expect([...blue][0]).toBeCloseTo(51 / 127.5 - 1, 6);
  });
});

describe('preprocessVit', () => {
  it.each(manifest.cases.map((c) => [c.image] as const))(
    'equals Pillow resize to 384 then (x/255 - 0.5)/0.5 in float32 for %s',
    async (name) => {
      const bytes = await readFile(join(FIXTURES, name));
      const tensor = await preprocessVit(bytes, vitCfg, LIMITS);
      const decoded = await decodeToRgb(bytes, LIMITS);
      const resized = pillowBilinearResize(decoded.data, decoded.width, decoded.height, 384, 384);
      const f32 = Math.fround;
      const plane = 384 * 384;
      const expected = new Float32Array(3 * plane);
      for (let i = 0; i < plane; i++) {
        for (let c = 0; c < 3; c++) {
          const rescaled = f32((resized[i * 3 + c] as number) * (1 / 255));
          expected[c * plane + i] = f32(f32(rescaled - 0.5) / 0.5);
        }
      }
      expect(maxAbsDiff(tensor, expected)).toBe(0);
    },
  );

  it('maps a uniform colour (255, 0, 128) to exactly 1, -1 and float32 (128/255 - 0.5)/0.5', async () => {
    const tensor = await preprocessVit(await uniformPng([255, 0, 128], 30, 70), vitCfg, LIMITS);
    const plane = 384 * 384;
    const f32 = Math.fround;
    const mid = f32(f32(f32(128 / 255) - 0.5) / 0.5);
    expect(mid).toBeCloseTo(1 / 255, 6);
    expect(tensor.length).toBe(3 * plane);
    expect(new Set(tensor.subarray(0, plane))).toEqual(new Set([1]));
    expect(new Set(tensor.subarray(plane, 2 * plane))).toEqual(new Set([-1]));
    expect(new Set(tensor.subarray(2 * plane))).toEqual(new Set([mid]));
  });
});

describe('pillowBilinearResize', () => {
  it('interpolates a 2-pixel row to 4 with Pillow tap placement and fixed-point rounding', () => {
    // Taps: out0 = p0, out1 = .75p0 + .25p1, out2 = .25p0 + .75p1, out3 = p1; halves round down
    // after the 2^21 bias (25.5 → 25, 75.5 → 75), 63.75 → 64, 75.75 → 76.
    const row = pillowBilinearResize(new Uint8Array([0, 0, 0, 100, 101, 255]), 2, 1, 4, 1);
    expect([...row]).toEqual([0, 0, 0, 25, 25, 64, 75, 76, 191, 100, 101, 255]);
  });

  it('returns the same pixels when the size does not change', () => {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    expect(pillowBilinearResize(rgb, 5, 3, 5, 3)).toEqual(rgb);
  });

  it('keeps a uniform image uniform when shrinking and enlarging', () => {
    const rgb = new Uint8Array(7 * 5 * 3);
    for (let i = 0; i < rgb.length; i += 3) rgb.set([13, 200, 255], i);
    for (const [w, h] of [[3, 2], [20, 31]] as const) {
      const out = pillowBilinearResize(rgb, 7, 5, w, h);
      for (let i = 0; i < out.length; i += 3) expect([...out.subarray(i, i + 3)]).toEqual([13, 200, 255]);
    }
  });

  it('computes a window equal to the same crop of the full resize', () => {
    const rgb = Uint8Array.from({ length: 37 * 23 * 3 }, (_, i) => (i * 131 + (i >> 5)) % 256);
    for (const [outW, outH] of [[16, 11], [50, 61]] as const) {
      const full = pillowBilinearResize(rgb, 37, 23, outW, outH);
      const win = { left: 3, top: 2, width: outW - 5, height: outH - 4 };
      const part = pillowBilinearResizeWindow(rgb, 37, 23, outW, outH, win);
      const expected = new Uint8Array(win.width * win.height * 3);
      for (let y = 0; y < win.height; y++) {
        const start = ((win.top + y) * outW + win.left) * 3;
        expected.set(full.subarray(start, start + win.width * 3), y * win.width * 3);
      }
      expect(part).toEqual(expected);
    }
  });

  it('rejects a buffer whose length does not match the size', () => {
    expect(() => pillowBilinearResize(new Uint8Array(10), 2, 2, 4, 4)).toThrow(RangeError);
  });
});

describe('decodeToRgb', () => {
  it('drops alpha without compositing onto a background', async () => {
    const png = await rawImage([200, 100, 50, 0, 10, 20, 30, 255], 2, 1, 4).png().toBuffer();
    const { data, width, height } = await decodeToRgb(png, LIMITS);
    expect([width, height]).toEqual([2, 1]);
    expect([...data]).toEqual([200, 100, 50, 10, 20, 30]);
  });

  it('replicates a grey channel to RGB', async () => {
    const png = await rawImage([77, 140], 1, 2, 1).png().toBuffer();
    const { data } = await decodeToRgb(png, LIMITS);
    expect([...data]).toEqual([77, 77, 77, 140, 140, 140]);
  });

  it('reduces a 16-bit RGB PNG to the high byte of each sample, as Pillow does', async () => {
    const samples = new Uint16Array([0x12ff, 0x8080, 0xfe01, 0x00ff, 0x7fff, 0xffff]);
    const png = await sharp(samples, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    expect([...(await decodeToRgb(png, LIMITS)).data]).toEqual([0x12, 0x80, 0xfe, 0x00, 0x7f, 0xff]);
  });

  it('decodes lossless WebP to the stored pixels', async () => {
    const webp = await rawImage([1, 2, 3, 250, 128, 7], 2, 1, 3).webp({ lossless: true }).toBuffer();
    expect([...(await decodeToRgb(webp, LIMITS)).data]).toEqual([1, 2, 3, 250, 128, 7]);
  });

  it('decodes only the first frame of an animated GIF', async () => {
    const frames = [255, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 255];
    const gif = await sharp(Buffer.from(frames), { raw: { width: 2, height: 2, channels: 3, pageHeight: 1 } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const { data, width, height } = await decodeToRgb(gif, LIMITS);
    expect([width, height]).toEqual([2, 1]);
    expect([...data]).toEqual([255, 0, 0, 255, 0, 0]);
  });

  it('decodes AVIF', async () => {
    const avif = await rawImage(Array.from({ length: 16 * 16 * 3 }, () => 90), 16, 16, 3).avif({ lossless: true }).toBuffer();
    const { width, height, data } = await decodeToRgb(avif, LIMITS);
    expect([width, height]).toEqual([16, 16]);
    expect(Math.abs((data[0] as number) - 90)).toBeLessThanOrEqual(2);
  });

  it('applies the EXIF orientation', async () => {
    const jpeg = await rawImage(Array.from({ length: 4 * 2 * 3 }, () => 128), 4, 2, 3)
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const { width, height } = await decodeToRgb(jpeg, LIMITS);
    expect([width, height]).toEqual([2, 4]);
  });

  it('converts CMYK JPEG to three RGB channels', async () => {
    const png = await uniformPng([200, 40, 40], 8, 8);
    const jpeg = await sharp(png).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
    expect((await sharp(jpeg).metadata()).space).toBe('cmyk');
    const { data } = await decodeToRgb(jpeg, LIMITS);
    expect(data.length).toBe(8 * 8 * 3);
    expect(data[0] as number).toBeGreaterThan(150);
    expect(data[1] as number).toBeLessThan(100);
  });

  it('returns the stored pixel values of an image with an embedded ICC profile, as Pillow does', async () => {
    const png = await sharp(await uniformPng([30, 160, 220], 4, 4)).withIccProfile('p3').png().toBuffer();
    expect((await sharp(png).metadata()).icc).toBeDefined();
    const stored = await sharp(png, { ignoreIcc: true }).raw().toBuffer();
    const managed = await sharp(png).toColourspace('srgb').raw().toBuffer();
    expect(Buffer.compare(stored, managed)).not.toBe(0);
    const { data } = await decodeToRgb(png, LIMITS);
    expect(Buffer.compare(Buffer.from(data), stored)).toBe(0);
  });

  it('accepts a JPEG with extraneous bytes before a marker, a warning Pillow tolerates', async () => {
    const jpeg = await readFile(join(FIXTURES, 'grey-200x600.jpg'));
    // Insert junk between the APP0 segment and the next marker.
    const app0End = 4 + jpeg.readUInt16BE(4);
    const damaged = Buffer.concat([jpeg.subarray(0, app0End), Buffer.from([0x12, 0x34]), jpeg.subarray(app0End)]);
    const { width, height } = await decodeToRgb(damaged, LIMITS);
    expect([width, height]).toEqual([200, 600]);
  });

  it('refuses a truncated JPEG as invalid_image (422)', async () => {
    const jpeg = await readFile(join(FIXTURES, 'scene-640x480.jpg'));
    await expectImageError(decodeToRgb(jpeg.subarray(0, Math.floor(jpeg.length / 2)), LIMITS), 'invalid_image', 422);
  });

  it('refuses bytes with no image magic as unsupported_media_type (415)', async () => {
    await expectImageError(decodeToRgb(new TextEncoder().encode('%PDF-1.7\n%âãÏÓ\n'), LIMITS), 'unsupported_media_type', 415);
  });

  it('refuses HEVC-coded HEIF as unsupported_media_type (415)', async () => {
    const ftyp = Buffer.from([0, 0, 0, 24, ...Buffer.from('ftypheic'), 0, 0, 0, 0, ...Buffer.from('mif1heic')]);
    await expectImageError(decodeToRgb(Buffer.concat([ftyp, Buffer.alloc(64)]), LIMITS), 'unsupported_media_type', 415);
  });

  it('refuses a PNG whose header claims 20000×20000 as image_too_large (413) without decoding it', async () => {
    const png = Buffer.from(await uniformPng([1, 2, 3], 4, 4));
    png.writeUInt32BE(20000, 16);
    png.writeUInt32BE(20000, 20);
    // The IHDR CRC no longer matches and there is no pixel data for that size: only the header is read.
    await expectImageError(decodeToRgb(png, { maxPixels: 40_000_000 }), 'image_too_large', 413);
  });

  it('refuses an image just over maxPixels and accepts one at the limit', async () => {
    const png = await uniformPng([9, 9, 9], 10, 10);
    await expectImageError(decodeToRgb(png, { maxPixels: 99 }), 'image_too_large', 413);
    await expect(decodeToRgb(png, { maxPixels: 100 })).resolves.toMatchObject({ width: 10, height: 10 });
  });

  it('refuses an empty body as invalid_image (422)', async () => {
    await expectImageError(decodeToRgb(new Uint8Array(0), LIMITS), 'invalid_image', 422);
  });
});
