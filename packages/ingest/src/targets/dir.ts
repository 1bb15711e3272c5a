/** A folder laid out like the bucket (`<dir>/<key>`): for fixtures, inspection and `wrangler r2 object put`. */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { ObjectStore, PutOptions, StoredObject } from './types.js';

/** Opens a folder as an object store; keys may not climb out of it. */
export function dirStore(root: string): ObjectStore {
  const base = resolve(root);
  const pathOf = (key: string): string => {
    const path = resolve(base, key);
    if (!path.startsWith(`${base}/`)) throw new Error(`key escapes the folder: ${key}`);
    return path;
  };
  return {
    description: `folder ${base}`,
    async head(key: string): Promise<StoredObject | null> {
      const path = pathOf(key);
      const info = await stat(path).catch(() => undefined);
      if (info === undefined) return null;
      const sha256 = createHash('sha256').update(await readFile(path)).digest('hex');
      return { size: info.size, sha256 };
    },
    async get(key: string): Promise<Uint8Array | null> {
      const bytes = await readFile(pathOf(key)).catch(() => undefined);
      return bytes === undefined ? null : new Uint8Array(bytes);
    },
    async put(key: string, body: Uint8Array, _options: PutOptions): Promise<void> {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(`${path}.partial`, body);
      await rename(`${path}.partial`, path);
    },
    async close(): Promise<void> {},
  };
}

/** Joins a key onto a folder (for callers that list what a folder store holds). */
export function dirPath(root: string, key: string): string {
  return join(resolve(root), key);
}
