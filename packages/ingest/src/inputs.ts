/** Turns the CLI's input arguments (files, folders, globs) into a sorted list of parquet files. */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Duck } from './duck.js';
import { IngestError } from './errors.js';

const GLOB_CHARS = /[*?[{]/;

/**
 * Expands each argument: a glob through DuckDB's `glob()` (the same matcher `read_parquet` uses), a
 * folder to its `*.parquet` files, a file as itself. Fails when an argument matches nothing.
 */
export async function expandInputs(duck: Duck, args: readonly string[]): Promise<string[]> {
  if (args.length === 0) throw new IngestError('no input files: pass parquet files, folders or globs');
  const files = new Set<string>();
  for (const arg of args) {
    let pattern: string | undefined;
    if (GLOB_CHARS.test(arg)) pattern = resolve(arg);
    else {
      const info = await stat(arg).catch(() => undefined);
      if (info === undefined) throw new IngestError(`input not found: ${arg}`);
      if (info.isDirectory()) pattern = join(resolve(arg), '*.parquet');
      else files.add(resolve(arg));
    }
    if (pattern !== undefined) {
      const rows = await duck.all('SELECT file FROM glob(?) ORDER BY file', [pattern]);
      if (rows.length === 0) throw new IngestError(`no parquet files match ${arg}`);
      for (const row of rows) files.add(String(row['file']));
    }
  }
  return [...files].sort();
}
