/**
 * A bucket over a folder laid out like R2 (`<dir>/<key>`), answering range reads from the files: the
 * edge reader runs against it in Node, so the benchmark measures the reader's own work and counts the
 * R2 reads and bytes it would make.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RangeReadBucket, RangeReadOptions } from '@coyo/coyo-reader';

export function fileBucket(root: string): RangeReadBucket {
  return {
    async get(key: string, options?: RangeReadOptions) {
      const path = join(root, key);
      try {
        if (options?.range === undefined) {
          const bytes = await readFile(path);
          return { arrayBuffer: () => Promise.resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) };
        }
        const { offset, length } = options.range;
        const handle = await open(path, 'r');
        try {
          const out = new Uint8Array(length);
          await handle.read(out, 0, length, offset);
          return { arrayBuffer: () => Promise.resolve(out.buffer) };
        } finally {
          await handle.close();
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
  };
}
