/**
 * Model revisions: a short content hash over the files that determine a model's outputs, so callers
 * that cache outputs (the edge's embedding cache) can key them by the weights that made them and notice
 * when an operator replaces the weights. Files are streamed, never read whole: real exports are GBs.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { revisionOfDigest } from '@coyo/backend-protocol';
import { ALIGN_MODEL_ID, VIT_MODEL_ID, type ModelRevisions } from './types.js';


/** Read size while hashing: large enough for disk throughput, small enough to keep the event loop free. */
const CHUNK_BYTES = 1 << 20;

/** The ONNX files the sessions load, per model (precision decides which variant). */
export interface LoadedOnnxFiles {
  alignVision: string;
  alignText: string;
  vit: string;
}

/**
 * An ONNX file plus its external-data file when the export split the weights out
 * (`model.onnx_data`, the transformers.js convention): onnxruntime reads both.
 */
function withExternalData(onnxFile: string): string[] {
  const data = `${onnxFile}_data`;
  return existsSync(data) ? [onnxFile, data] : [onnxFile];
}

/**
 * The files whose bytes decide each model's outputs, in a fixed order: the loaded ONNX files and every
 * JSON file the pre- and post-processing read.
 */
export function revisionFiles(modelsDir: string, onnx: LoadedOnnxFiles): Record<keyof ModelRevisions, string[]> {
  const align = join(modelsDir, ALIGN_MODEL_ID);
  const vit = join(modelsDir, VIT_MODEL_ID);
  return {
    align: [
      ...withExternalData(onnx.alignVision),
      ...withExternalData(onnx.alignText),
      join(align, 'config.json'),
      join(align, 'preprocessor_config.json'),
      join(align, 'tokenizer.json'),
      join(align, 'tokenizer_config.json'),
    ],
    vit: [...withExternalData(onnx.vit), join(vit, 'config.json'), join(vit, 'preprocessor_config.json')],
  };
}

async function hashFile(hash: Hash, file: string): Promise<void> {
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES })) hash.update(chunk as Buffer);
}

/**
 * A revision (`revisionOfDigest`: its first 16 hex digits) of a SHA-256 over `files`: for each, its path relative
 * to `root` (so moving the models folder keeps the revision, renaming a variant does not), its size, then
 * its bytes. The framing keeps a byte moved from one file to the next from hashing the same.
 */
export async function filesRevision(root: string, files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) {
    const { size } = await stat(file);
    const name = relative(root, file).split(sep).join('/');
    hash.update(`${name}\0${size}\0`);
    await hashFile(hash, file);
  }
  return revisionOfDigest(hash.digest('hex'));
}

/** The revision of both served models; the two models are hashed concurrently. */
export async function modelRevisions(modelsDir: string, onnx: LoadedOnnxFiles): Promise<ModelRevisions> {
  const files = revisionFiles(modelsDir, onnx);
  const [align, vit] = await Promise.all([
    filesRevision(join(modelsDir, ALIGN_MODEL_ID), files.align),
    filesRevision(join(modelsDir, VIT_MODEL_ID), files.vit),
  ]);
  return { align, vit };
}

