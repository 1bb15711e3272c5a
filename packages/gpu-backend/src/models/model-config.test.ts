import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ModelConfigError } from './errors.js';
import { loadAlignConfig, loadVitConfig, outputSize } from './model-config.js';
import { TEST_ALIGN_TEMPERATURE } from './test-model-spec.js';
import { ALIGN_MODEL_ID, VIT_MODEL_ID, generateTestModels } from './test-models.js';

let modelsDir: string;
let work: string;

beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'coyo-model-config-'));
  await generateTestModels(modelsDir);
});

afterAll(async () => {
  await rm(modelsDir, { recursive: true, force: true });
});

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'coyo-model-config-case-'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Copies a generated model folder into `work` and rewrites one of its JSON files. */
async function editedCopy(model: string, file: string, edit: (json: Record<string, unknown>) => void): Promise<string> {
  const dir = join(work, model);
  await cp(join(modelsDir, model), dir, { recursive: true });
  const json = JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, unknown>;
  edit(json);
  await writeFile(join(dir, file), JSON.stringify(json));
  return dir;
}

async function configError(promise: Promise<unknown>): Promise<ModelConfigError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelConfigError);
  return err as ModelConfigError;
}

describe('loadAlignConfig', () => {
  it('reads the temperature, test marker and the checkpoint pre-processing', async () => {
    const cfg = await loadAlignConfig(join(modelsDir, ALIGN_MODEL_ID));
    expect(cfg.temperature).toBe(TEST_ALIGN_TEMPERATURE);
    expect(cfg.projectionDim).toBe(640);
    expect(cfg.testModel).toBe(true);
    expect(cfg.warning).toMatch(/meaningless/);
    expect(cfg.preprocess).toEqual({
      processor: 'EfficientNetImageProcessor',
      resize: { width: 346, height: 346 },
      resample: 'bilinear',
      centerCrop: { width: 289, height: 289 },
      rescale: { factor: 1 / 127.5, offset: true },
      normalize: null,
      includeTopStd: null,
    });
    expect(outputSize(cfg.preprocess)).toEqual({ width: 289, height: 289 });
  });

  it('treats a config without the coyo_* markers as a real model', async () => {
    const dir = await editedCopy(ALIGN_MODEL_ID, 'config.json', (json) => {
      delete json.coyo_test_model;
      delete json.coyo_warning;
    });
    const cfg = await loadAlignConfig(dir);
    expect(cfg.testModel).toBe(false);
    expect(cfg.warning).toBeUndefined();
  });

  it('names the file and field when the temperature is missing', async () => {
    const dir = await editedCopy(ALIGN_MODEL_ID, 'config.json', (json) => {
      delete json.temperature;
    });
    const err = await configError(loadAlignConfig(dir));
    expect(err.file).toBe(join(dir, 'config.json'));
    expect(err.message).toContain('"temperature"');
  });

  it('refuses a resample filter other than bilinear, naming the field', async () => {
    const dir = await editedCopy(ALIGN_MODEL_ID, 'preprocessor_config.json', (json) => {
      json.resample = 3;
    });
    const err = await configError(loadAlignConfig(dir));
    expect(err.message).toContain('preprocessor_config.json');
    expect(err.message).toContain('"resample"');
  });

  it('refuses a crop larger than the resize', async () => {
    const dir = await editedCopy(ALIGN_MODEL_ID, 'preprocessor_config.json', (json) => {
      json.crop_size = { height: 400, width: 400 };
    });
    expect((await configError(loadAlignConfig(dir))).message).toContain('"crop_size"');
  });

  it('reports a file that is not JSON', async () => {
    const dir = join(work, ALIGN_MODEL_ID);
    await cp(join(modelsDir, ALIGN_MODEL_ID), dir, { recursive: true });
    await writeFile(join(dir, 'preprocessor_config.json'), '{ not json');
    expect((await configError(loadAlignConfig(dir))).message).toMatch(/preprocessor_config\.json: is not valid JSON/);
  });

  it('reports a missing folder by its config.json', async () => {
    expect((await configError(loadAlignConfig(join(work, 'nowhere')))).message).toMatch(/config\.json: file not found/);
  });
});

describe('loadVitConfig', () => {
  it('reads id2label in index order and the ViT pre-processing', async () => {
    const cfg = await loadVitConfig(join(modelsDir, VIT_MODEL_ID));
    expect(cfg.id2label).toHaveLength(1000);
    expect(cfg.id2label[281]).toBe('tabby, tabby cat');
    expect(cfg.testModel).toBe(true);
    expect(cfg.preprocess).toEqual({
      processor: 'ViTImageProcessor',
      resize: { width: 384, height: 384 },
      resample: 'bilinear',
      centerCrop: null,
      rescale: { factor: 1 / 255, offset: false },
      normalize: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
      includeTopStd: null,
    });
  });

  it('accepts an older ViTFeatureExtractor config with an integer size and HF defaults', async () => {
    const dir = join(work, VIT_MODEL_ID);
    await cp(join(modelsDir, VIT_MODEL_ID), dir, { recursive: true });
    await writeFile(
      join(dir, 'preprocessor_config.json'),
      JSON.stringify({
        do_normalize: true,
        do_resize: true,
        feature_extractor_type: 'ViTFeatureExtractor',
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.5, 0.5, 0.5],
        resample: 2,
        size: 384,
      }),
    );
    const cfg = await loadVitConfig(dir);
    expect(cfg.preprocess.resize).toEqual({ width: 384, height: 384 });
    expect(cfg.preprocess.rescale).toEqual({ factor: 1 / 255, offset: false });
  });

  it('refuses id2label keys that are not the indices 0..N-1', async () => {
    const dir = await editedCopy(VIT_MODEL_ID, 'config.json', (json) => {
      json.id2label = { '0': 'a', '2': 'c' };
    });
    const err = await configError(loadVitConfig(dir));
    expect(err.message).toContain('config.json');
    expect(err.message).toContain('id2label.2');
  });

  it('refuses a config without id2label', async () => {
    const dir = await editedCopy(VIT_MODEL_ID, 'config.json', (json) => {
      delete json.id2label;
    });
    expect((await configError(loadVitConfig(dir))).message).toContain('"id2label"');
  });
});
