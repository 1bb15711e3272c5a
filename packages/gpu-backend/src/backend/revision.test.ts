import { copyFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTestModels } from '../models/test-models.js';
import { filesRevision, modelRevisions, revisionFiles, type LoadedOnnxFiles } from './revision.js';

let root: string;
let dir: string;

/** The fp32 files the sessions load from a models folder. */
function fp32(modelsDir: string): LoadedOnnxFiles {
  return {
    alignVision: join(modelsDir, 'align-base', 'onnx', 'vision_model.onnx'),
    alignText: join(modelsDir, 'align-base', 'onnx', 'text_model.onnx'),
    vit: join(modelsDir, 'vit-large-patch16-384', 'onnx', 'model.onnx'),
  };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'model-revision-'));
  dir = join(root, 'models');
  await generateTestModels(dir);
}, 60_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('modelRevisions', () => {
  it('gives each model 16 hex digits, the same on every start', async () => {
    const first = await modelRevisions(dir, fp32(dir));
    expect(first.align).toMatch(/^[0-9a-f]{16}$/);
    expect(first.vit).toMatch(/^[0-9a-f]{16}$/);
    expect(first.align).not.toBe(first.vit);
    expect(await modelRevisions(dir, fp32(dir))).toEqual(first);
  });

  it('keeps the revision when the models folder moves', async () => {
    const moved = join(root, 'moved');
    await cp(dir, moved, { recursive: true });
    expect(await modelRevisions(moved, fp32(moved))).toEqual(await modelRevisions(dir, fp32(dir)));
  });

  it('changes only the ALIGN revision when its config.json changes', async () => {
    const copy = join(root, 'edited-config');
    await cp(dir, copy, { recursive: true });
    const before = await modelRevisions(copy, fp32(copy));
    const file = join(copy, 'align-base', 'config.json');
    const config = JSON.parse(await readFile(file, 'utf8')) as { temperature: number };
    await writeFile(file, JSON.stringify({ ...config, temperature: config.temperature * 2 }));
    const after = await modelRevisions(copy, fp32(copy));
    expect(after.align).not.toBe(before.align);
    expect(after.vit).toBe(before.vit);
  });

  it('changes the ViT revision when its weights change', async () => {
    const copy = join(root, 'edited-weights');
    await cp(dir, copy, { recursive: true });
    const before = await modelRevisions(copy, fp32(copy));
    const file = join(copy, 'vit-large-patch16-384', 'onnx', 'model.onnx');
    const bytes = await readFile(file);
    bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 1;
    await writeFile(file, bytes);
    expect((await modelRevisions(copy, fp32(copy))).vit).not.toBe(before.vit);
  });

  it('depends on which precision variant is loaded, even when its bytes are the same', async () => {
    const copy = join(root, 'fp16');
    await cp(dir, copy, { recursive: true });
    const files = fp32(copy);
    const fp16Vision = join(copy, 'align-base', 'onnx', 'vision_model_fp16.onnx');
    await copyFile(files.alignVision, fp16Vision);
    const fp32Revision = (await modelRevisions(copy, files)).align;
    expect((await modelRevisions(copy, { ...files, alignVision: fp16Vision })).align).not.toBe(fp32Revision);
  });

  it('hashes the external-data file of an ONNX export that has one', async () => {
    const copy = join(root, 'external-data');
    await cp(dir, copy, { recursive: true });
    const files = fp32(copy);
    const before = (await modelRevisions(copy, files)).align;
    await writeFile(`${files.alignText}_data`, new Uint8Array([1, 2, 3]));
    expect(revisionFiles(copy, files).align).toContain(`${files.alignText}_data`);
    expect((await modelRevisions(copy, files)).align).not.toBe(before);
  });
});

describe('filesRevision', () => {
  it('tells apart files whose concatenated bytes are equal', async () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    await writeFile(a, 'ab');
    await writeFile(b, 'c');
    const split = await filesRevision(root, [a, b]);
    await writeFile(a, 'a');
    await writeFile(b, 'bc');
    expect(await filesRevision(root, [a, b])).not.toBe(split);
  });

  it('rejects when a file is missing', async () => {
    await expect(filesRevision(root, [join(root, 'absent.onnx')])).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
