import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../metrics/logger.js';
import { ImageInputError } from '../models/errors.js';
import { generateTestModels } from '../models/test-models.js';
import { padBatch } from '../models/tokenizer.js';
import { hasModels, INLINE_TOKENIZE_MAX_CHARS, loadModelsInfo, modelFile, OnnxBackend } from './onnx.js';
import { modelRevisions } from './revision.js';

let dir: string;
let backend: OnnxBackend;
let png: Uint8Array;
let jpeg: Uint8Array;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'onnx-backend-'));
  await generateTestModels(dir);
  const models = await loadModelsInfo(dir);
  backend = await OnnxBackend.create(
    { modelsDir: dir, device: 'cpu', precision: 'fp32', intraOpThreads: 1, preprocessThreads: 1, maxImagePixels: 1_000_000, logger: silentLogger },
    models,
  );
  const raw = { create: { width: 64, height: 48, channels: 3 as const, background: { r: 200, g: 30, b: 90 } } };
  png = new Uint8Array(await sharp(raw).png().toBuffer());
  jpeg = new Uint8Array(await sharp(raw).jpeg().toBuffer());
}, 60_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await backend.close();
});

describe('model files', () => {
  it('finds the generated models and reports them as test models', async () => {
    expect(hasModels(dir)).toBe(true);
    expect(hasModels(join(dir, 'nothing-here'))).toBe(false);
    const info = await loadModelsInfo(dir);
    expect(info.testModels).toBe(true);
    expect(info.warning).toBeTruthy();
    expect(info.vitLabels).toHaveLength(1000);
    expect(info.embeddingDim).toBe(640);
  });

  it('falls back to the fp32 file when no fp16 variant exists', () => {
    expect(modelFile(dir, 'vit', 'fp16', silentLogger)).toBe(join(dir, 'vit-large-patch16-384', 'onnx', 'model.onnx'));
  });
});

describe('OnnxBackend', () => {
  it('runs on the CPU when asked to', () => {
    expect(backend.device).toBe('cpu');
  });

  it('reports the revisions of the files its sessions loaded', async () => {
    const loaded = {
      alignVision: modelFile(dir, 'align-vision', 'fp32', silentLogger),
      alignText: modelFile(dir, 'align-text', 'fp32', silentLogger),
      vit: modelFile(dir, 'vit', 'fp32', silentLogger),
    };
    expect(backend.revisions).toEqual(await modelRevisions(dir, loaded));
  });

  it('pre-processes images off the main thread into each model\'s tensor', async () => {
    expect((await backend.preprocessImage('align', png)).length).toBe(3 * 289 * 289);
    expect((await backend.preprocessImage('vit', jpeg)).length).toBe(3 * 384 * 384);
  });

  it('passes image errors from the pre-processing thread as ImageInputError', async () => {
    const notImage = backend.preprocessImage('align', new TextEncoder().encode('plain text, not an image'));
    await expect(notImage).rejects.toBeInstanceOf(ImageInputError);
    await expect(notImage).rejects.toMatchObject({ type: 'unsupported_media_type', status: 415 });
    const truncated = backend.preprocessImage('align', jpeg.subarray(0, jpeg.length / 2));
    await expect(truncated).rejects.toMatchObject({ type: 'invalid_image', status: 422 });
  });

  it('tokenises with [CLS] and [SEP] and truncates to 64 tokens', async () => {
    const [short, long] = await backend.tokenize(['a photo of a cat', 'cat '.repeat(100)]);
    expect(short?.[0]).toBe(101);
    expect(short?.at(-1)).toBe(102);
    expect(long).toHaveLength(64);
    expect(long?.at(-1)).toBe(102);
  });

  it('tokenises short requests inline and long ones in the pool to the same ids', async () => {
    const text = 'a photo of a cat on the couch';
    const [inline] = await backend.tokenize([text]);
    const [pooled] = await backend.tokenize([text, 'x'.repeat(INLINE_TOKENIZE_MAX_CHARS)]);
    expect(pooled).toEqual(inline);
  });

  it('answers one output row per batch item for all three towers', async () => {
    const a = await backend.preprocessImage('align', png);
    const stacked = new Float32Array(a.length * 2);
    stacked.set(a);
    stacked.set(a, a.length);
    expect((await backend.embedImages(stacked, 2)).length).toBe(2 * 640);
    const v = await backend.preprocessImage('vit', png);
    expect((await backend.classifyImages(v, 1)).length).toBe(1000);
    const ids = await backend.tokenize(['a cat', 'a photo of a dog']);
    expect((await backend.embedTexts(padBatch(ids))).length).toBe(2 * 640);
  });

  it('offers the input buffer of a finished image batch for stacking the next one of that size', async () => {
    const plane = 3 * 384 * 384;
    const batch = new Float32Array(2 * plane).fill(0.25);
    await backend.classifyImages(batch, 2);
    const next = backend.pixelBuffer('vit', 2 * plane);
    expect(next.length).toBe(2 * plane);
    expect(next[0], 'recycled, not a fresh zero-filled buffer').toBe(0.25);
    expect(backend.pixelBuffer('vit', 2 * plane)[0], 'handed out once').toBe(0);
    expect(backend.pixelBuffer('align', 2 * plane)[0], 'per tower').toBe(0);
  });

  it('gives a text the same embedding alone and padded in a batch with a longer text', async () => {
    const [cat, longer] = await backend.tokenize(['a cat', 'a photo of a dog on the couch']);
    if (!cat || !longer) throw new Error('test setup: tokenize returned too few rows');
    const alone = await backend.embedTexts(padBatch([cat]));
    const padded = (await backend.embedTexts(padBatch([cat, longer]))).subarray(0, 640);
    const maxDiff = Math.max(...Array.from(alone, (v, i) => Math.abs(v - (padded[i] ?? Number.NaN))));
    expect(maxDiff).toBeLessThan(1e-4);
  });
});
