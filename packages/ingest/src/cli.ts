/**
 * `coyo-ingest`: generates COYO-schema samples, builds sorted shards and publishes them to R2.
 *
 *   coyo-ingest sample [--rows 200000] [--out ./coyo-sample] [--seed 1] [--files N]
 *   coyo-ingest ingest <files|folders|globs…> [--target local|r2|dir] [options]
 *   coyo-ingest dump <files|folders|globs…>
 *
 * Environment (target r2): R2_ACCOUNT_ID, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY, R2_BUCKET,
 * optionally R2_ENDPOINT.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_ROW_GROUP_BYTES, DEFAULT_ROW_GROUP_SIZE, DEFAULT_SHARD_ROWS, buildShards } from './build.js';
import { dumpRows } from './dump.js';
import { DuplicateIdsError, IngestError } from './errors.js';
import { Progress } from './progress.js';
import { publish } from './publish.js';
import { writeSample } from './sample.js';
import { dirStore } from './targets/dir.js';
import { localR2Store } from './targets/local-r2.js';
import { s3OptionsFromEnv, s3Store } from './targets/s3.js';
import type { ObjectStore } from './targets/types.js';

export const USAGE = `usage:
  coyo-ingest sample [--rows 200000] [--out ./coyo-sample] [--seed 1] [--files N]
      Writes COYO-schema parquet files (snappy) with realistic values; deterministic per seed.
  coyo-ingest ingest <parquet files | folders | globs>… [options]
      Validates, sorts by id, writes shards + manifest, uploads them, then switches current.json.
      --target local|r2|dir      where to publish (default local)
      --config <wrangler.toml>   local: config with the bucket binding (default: nearest wrangler.toml)
      --persist <folder>         local: persist folder (default <config folder>/.wrangler/state/v3)
      --binding <NAME>           local: bucket binding (default COYO_BUCKET)
      --dir <folder>             dir: folder to write the objects into
      --work-dir <folder>        shards and manifest built here (default .cache/coyo-ingest)
      --row-group-bytes <bytes>  largest row group on R2, all columns: a look-up's read (default ${DEFAULT_ROW_GROUP_BYTES})
      --row-group-size <rows>    most rows per row group (default ${DEFAULT_ROW_GROUP_SIZE})
      --shard-rows <rows>        rows per shard object (default ${DEFAULT_SHARD_ROWS})
      --dataset-version <name>   version name (default: derived from the shards' checksums)
      --threads <n>              DuckDB's threads and the shard rewrite's (default: the cores)
      --memory-limit <e.g. 8GB>  DuckDB's memory; each rewrite thread holds one shard besides
      --progress auto|bar|plain|json|none        progress on stderr (default auto)
      r2 reads R2_ACCOUNT_ID, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY, R2_BUCKET (R2_ENDPOINT optional).
  coyo-ingest dump <parquet files | folders | globs>…
      Prints the rows as JSON lines in id order, as the edge API serves them.
exit status: 0 done, 1 unexpected failure, 2 bad input (schema, duplicate ids, arguments), 3 storage failure`;

const positiveInt = (name: string) =>
  z.coerce.number({ error: `${name} must be a number` }).int(`${name} must be an integer`).positive(`${name} must be positive`);

const SampleArgsSchema = z.object({
  rows: positiveInt('--rows').default(200_000),
  out: z.string().default('./coyo-sample'),
  seed: z.coerce.number().int('--seed must be an integer').default(1),
  files: positiveInt('--files').optional(),
});

const IngestArgsSchema = z.object({
  target: z.enum(['local', 'r2', 'dir']).default('local'),
  config: z.string().optional(),
  persist: z.string().optional(),
  binding: z.string().default('COYO_BUCKET'),
  dir: z.string().optional(),
  'work-dir': z.string().default('.cache/coyo-ingest'),
  'row-group-size': positiveInt('--row-group-size').default(DEFAULT_ROW_GROUP_SIZE),
  'row-group-bytes': positiveInt('--row-group-bytes').default(DEFAULT_ROW_GROUP_BYTES),
  'shard-rows': positiveInt('--shard-rows').default(DEFAULT_SHARD_ROWS),
  'dataset-version': z.string().optional(),
  threads: positiveInt('--threads').optional(),
  'memory-limit': z.string().optional(),
  progress: z.enum(['auto', 'bar', 'plain', 'json', 'none']).default('auto'),
});

function parseOrThrow<T extends z.ZodType>(schema: T, values: unknown): z.infer<T> {
  const parsed = schema.safeParse(values);
  if (!parsed.success) throw new IngestError(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}

/** The nearest wrangler.toml from `start` upwards. */
export function findWranglerConfig(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, 'wrangler.toml');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

async function openStore(args: z.infer<typeof IngestArgsSchema>, env: NodeJS.ProcessEnv): Promise<ObjectStore> {
  switch (args.target) {
    case 'dir':
      if (args.dir === undefined) throw new IngestError('--target dir needs --dir <folder>');
      return dirStore(args.dir);
    case 'r2':
      return s3Store(s3OptionsFromEnv(env));
    case 'local': {
      const configPath = args.config ?? findWranglerConfig(process.cwd());
      if (configPath === undefined) throw new IngestError('no wrangler.toml found: pass --config');
      const persistPath = args.persist ?? join(dirname(resolve(configPath)), '.wrangler', 'state', 'v3');
      return localR2Store({ configPath, persistPath, binding: args.binding });
    }
  }
}

export interface CliIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown; readonly isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

async function run(argv: readonly string[], io: CliIo): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return;
  }
  if (command === 'sample') {
    const { values } = parseArgs({
      args: rest,
      options: { rows: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, files: { type: 'string' } },
      strict: true,
    });
    const args = parseOrThrow(SampleArgsSchema, values);
    const started = Date.now();
    const result = await writeSample({
      rows: args.rows,
      outDir: args.out,
      seed: args.seed,
      ...(args.files !== undefined ? { files: args.files } : {}),
      onFile: (file, rows) => io.stderr.write(`wrote ${file} (${rows} rows)\n`),
    });
    io.stderr.write(`${result.rows} rows in ${result.files.length} file(s), ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return;
  }
  if (command === 'dump') {
    const { positionals } = parseArgs({ args: rest, options: {}, allowPositionals: true, strict: true });
    await dumpRows({ inputs: positionals, write: (line) => io.stdout.write(line) });
    return;
  }
  if (command === 'ingest') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(Object.keys(IngestArgsSchema.shape).map((k) => [k, { type: 'string' as const }])),
    });
    const args = parseOrThrow(IngestArgsSchema, values);
    const progress = new Progress(io.stderr, args.progress);
    // The target is checked first: a wrong binding or missing credential must not wait for a long sort.
    const store = await openStore(args, io.env);
    try {
      const built = await buildShards({
        inputs: positionals,
        workDir: args['work-dir'],
        rowGroupSize: args['row-group-size'],
        rowGroupBytes: args['row-group-bytes'],
        shardRows: args['shard-rows'],
        progress,
        ...(args['dataset-version'] !== undefined ? { datasetVersion: args['dataset-version'] } : {}),
        ...(args.threads !== undefined ? { threads: args.threads } : {}),
        ...(args['memory-limit'] !== undefined ? { memoryLimit: args['memory-limit'] } : {}),
      });
      const result = await publish({ manifest: built.manifest, shardFiles: built.shardFiles, store, progress });
      io.stdout.write(
        `${JSON.stringify({
          version: result.version,
          rows: built.manifest.total_rows,
          shards: built.manifest.shards.length,
          uploaded: result.uploaded,
          skipped: result.skipped,
          previous_version: result.previousVersion ?? null,
        })}\n`,
      );
    } finally {
      await store.close();
    }
    return;
  }
  throw new IngestError(`unknown command "${command}"\n${USAGE}`);
}

/** Runs the CLI and returns the exit status; failures are reported on stderr. */
export async function main(argv: readonly string[], io: CliIo = process): Promise<number> {
  try {
    await run(argv, io);
    return 0;
  } catch (err) {
    if (err instanceof DuplicateIdsError) {
      io.stderr.write(
        `\nrefused: ${err.duplicateIds} duplicate id(s)\n${err.examples.map((e) => `  id ${e.id}: ${e.count} rows`).join('\n')}\n`,
      );
      return err.exitCode;
    }
    if (err instanceof IngestError) {
      io.stderr.write(`\n${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`\n${err.message}\n${USAGE}\n`);
      return 2;
    }
    io.stderr.write(`\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}
