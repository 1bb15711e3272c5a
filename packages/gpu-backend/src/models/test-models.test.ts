import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ModelConfigError } from './errors.js';
import { loadAlignConfig } from './model-config.js';
import { preprocessAlign } from './preprocess.js';
import {
  TEST_ALIGN_TEMPERATURE,
  expectedImageEmbedding,
  expectedTextEmbedding,
  expectedVitLogits,
  type ChannelMeans,
} from './test-model-spec.js';
import { ALIGN_MODEL_ID, VIT_MODEL_ID, buildTestModelFiles, generateTestModels, loadImagenetLabels } from './test-models.js';
import { loadTokenizer, padBatch } from './tokenizer.js';

const { onnx } = onnxProto;
const TOLERANCE = 1e-4;

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coyo-test-models-'));
  tempDirs.push(dir);
  return dir;
}

let modelsDir: string;
const sessions: InferenceSession[] = [];
async function session(relative: string): Promise<InferenceSession> {
  const s = await InferenceSession.create(join(modelsDir, relative), {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
  });
  sessions.push(s);
  return s;
}

beforeAll(async () => {
  modelsDir = await tempDir();
  await generateTestModels(modelsDir);
});

afterAll(async () => {
  for (const s of sessions) await s.release();
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

function maxAbsDiff(actual: Float32Array, expected: Float64Array, offset = 0): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) {
    max = Math.max(max, Math.abs((actual[offset + i] as number) - (expected[i] as number)));
  }
  return max;
}

/** A [3, size, size] tensor whose channel c holds a ramp with the given mean. */
function rampTensor(size: number, means: ChannelMeans): { data: Float32Array; means: ChannelMeans } {
  const plane = size * size;
  const data = new Float32Array(3 * plane);
  const actual: number[] = [];
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    for (let i = 0; i < plane; i++) {
      const v = Math.fround((means[c] as number) + 0.3 * Math.sin(i * 0.01 + c));
      data[c * plane + i] = v;
      sum += v;
    }
    actual.push(sum / plane);
  }
  return { data, means: [actual[0] as number, actual[1] as number, actual[2] as number] };
}

function output(result: InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const tensor = result[name];
  if (tensor === undefined || !(tensor.data instanceof Float32Array)) throw new Error(`no float32 output ${name}`);
  return tensor.data;
}

describe('generateTestModels', () => {
  it('writes every file of the documented layout', async () => {
    const files: string[] = [];
    for (const model of [ALIGN_MODEL_ID, VIT_MODEL_ID]) {
      for (const entry of await readdir(join(modelsDir, model), { recursive: true, withFileTypes: true })) {
        if (entry.isFile()) files.push(join(entry.parentPath, entry.name).slice(modelsDir.length + 1));
      }
    }
    expect(files.sort()).toEqual(
      [
        'align-base/config.json',
        'align-base/onnx/text_model.onnx',
        'align-base/onnx/vision_model.onnx',
        'align-base/preprocessor_config.json',
        'align-base/special_tokens_map.json',
        'align-base/tokenizer.json',
        'align-base/tokenizer_config.json',
        'vit-large-patch16-384/config.json',
        'vit-large-patch16-384/onnx/model.onnx',
        'vit-large-patch16-384/preprocessor_config.json',
      ].sort(),
    );
  });

  it('produces byte-identical files on every run', async () => {
    const other = await tempDir();
    await generateTestModels(other);
    for (const relative of (await buildTestModelFiles()).keys()) {
      const a = await readFile(join(modelsDir, relative));
      const b = await readFile(join(other, relative));
      expect(Buffer.compare(a, b), relative).toBe(0);
    }
  });

  it('leaves files with identical content untouched and rewrites a changed one', async () => {
    const dir = await tempDir();
    const first = await generateTestModels(dir);
    expect(first.unchanged).toEqual([]);
    await writeFile(join(dir, ALIGN_MODEL_ID, 'tokenizer.json'), '{}');
    const second = await generateTestModels(dir);
    expect(second.written).toEqual([`${ALIGN_MODEL_ID}/tokenizer.json`]);
    expect(second.unchanged).toHaveLength(first.written.length - 1);
  });

  it('refuses to overwrite a folder holding a real export and writes nothing', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, VIT_MODEL_ID), { recursive: true });
    const realConfig = JSON.stringify({ model_type: 'vit', id2label: { '0': 'a' } });
    await writeFile(join(dir, VIT_MODEL_ID, 'config.json'), realConfig);
    await expect(generateTestModels(dir)).rejects.toThrow(/not a generated test model/);
    await expect(generateTestModels(dir)).rejects.toBeInstanceOf(ModelConfigError);
    expect(await readFile(join(dir, VIT_MODEL_ID, 'config.json'), 'utf8')).toBe(realConfig);
    await expect(readdir(join(dir, ALIGN_MODEL_ID))).rejects.toThrow();
  });

  it('refuses a non-empty folder that has no config.json', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, ALIGN_MODEL_ID, 'onnx'), { recursive: true });
    await writeFile(join(dir, ALIGN_MODEL_ID, 'onnx', 'vision_model.onnx'), 'weights');
    await expect(generateTestModels(dir)).rejects.toThrow(/refusing to overwrite/);
  });

  it('marks both configs as test models with a warning, and ALIGN with its temperature', async () => {
    const Marked = z.looseObject({ coyo_test_model: z.boolean(), coyo_warning: z.string() });
    const Vit = Marked.extend({ id2label: z.record(z.string(), z.string()), label2id: z.record(z.string(), z.int()) });
    const read = async (model: string) => JSON.parse(await readFile(join(modelsDir, model, 'config.json'), 'utf8')) as unknown;
    const align = Marked.parse(await read(ALIGN_MODEL_ID));
    const vit = Vit.parse(await read(VIT_MODEL_ID));
    for (const config of [align, vit]) {
      expect(config.coyo_test_model).toBe(true);
      expect(config.coyo_warning).toMatch(/meaningless/);
    }
    expect(align).toMatchObject({ temperature: TEST_ALIGN_TEMPERATURE, projection_dim: 640, model_type: 'align' });
    expect(Object.keys(vit.id2label)).toHaveLength(1000);
    expect(vit.label2id['tabby, tabby cat']).toBe(281);
    // Python's {label: id} keeps the last of the duplicated "crane" (134, 517).
    expect(vit.label2id.crane).toBe(517);
  });

  it('writes opset 17, IR 8 graphs with dynamic batch and sequence dimensions', async () => {
    const text = onnx.ModelProto.decode(await readFile(join(modelsDir, ALIGN_MODEL_ID, 'onnx/text_model.onnx')));
    expect(Number(text.irVersion)).toBe(8);
    expect(text.opsetImport.map((o) => Number(o.version))).toEqual([17]);
    const dims = text.graph?.input?.[0]?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam);
    expect(dims).toEqual(['batch_size', 'sequence_length']);
  });
});

describe('imagenet-labels.json', () => {
  it('holds the 1000 ImageNet-1k names of Hugging Face ViT configs', async () => {
    const labels = await loadImagenetLabels();
    expect(labels).toHaveLength(1000);
    expect(labels[0]).toBe('tench, Tinca tinca');
    expect(labels[1]).toBe('goldfish, Carassius auratus');
    expect(labels[207]).toBe('golden retriever');
    expect(labels[281]).toBe('tabby, tabby cat');
    expect(labels[999]).toBe('toilet tissue, toilet paper, bathroom tissue');
    expect(new Set(labels).size).toBe(999); // "crane" is both the bird (134) and the machine (517)
  });
});

describe('generated ONNX models on onnxruntime (CPU)', () => {
  it('vision_model gives expectedImageEmbedding for a batch of 2', async () => {
    const s = await session(`${ALIGN_MODEL_ID}/onnx/vision_model.onnx`);
    const a = rampTensor(289, [0.2, -0.4, 0.9]);
    const b = rampTensor(289, [-0.7, 0.1, 0.05]);
    const data = new Float32Array(2 * a.data.length);
    data.set(a.data);
    data.set(b.data, a.data.length);
    const out = output(await s.run({ pixel_values: new Tensor('float32', data, [2, 3, 289, 289]) }), 'image_embeds');
    expect(out).toHaveLength(2 * 640);
    expect(maxAbsDiff(out, expectedImageEmbedding(a.means))).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(out, expectedImageEmbedding(b.means), 640)).toBeLessThan(TOLERANCE);
  });

  it('text_model gives expectedTextEmbedding for a batch of 2 of different lengths', async () => {
    const s = await session(`${ALIGN_MODEL_ID}/onnx/text_model.onnx`);
    const tokenizer = await loadTokenizer(join(modelsDir, ALIGN_MODEL_ID));
    const short = tokenizer.encode('a photo of a dog');
    const long = tokenizer.encode('This is a photo of cat, which was made in the city during the years.');
    expect(long.length).toBeGreaterThan(short.length);
    const batch = padBatch([short, long]);
    const dims = [batch.batch, batch.seqLen];
    const out = output(
      await s.run({
        input_ids: new Tensor('int64', batch.inputIds, dims),
        attention_mask: new Tensor('int64', batch.attentionMask, dims),
        token_type_ids: new Tensor('int64', batch.tokenTypeIds, dims),
      }),
      'text_embeds',
    );
    expect(out).toHaveLength(2 * 640);
    expect(maxAbsDiff(out, expectedTextEmbedding(short))).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(out, expectedTextEmbedding(long), 640)).toBeLessThan(TOLERANCE);
  });

  it('text_model gives the same embedding padded to 64 as padded to the longest', async () => {
    const s = await session(`${ALIGN_MODEL_ID}/onnx/text_model.onnx`);
    const ids = [101, 1037, 6302, 1997, 3899, 102];
    const run = async (len: number) => {
      const inputIds = new BigInt64Array(len);
      const mask = new BigInt64Array(len);
      ids.forEach((id, t) => {
        inputIds[t] = BigInt(id);
        mask[t] = 1n;
      });
      return output(
        await s.run({
          input_ids: new Tensor('int64', inputIds, [1, len]),
          attention_mask: new Tensor('int64', mask, [1, len]),
          token_type_ids: new Tensor('int64', new BigInt64Array(len), [1, len]),
        }),
        'text_embeds',
      );
    };
    const tight = await run(ids.length);
    const padded = await run(64);
    expect(maxAbsDiff(padded, Float64Array.from(tight))).toBeLessThan(1e-6);
  });

  it('text_model adds 0.5·mean(token type)·cos(φ) for non-zero token types', async () => {
    const s = await session(`${ALIGN_MODEL_ID}/onnx/text_model.onnx`);
    const ids = [101, 4937, 102, 3899, 102];
    const types = [0, 0, 0, 1, 1];
    const dims = [1, ids.length];
    const out = output(
      await s.run({
        input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), dims),
        attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), dims),
        token_type_ids: new Tensor('int64', BigInt64Array.from(types.map(BigInt)), dims),
      }),
      'text_embeds',
    );
    expect(maxAbsDiff(out, expectedTextEmbedding(ids, types))).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(out, expectedTextEmbedding(ids))).toBeGreaterThan(0.01);
  });

  it('vit model.onnx gives expectedVitLogits for a batch of 2', async () => {
    const s = await session(`${VIT_MODEL_ID}/onnx/model.onnx`);
    const a = rampTensor(384, [0.5, 0.25, -0.5]);
    const b = rampTensor(384, [-0.1, -0.9, 0.3]);
    const data = new Float32Array(2 * a.data.length);
    data.set(a.data);
    data.set(b.data, a.data.length);
    const out = output(await s.run({ pixel_values: new Tensor('float32', data, [2, 3, 384, 384]) }), 'logits');
    expect(out).toHaveLength(2 * 1000);
    expect(maxAbsDiff(out, expectedVitLogits(a.means))).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(out, expectedVitLogits(b.means), 1000)).toBeLessThan(TOLERANCE);
  });

  it('a uniform-colour image through preprocessAlign and vision_model gives the embedding of its known means', async () => {
    const s = await session(`${ALIGN_MODEL_ID}/onnx/vision_model.onnx`);
    const cfg = (await loadAlignConfig(join(modelsDir, ALIGN_MODEL_ID))).preprocess;
    const png = await sharp({ create: { width: 120, height: 80, channels: 3, background: { r: 255, g: 0, b: 51 } } })
      .png()
      .toBuffer();
    const pixels = await preprocessAlign(png, cfg, { maxPixels: 1_000_000 });
    const out = output(await s.run({ pixel_values: new Tensor('float32', pixels, [1, 3, 289, 289]) }), 'image_embeds');
    // 255 → 1, 0 → -1, 51 → 51/127.5 - 1 = -0.6
    expect(maxAbsDiff(out, expectedImageEmbedding([1, -1, -0.6]))).toBeLessThan(TOLERANCE);
  });
});
