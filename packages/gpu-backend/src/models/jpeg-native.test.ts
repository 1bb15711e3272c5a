import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import sharp, { type JpegOptions } from 'sharp';
import { describe, expect, it } from 'vitest';
import { missingToolchain } from '../../scripts/build-native.js';
import { ImageInputError } from './errors.js';
import { jpegDecoderLabel, jpegDecoderStatus, nativeJpeg, probeJpegDecoder, DEFAULT_ADDON_PATH, type NativeJpeg } from './jpeg-native.js';
import { decodeJpegSync, decodeToRgb, decodeWithSharp, type RgbImage, type RgbScratch } from './preprocess.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SHARED_FIXTURES = resolve(REPO_ROOT, '../shared/fixtures');
const LIMITS = { maxPixels: 40_000_000 };

/** The addon; the test run builds it first (scripts/test.mjs), so it must be here when gcc and the headers are. */
function addon(): NativeJpeg {
  const a = nativeJpeg();
  if (a === null) throw new Error(`the native JPEG decoder is not loaded: ${JSON.stringify(jpegDecoderStatus())}`);
  return a;
}

type Outcome = { ok: true; image: RgbImage } | { ok: false; type: string };

async function viaSharp(bytes: Uint8Array, autoOrient = true): Promise<Outcome> {
  try {
    return { ok: true, image: await decodeWithSharp(bytes, 'jpeg', LIMITS.maxPixels, autoOrient) };
  } catch (error) {
    if (error instanceof ImageInputError) return { ok: false, type: error.type };
    throw error;
  }
}

/** The native decoder's outcome; `fallback` when it hands the image to sharp. */
function viaNative(bytes: Uint8Array, autoOrient = true): Outcome | 'fallback' {
  try {
    const image = decodeJpegSync(bytes, LIMITS, { autoOrient });
    return image === undefined ? 'fallback' : { ok: true, image };
  } catch (error) {
    if (error instanceof ImageInputError) return { ok: false, type: error.type };
    throw error;
  }
}

/** Fails unless both decoders give the same bytes, or refuse with the same problem. */
async function expectSameAsSharp(name: string, bytes: Uint8Array, autoOrient = true): Promise<Outcome> {
  const native = viaNative(bytes, autoOrient);
  if (native === 'fallback') throw new Error(`${name}: the native decoder handed the image back`);
  const reference = await viaSharp(bytes, autoOrient);
  const describe = (o: Outcome): string => (o.ok ? `${o.image.width}×${o.image.height}` : o.type);
  expect(describe(native), name).toBe(describe(reference));
  if (native.ok && reference.ok) {
    expect(Buffer.compare(Buffer.from(native.image.data), Buffer.from(reference.image.data)), `${name}: pixels differ`).toBe(0);
  }
  return native;
}

/** A smooth gradient with texture: exercises every DCT frequency and the chroma upsampling. */
function testPattern(width: number, height: number, seed = 0): Buffer {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      raw[o] = (x * 255) / Math.max(1, width - 1);
      raw[o + 1] = (y * 255) / Math.max(1, height - 1);
      raw[o + 2] = (128 + 127 * Math.sin((x + y + seed * 50) / 7) + ((x * 7 + y * 13) % 23)) & 255;
    }
  }
  return raw;
}

function sharpJpeg(width: number, height: number, options: JpegOptions = {}, grey = false): Promise<Buffer> {
  const image = sharp(testPattern(width, height), { raw: { width, height, channels: 3 } });
  return (grey ? image.greyscale() : image).jpeg(options).toBuffer();
}

interface LibjpegOptions {
  quality?: number;
  h?: number;
  v?: number;
  restartRows?: number;
  progressive?: boolean;
  arithmetic?: boolean;
  grey?: boolean;
}

function libjpegJpeg(width: number, height: number, o: LibjpegOptions = {}): Uint8Array {
  const options = Int32Array.from([o.quality ?? 85, o.h ?? 2, o.v ?? 2, o.restartRows ?? 0, o.progressive ? 1 : 0, o.arithmetic ? 1 : 0, o.grey ? 1 : 0]);
  return addon().encode(testPattern(width, height, 1), width, height, options);
}

/** Every JPEG under the shared fixtures. */
function fixtureJpegs(): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const dir of readdirSync(SHARED_FIXTURES, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const f of readdirSync(join(SHARED_FIXTURES, dir.name))) {
      if (/\.jpe?g$/i.test(f)) out.push([`${dir.name}/${f}`, readFileSync(join(SHARED_FIXTURES, dir.name, f))]);
    }
  }
  return out;
}

describe('native JPEG decoder', () => {
  it('is built and is the decoder in use wherever it can be built', () => {
    const missing = missingToolchain();
    if (missing !== null) {
      expect(jpegDecoderStatus().decoder).toBe('sharp');
      return;
    }
    expect(jpegDecoderStatus()).toEqual({ decoder: 'libjpeg-turbo', addon: DEFAULT_ADDON_PATH });
    expect(addon().jpegLibVersion).toBe(62);
  });

  it('falls back to sharp, saying why, when the addon is turned off, missing or not an addon', () => {
    expect(probeJpegDecoder({ COYO_JPEG_DECODER: 'sharp' }).status).toEqual({ decoder: 'sharp', reason: 'COYO_JPEG_DECODER=sharp' });
    const missing = probeJpegDecoder({ COYO_JPEG_ADDON: '/nonexistent/jpeg_decode.node' });
    expect(missing.addon).toBeNull();
    expect(jpegDecoderLabel(missing.status)).toMatch(/^sharp \(the native JPEG decoder is not built \(\/nonexistent\/jpeg_decode\.node; run pnpm build:native\)\)$/);
    const notAnAddon = probeJpegDecoder({ COYO_JPEG_ADDON: fileURLToPath(import.meta.url) });
    expect(notAnAddon.addon).toBeNull();
    expect(notAnAddon.status).toMatchObject({ decoder: 'sharp', reason: expect.stringMatching(/does not load/) as unknown });
  });

  it('decodes every JPEG fixture byte for byte as sharp does', async () => {
    const fixtures = fixtureJpegs();
    expect(fixtures.length).toBeGreaterThanOrEqual(6);
    for (const [name, bytes] of fixtures) {
      const outcome = await expectSameAsSharp(name, bytes);
      expect(outcome.ok, name).toBe(true);
    }
  });

  it('decodes the bench JPEGs (640×480…1024×768, quality 85) byte for byte as sharp does', async () => {
    for (const [width, height] of [[640, 480], [1024, 768], [480, 640], [800, 600]] as const) {
      await expectSameAsSharp(`${width}×${height}`, await sharpJpeg(width, height, { quality: 85 }));
    }
  });

  it('matches sharp on chroma subsamplings, progressive, grey and odd sizes written by sharp', async () => {
    const cases: Array<[string, Promise<Buffer>]> = [
      ['4:2:0', sharpJpeg(333, 251, { chromaSubsampling: '4:2:0' })],
      ['4:4:4', sharpJpeg(333, 251, { chromaSubsampling: '4:4:4' })],
      ['progressive', sharpJpeg(333, 251, { progressive: true })],
      ['progressive 4:4:4', sharpJpeg(200, 120, { progressive: true, chromaSubsampling: '4:4:4' })],
      ['grey', sharpJpeg(333, 251, {}, true)],
      ['grey progressive', sharpJpeg(97, 33, { progressive: true }, true)],
      ['quality 10', sharpJpeg(160, 90, { quality: 10 })],
      ['quality 100', sharpJpeg(160, 90, { quality: 100 })],
      ['mozjpeg defaults', sharpJpeg(160, 90, { mozjpeg: true })],
      ['1×1', sharpJpeg(1, 1)],
      ['17×9', sharpJpeg(17, 9)],
      ['1×300', sharpJpeg(1, 300)],
      ['301×2', sharpJpeg(301, 2)],
    ];
    for (const [name, bytes] of cases) {
      const outcome = await expectSameAsSharp(name, await bytes);
      expect(outcome.ok, name).toBe(true);
    }
  });

  it('matches sharp on 4:2:2, 4:4:0, 4:1:1, restart markers and arithmetic coding (written by libjpeg)', async () => {
    const cases: Array<[string, Uint8Array]> = [
      ['4:2:2', libjpegJpeg(333, 251, { h: 2, v: 1 })],
      ['4:4:0', libjpegJpeg(333, 251, { h: 1, v: 2 })],
      ['4:1:1', libjpegJpeg(333, 251, { h: 4, v: 1 })],
      ['4:4:4', libjpegJpeg(129, 65, { h: 1, v: 1 })],
      ['restart every row', libjpegJpeg(333, 251, { restartRows: 1 })],
      ['restart every 3 rows, progressive', libjpegJpeg(333, 251, { restartRows: 3, progressive: true })],
      ['arithmetic', libjpegJpeg(200, 150, { arithmetic: true })],
      ['arithmetic progressive', libjpegJpeg(200, 150, { arithmetic: true, progressive: true })],
      ['grey, restart', libjpegJpeg(101, 77, { grey: true, restartRows: 2 })],
      ['4:2:2 odd size', libjpegJpeg(7, 3, { h: 2, v: 1 })],
    ];
    for (const [name, bytes] of cases) {
      const outcome = await expectSameAsSharp(name, bytes);
      expect(outcome.ok, name).toBe(true);
    }
  });

  it('tolerates the warnings sharp tolerates (extraneous bytes before a marker)', async () => {
    const jpeg = await sharpJpeg(200, 100);
    const app0End = 4 + jpeg.readUInt16BE(4);
    const damaged = Buffer.concat([jpeg.subarray(0, app0End), Buffer.from([0x12, 0x34]), jpeg.subarray(app0End)]);
    const outcome = await expectSameAsSharp('extraneous bytes', damaged);
    expect(outcome.ok).toBe(true);
  });

  // Cuts start past the magic bytes, which both paths check before decoding.
  it('refuses truncated JPEGs where sharp does, with the same problem, at every cut', async () => {
    let refused = 0;
    for (const [name, jpeg] of [
      ['baseline', await sharpJpeg(160, 120, { quality: 90 })],
      ['progressive', await sharpJpeg(160, 120, { quality: 90, progressive: true })],
    ] as const) {
      const step = Math.max(1, Math.floor(jpeg.length / 60));
      const cuts = [...Array.from({ length: Math.ceil(jpeg.length / step) }, (_, i) => i * step + 4), jpeg.length - 1, jpeg.length - 2];
      for (const cut of cuts) {
        const outcome = await expectSameAsSharp(`${name} cut at ${cut}`, jpeg.subarray(0, cut));
        if (!outcome.ok) {
          expect(outcome.type).toBe('invalid_image');
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(50);
  });

  it('gives sharp’s outcome on corrupt entropy data and markers', async () => {
    const baseline = await sharpJpeg(160, 120, { quality: 90 });
    const progressive = await sharpJpeg(160, 120, { quality: 90, progressive: true });
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const outcomes = new Set<string>();
    for (let i = 0; i < 120; i++) {
      const damaged = Buffer.from(i % 2 === 0 ? baseline : progressive);
      for (let k = 0; k <= i % 4; k++) damaged[20 + Math.floor(random() * (damaged.length - 22))] = Math.floor(random() * 256);
      const outcome = await expectSameAsSharp(`corruption ${i}`, damaged);
      outcomes.add(outcome.ok ? 'ok' : outcome.type);
    }
    expect([...outcomes].sort()).toEqual(['invalid_image', 'ok']);
  });

  it('refuses a pixel bomb from its header, before decoding, as image_too_large', async () => {
    const jpeg = await sharpJpeg(64, 48);
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    const bomb = Buffer.from(jpeg.subarray(0, sof + 9)); // the header up to and with the SOF's size fields
    bomb.writeUInt16BE(60_000, sof + 5);
    bomb.writeUInt16BE(60_000, sof + 7);
    const header = Buffer.concat([bomb, jpeg.subarray(sof + 9)]);
    const err = (() => {
      try {
        decodeJpegSync(header, LIMITS);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ImageInputError);
    expect((err as ImageInputError).type).toBe('image_too_large');
    expect((err as ImageInputError).message).toBe('60000×60000 = 3600000000 pixels exceeds the limit of 40000000 pixels');
    // The same image's real size passes at exactly its pixel count and not one below.
    expect(decodeJpegSync(jpeg, { maxPixels: 64 * 48 })).toMatchObject({ width: 64, height: 48 });
    expect(() => decodeJpegSync(jpeg, { maxPixels: 64 * 48 - 1 })).toThrow(/exceeds the limit of 3071 pixels/);
    await expect(decodeWithSharp(jpeg, 'jpeg', 64 * 48 - 1, true)).rejects.toThrow(/exceeds the limit of 3071 pixels/);
  });

  it('hands CMYK and rotating EXIF orientations to sharp, and decodeToRgb still gives sharp’s pixels', async () => {
    const cmyk = await sharp(testPattern(40, 30), { raw: { width: 40, height: 30, channels: 3 } }).toColourspace('cmyk').jpeg().toBuffer();
    expect(viaNative(cmyk)).toBe('fallback');
    const rotated = await sharp(testPattern(40, 30), { raw: { width: 40, height: 30, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect(viaNative(rotated)).toBe('fallback');
    for (const bytes of [cmyk, rotated]) {
      const viaDecode = await decodeToRgb(bytes, LIMITS);
      const reference = await viaSharp(bytes);
      if (!reference.ok) throw new Error('sharp refused the image');
      expect([viaDecode.width, viaDecode.height]).toEqual([reference.image.width, reference.image.height]);
      expect(Buffer.compare(Buffer.from(viaDecode.data), Buffer.from(reference.image.data))).toBe(0);
    }
    expect((await decodeToRgb(rotated, LIMITS)).width).toBe(30);
    // Callers on the event loop keep the decode off their thread: sharp's path, the same pixels.
    const upright40 = await sharpJpeg(40, 30);
    const offThread = await decodeToRgb(upright40, LIMITS, { onThisThread: false });
    const onThread = await decodeToRgb(upright40, LIMITS);
    expect(Buffer.compare(Buffer.from(offThread.data), Buffer.from(onThread.data))).toBe(0);
    // Without auto-orientation the stored pixels are what both decoders give, so the native one decodes it.
    const stored = await expectSameAsSharp('orientation 6, not applied', rotated, false);
    expect(stored.ok && stored.image.width).toBe(40);
    // Orientation 1 changes nothing: the native decoder keeps it.
    const upright = await sharp(testPattern(40, 30), { raw: { width: 40, height: 30, channels: 3 } }).jpeg().withMetadata({ orientation: 1 }).toBuffer();
    await expectSameAsSharp('orientation 1', upright);
  });

  it('decodes into the caller’s buffer, reusing it and growing it only when an image does not fit', async () => {
    const big = await sharpJpeg(300, 200);
    const small = await sharpJpeg(50, 40);
    const scratch: RgbScratch = { buffer: null };
    const first = decodeJpegSync(big, LIMITS, {}, scratch);
    const buffer = scratch.buffer;
    expect(buffer?.byteLength).toBe(300 * 200 * 3);
    const second = decodeJpegSync(small, LIMITS, {}, scratch);
    expect(scratch.buffer).toBe(buffer);
    expect(second?.data.buffer).toBe(buffer);
    expect(second?.data.byteLength).toBe(50 * 40 * 3);
    const reference = await viaSharp(small);
    expect(reference.ok && Buffer.compare(Buffer.from(second?.data ?? []), Buffer.from(reference.image.data))).toBe(0);
    expect(first?.data.buffer).toBe(buffer);
    decodeJpegSync(await sharpJpeg(301, 200), LIMITS, {}, scratch);
    expect(scratch.buffer).not.toBe(buffer);
    expect(scratch.buffer?.byteLength).toBe(301 * 200 * 3);
  });

  it('maps libjpeg errors to invalid_image with libjpeg’s message, as decodeToRgb refuses corrupt data', async () => {
    const jpeg = await sharpJpeg(64, 48);
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    expect(() => decodeJpegSync(truncated, LIMITS)).toThrow(/^cannot decode the jpeg image: Premature end of JPEG file$/);
    const notJpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xd9]), Buffer.alloc(16)]);
    await expect(decodeToRgb(notJpeg, LIMITS)).rejects.toMatchObject({ type: 'invalid_image', status: 422 });
    expect(() => decodeJpegSync(new Uint8Array(0), LIMITS)).toThrow(ImageInputError);
  });

  it('loads and decodes in several worker threads at once', async () => {
    const jpeg = await sharpJpeg(120, 80);
    const reference = await viaSharp(jpeg);
    if (!reference.ok) throw new Error('sharp refused the image');
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const m = { exports: {} };
      process.dlopen(m, workerData.path);
      let buffer = null; let last;
      for (let i = 0; i < 20; i++) { const r = m.exports.decode(workerData.jpeg, buffer, 1e8, true); buffer = r.buffer; last = r; }
      parentPort.postMessage(Buffer.from(last.buffer, 0, last.width * last.height * 3));`;
    const results = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<Uint8Array>((resolvePixels, reject) => {
            const worker = new Worker(code, { eval: true, workerData: { path: DEFAULT_ADDON_PATH, jpeg } });
            worker.once('message', (pixels: Uint8Array) => {
              resolvePixels(pixels);
              void worker.terminate();
            });
            worker.once('error', reject);
          }),
      ),
    );
    for (const pixels of results) expect(Buffer.compare(Buffer.from(pixels), Buffer.from(reference.image.data))).toBe(0);
  });
});
