import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../metrics/logger.js';
import { missingToolchain } from '../../scripts/build-native.js';
import { DEFAULT_ADDON_PATH } from '../models/jpeg-native.js';
import { loadVitConfig } from '../models/model-config.js';
import { decodeWithSharp, rgbToTensor } from '../models/preprocess.js';
import { generateTestModels, VIT_MODEL_ID } from '../models/test-models.js';
import { PreprocessPool } from './preprocess-pool.js';
import { Sha256Claim } from './sha256-claim.js';

let dir: string;
let png: Uint8Array;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'preprocess-pool-'));
  await generateTestModels(dir);
  png = new Uint8Array(
    await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toBuffer(),
  );
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const start = () =>
  PreprocessPool.start({ threads: 1, init: { modelsDir: dir, maxImagePixels: 1_000_000, maxTextTokens: 64 }, logger: silentLogger });

describe('PreprocessPool', () => {
  it('decodes JPEGs with the native decoder where it is built, one reused buffer giving sharp’s tensors', async () => {
    const pool = await start();
    try {
      if (missingToolchain() === null) expect(pool.jpegDecoder).toEqual({ decoder: 'libjpeg-turbo', addon: DEFAULT_ADDON_PATH });
      else expect(pool.jpegDecoder.decoder).toBe('sharp');
      const cfg = (await loadVitConfig(join(dir, VIT_MODEL_ID))).preprocess;
      const gradient = (width: number, height: number) =>
        sharp(Buffer.from(Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + Math.floor(i / (width * 3)) * 11) & 255)), { raw: { width, height, channels: 3 } });
      const jpegs = await Promise.all([
        gradient(300, 200).jpeg().toBuffer(), // grows the thread's buffer
        gradient(64, 48).jpeg().toBuffer(), // fits in it
        gradient(64, 48).toColourspace('cmyk').jpeg().toBuffer(), // handed to sharp
        gradient(320, 200).jpeg({ progressive: true }).toBuffer(), // grows it again
        gradient(40, 30).greyscale().jpeg().toBuffer(),
      ]);
      for (const [i, jpeg] of jpegs.entries()) {
        const expected = rgbToTensor(await decodeWithSharp(jpeg, 'jpeg', 1_000_000, true), cfg);
        const got = await pool.preprocessImage('vit', jpeg);
        expect(got.length).toBe(expected.length);
        expect(got.every((v, k) => Object.is(v, expected[k])), `image ${i}`).toBe(true);
      }
      const truncated = (jpegs[0] as Buffer).subarray(0, 400);
      await expect(pool.preprocessImage('vit', truncated)).rejects.toMatchObject({ type: 'invalid_image', status: 422 });
    } finally {
      await pool.close();
    }
  });

  it('decodes with sharp, and says so, when the native decoder is turned off', async () => {
    process.env.COYO_JPEG_DECODER = 'sharp'; // the threads copy the environment when they start
    const pool = await start().finally(() => {
      delete process.env.COYO_JPEG_DECODER;
    });
    try {
      expect(pool.jpegDecoder).toEqual({ decoder: 'sharp', reason: 'COYO_JPEG_DECODER=sharp' });
      const jpeg = await sharp({ create: { width: 50, height: 40, channels: 3, background: { r: 200, g: 20, b: 90 } } }).jpeg().toBuffer();
      expect((await pool.preprocessImage('align', jpeg)).length).toBe(3 * 289 * 289);
    } finally {
      await pool.close();
    }
  });

  it('leaves the caller its image bytes', async () => {
    const pool = await start();
    try {
      const bytes = png.slice();
      await pool.preprocessImage('align', bytes);
      expect(bytes.byteLength).toBe(png.byteLength);
    } finally {
      await pool.close();
    }
  });

  it('transfers image bytes given away that fill their buffer, and copies a view of part of one', async () => {
    const pool = await start();
    try {
      const fresh = await pool.preprocessImage('vit', png);
      const same = (a: Float32Array) => a.length === fresh.length && a.every((v, i) => Object.is(v, fresh[i]));
      const given = png.slice();
      expect(same(await pool.preprocessImage('vit', given, { transfer: true }))).toBe(true);
      expect(given.byteLength, 'the bytes went to the thread').toBe(0);
      const shared = new Uint8Array(png.byteLength + 8);
      shared.set(png, 4);
      const view = shared.subarray(4, 4 + png.byteLength);
      expect(same(await pool.preprocessImage('vit', view, { transfer: true }))).toBe(true);
      expect(shared.byteLength, 'a view of part of a buffer is copied').toBe(png.byteLength + 8);
    } finally {
      await pool.close();
    }
  });

  it('writes the tensor into a buffer it is given, and answers as without one', async () => {
    const pool = await start();
    try {
      const fresh = await pool.preprocessImage('vit', png);
      const into = new Float32Array(fresh.length).fill(Number.NaN);
      const written = await pool.preprocessImage('vit', png, { into: into.buffer });
      expect(into.buffer.byteLength, 'the buffer went to the thread').toBe(0);
      expect(written.buffer.byteLength).toBe(fresh.byteLength);
      const same = (a: Float32Array) => a.length === fresh.length && a.every((v, i) => Object.is(v, fresh[i]));
      expect(same(written)).toBe(true);
      // A buffer of another size is not written into: the answer is right all the same.
      expect(same(await pool.preprocessImage('vit', png, { into: new ArrayBuffer(16) }))).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('checks a claimed SHA-256 on the thread: the same tensor and the claim confirmed when it matches, digest_mismatch before decoding when not', async () => {
    const pool = await start();
    try {
      const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
      const plain = await pool.preprocessImage('vit', png);
      // Given away (transferred), as the direct routes do: the thread hashes the bytes it then decodes.
      const matching = new Sha256Claim(sha256(png));
      const checked = await pool.preprocessImage('vit', png.slice(), { sha256: matching, transfer: true });
      expect(checked.length === plain.length && checked.every((v, i) => Object.is(v, plain[i]))).toBe(true);
      expect(matching.verified).toBe(sha256(png));
      const claimed = new Sha256Claim(sha256(png.subarray(1)));
      await expect(pool.preprocessImage('vit', png, { sha256: claimed })).rejects.toMatchObject({
        type: 'digest_mismatch',
        status: 400,
        message: `the body's SHA-256 is ${sha256(png)}; content-digest says ${claimed.expected}`,
      });
      expect(claimed.verified).toBeUndefined();
      // Bytes no decoder reads: refused for their digest, so they were never decoded.
      const garbage = new Uint8Array(64).fill(1);
      await expect(pool.preprocessImage('vit', garbage, { sha256: claimed })).rejects.toMatchObject({ type: 'digest_mismatch' });
      await expect(pool.preprocessImage('vit', garbage, { sha256: new Sha256Claim(sha256(garbage)) })).rejects.toMatchObject({ type: 'unsupported_media_type' });
    } finally {
      await pool.close();
    }
  });

  it('fails a task that cannot be sent without stalling the tasks behind it', async () => {
    const pool = await start();
    try {
      const detached = png.slice();
      structuredClone(detached.buffer, { transfer: [detached.buffer] });
      await expect(pool.preprocessImage('align', detached)).rejects.toThrow();
      expect((await pool.preprocessImage('vit', png)).length).toBe(3 * 384 * 384);
    } finally {
      await pool.close();
    }
  });

  it('skips a queued task whose caller went away', async () => {
    const pool = await start();
    try {
      const controller = new AbortController();
      const first = pool.preprocessImage('vit', png);
      const second = pool.tokenize(['a cat'], { signal: controller.signal });
      controller.abort();
      await expect(second).rejects.toMatchObject({ reason: 'client_gone' });
      expect((await first).length).toBe(3 * 384 * 384);
    } finally {
      await pool.close();
    }
  });

  it('finishes queued tasks before closing and refuses new ones after', async () => {
    const pool = await start();
    const tasks = Promise.all([pool.preprocessImage('align', png), pool.tokenize(['a dog']), pool.preprocessImage('vit', png)] as const);
    await pool.close();
    const [a, ids, v] = await tasks;
    expect(a.length).toBe(3 * 289 * 289);
    expect(ids[0]?.[0]).toBe(101);
    expect(v.length).toBe(3 * 384 * 384);
    await expect(pool.tokenize(['late'])).rejects.toMatchObject({ reason: 'not_ready' });
  });

  it('refuses to start when the models folder cannot be read, naming the file', async () => {
    await expect(
      PreprocessPool.start({ threads: 1, init: { modelsDir: join(dir, 'missing'), maxImagePixels: 1, maxTextTokens: 64 }, logger: silentLogger }),
    ).rejects.toThrow(/missing/);
  });
});
