import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { Duck } from './duck.js';
import { expandInputs } from './inputs.js';

async function withDuck<T>(fn: (duck: Duck) => Promise<T>): Promise<T> {
  const duck = await Duck.open();
  try {
    return await fn(duck);
  } finally {
    duck.close();
  }
}

describe('expandInputs', () => {
  it('expands folders and globs and reads a file named twice only once', async () => {
    const dir = await tempDir();
    for (const name of ['part-00001.parquet', 'part-00000.parquet', 'notes.txt']) await writeFile(join(dir, name), '');
    const files = await withDuck((duck) => expandInputs(duck, [dir, join(dir, 'part-*.parquet'), join(dir, 'part-00000.parquet')]));
    expect(files).toEqual([join(dir, 'part-00000.parquet'), join(dir, 'part-00001.parquet')]);
  });

  it('fails on a path that does not exist', async () => {
    const dir = await tempDir();
    await expect(withDuck((duck) => expandInputs(duck, [join(dir, 'missing.parquet')]))).rejects.toThrow(/input not found/);
  });

  it('fails when no input is given', async () => {
    await expect(withDuck((duck) => expandInputs(duck, []))).rejects.toThrow(/no input files/);
  });
});
