/**
 * Node-only helpers, kept out of the main entry so browser bundles never see `node:fs`.
 *
 * @example
 * import { fileFromPath } from '@coyo/sdk/node';
 * await coyo.zeroShot({ image: await fileFromPath('cat.jpg'), labels: ['cat', 'dog'] });
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { CoyoInputError } from './errors.js';

const IMAGE_TYPES: Partial<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
};

/** A file's bytes as a `Blob` typed from its extension (`application/octet-stream` when unknown). */
export async function fileFromPath(path: string, type?: string): Promise<Blob & { name: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new CoyoInputError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const blob = new Blob([new Uint8Array(bytes)], { type: type ?? IMAGE_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream' });
  return Object.assign(blob, { name: basename(path) });
}
