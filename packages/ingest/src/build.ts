/**
 * Builds a dataset version on local disk: validates the inputs, refuses duplicate ids, sorts every row
 * by id once, and cuts the sorted rows into shards with disjoint, ordered id ranges, small row groups
 * and min/max statistics. The result (shards + manifest) is cached in the work folder, so a re-run
 * after a failed upload does not sort again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  DatasetVersionSchema,
  FLOAT_COLUMNS,
  MAX_ID,
  ManifestSchema,
  NUMERIC_COLUMNS,
  STORAGE_ORDER,
  type ColumnRange,
  type ColumnRanges,
  type Manifest,
  type Shard,
} from '@coyo/coyo-schema';
import { DEFAULT_GROUP_BYTES, DEFAULT_GROUP_ROWS } from '@coyo/coyo-reader';
import { z } from 'zod';
import { Duck, toSafeNumber } from './duck.js';
import { DuplicateIdsError, IngestError } from './errors.js';
import { expandInputs } from './inputs.js';
import { indexFilesPresent, writeIndexes } from './indexes/write.js';
import { MANIFEST_FORMAT_VERSION, formatVersionFor, shardKey } from './manifest.js';
import type { Progress } from './progress.js';
import { inlineRewriter, startRewritePool } from './rewrite/pool.js';
import type { RewriteResult } from './rewrite/layout-shard.js';
import {
  checkSchema,
  columnType,
  describeNonFinite,
  describeSchemaProblem,
  quoteIdent,
  quoteLiteral,
  type NonFiniteProblem,
} from './schema.js';

export interface BuildOptions {
  /** Parquet files, folders or globs. */
  readonly inputs: readonly string[];
  /** Where the sorted stage, the shards and the manifest are written. */
  readonly workDir: string;
  /** Rows per parquet row group at most (default 1024); groups are cut by `rowGroupBytes` first. */
  readonly rowGroupSize?: number;
  /** Largest row group in bytes on R2 (default 32,768): the unit a look-up reads. */
  readonly rowGroupBytes?: number;
  /** Rows per shard object (default 262,144: about 1,000 row groups). */
  readonly shardRows?: number;
  /** Version name; default: derived from the shards' checksums, so the same data gets the same name. */
  readonly datasetVersion?: string;
  readonly threads?: number;
  readonly memoryLimit?: string;
  /** Records per block of the provenance tables (default 4096): a look-up reads whole blocks. */
  readonly indexBlockEntries?: number;
  readonly progress?: Progress;
}

export interface BuildResult {
  readonly manifest: Manifest;
  /** Local path of each shard, in manifest order. */
  readonly shardFiles: readonly string[];
  /** True when an earlier build of the same inputs and options was reused. */
  readonly reused: boolean;
}

export const DEFAULT_ROW_GROUP_SIZE = DEFAULT_GROUP_ROWS;
export const DEFAULT_ROW_GROUP_BYTES = DEFAULT_GROUP_BYTES;
/** Row groups of the intermediate file DuckDB writes per shard: big, it is only read back once. */
const STAGE_ROW_GROUP_SIZE = 122_880;
export const DEFAULT_SHARD_ROWS = 262_144;
const DUPLICATE_EXAMPLES = 10;

const BuildRecordSchema = z.object({
  fingerprint: z.string(),
  manifest: ManifestSchema,
  shard_files: z.array(z.string()),
});

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Length of a parquet file's footer: the thrift metadata plus its 4-byte length and the `PAR1` magic. */
export async function parquetFooterBytes(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const tail = Buffer.alloc(8);
    await handle.read(tail, 0, 8, size - 8);
    if (tail.toString('latin1', 4) !== 'PAR1') throw new IngestError(`${path} is not a parquet file`);
    return tail.readUInt32LE(0) + 8;
  } finally {
    await handle.close();
  }
}

async function fingerprint(files: readonly string[], groups: readonly [number, number], shardRows: number, version?: string, indexBlocks?: number): Promise<string> {
  // The newest layout is part of it: a build cached by an ingest that wrote an older one is built again.
  const parts: unknown[] = [MANIFEST_FORMAT_VERSION, ...groups, shardRows, version ?? null, 'indexes-1', indexBlocks ?? null];
  for (const file of files) {
    const info = await stat(file);
    parts.push([file, info.size, Math.floor(info.mtimeMs)]);
  }
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

async function reusableBuild(workDir: string, print: string): Promise<BuildResult | undefined> {
  const text = await readFile(join(workDir, 'build.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = BuildRecordSchema.safeParse(JSON.parse(text));
  if (!parsed.success || parsed.data.fingerprint !== print) return undefined;
  const { manifest, shard_files: shardFiles } = parsed.data;
  for (const [i, file] of shardFiles.entries()) {
    const info = await stat(file).catch(() => undefined);
    if (info === undefined || info.size !== manifest.shards[i]?.bytes) return undefined;
  }
  if (!(await indexFilesPresent(join(workDir, 'shards'), manifest.indexes))) return undefined;
  return { manifest, shardFiles, reused: true };
}

/** Checks every input's schema; all problems of all files in one error. */
async function validateSchemas(duck: Duck, files: readonly string[]): Promise<void> {
  const problems: string[] = [];
  for (const file of files) {
    let columns: { name: string; type: string }[];
    try {
      const rows = await duck.all(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(file)})`);
      columns = rows.map((r) => ({ name: String(r['column_name']), type: String(r['column_type']) }));
    } catch (err) {
      throw new IngestError(`${file}: cannot be read as parquet (${(err as Error).message})`);
    }
    problems.push(...checkSchema(file, columns).map(describeSchemaProblem));
  }
  if (problems.length > 0) throw new IngestError(`input schema does not match COYO-700M:\n  ${problems.join('\n  ')}`);
}

/**
 * Finds NaN and ±Infinity in the float columns, per file and column, in one scan of the inputs. They
 * would otherwise surface only after the sort, as a manifest range that is not a number.
 */
export async function findNonFinite(duck: Duck, files: readonly string[]): Promise<NonFiniteProblem[]> {
  const selects = FLOAT_COLUMNS.flatMap((c, i) => {
    const bad = `NOT isfinite(${quoteIdent(c)})`; // NULL stays NULL, so NULL scores are not counted
    return [`count(*) FILTER (WHERE ${bad}) AS n${i}`, `min(id) FILTER (WHERE ${bad}) AS e${i}`];
  });
  const rows = await duck.all(
    `SELECT filename, ${selects.join(', ')} FROM read_parquet([${files.map(quoteLiteral).join(', ')}], filename = true) ` +
      'GROUP BY filename ORDER BY filename',
  );
  const problems: NonFiniteProblem[] = [];
  for (const row of rows) {
    for (const [i, column] of FLOAT_COLUMNS.entries()) {
      const count = toSafeNumber(row[`n${i}`], 'row count');
      if (count === 0) continue;
      const example = row[`e${i}`];
      problems.push({ file: String(row['filename']), column, rows: count, exampleId: idText(example) });
    }
  }
  return problems;
}

/** Refuses NaN and ±Infinity in the inputs; all files and columns in one error. */
async function validateFinite(duck: Duck, files: readonly string[]): Promise<void> {
  const problems = await findNonFinite(duck, files);
  if (problems.length > 0) {
    throw new IngestError(
      `input holds NaN or ±Infinity, which have no place in min/max ranges (store a missing score as NULL):\n  ${problems
        .map(describeNonFinite)
        .join('\n  ')}`,
    );
  }
}

/** Refuses null ids, ids that do not fit a JSON number, and duplicate ids (with a count and examples). */
async function checkIds(duck: Duck, source: string): Promise<number> {
  const [summary] = await duck.all(
    `SELECT count(*) AS total, count(id) AS with_id, min(id) AS min_id, max(id) AS max_id FROM ${source}`,
  );
  if (summary === undefined) throw new Error('bug: an aggregate returned no row');
  const total = toSafeNumber(summary['total'], 'row count');
  if (total === 0) throw new IngestError('the inputs hold no rows');
  const nulls = total - toSafeNumber(summary['with_id'], 'id count');
  if (nulls > 0) throw new IngestError(`${nulls} row(s) have no id`);
  const minId = summary['min_id'] as bigint;
  const maxId = summary['max_id'] as bigint;
  if (minId < 0n || maxId > BigInt(MAX_ID))
    throw new IngestError(`ids must lie in [0, ${MAX_ID}] to be served as JSON numbers; found ${minId}..${maxId}`);
  const dupes = await duck.all(
    `WITH d AS (SELECT id, count(*) AS n FROM ${source} GROUP BY id HAVING count(*) > 1)
     SELECT (SELECT count(*) FROM d) AS total, id, n FROM d ORDER BY id LIMIT ${DUPLICATE_EXAMPLES}`,
  );
  if (dupes.length > 0) {
    throw new DuplicateIdsError(
      toSafeNumber(dupes[0]?.['total'], 'duplicate count'),
      dupes.map((d) => ({ id: String(d['id']), count: toSafeNumber(d['n'], 'duplicate count') })),
    );
  }
  return total;
}

/**
 * A column's min/max as DuckDB aggregated them: null for a column with no non-NULL value, which has no
 * range (a 0..0 here would claim values the shard does not hold).
 */
function rangeOf(column: string, min: unknown, max: unknown): ColumnRange | null {
  if (min === null && max === null) return null;
  const lo = typeof min === 'bigint' ? Number(min) : min;
  const hi = typeof max === 'bigint' ? Number(max) : max;
  if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(lo) || !Number.isFinite(hi)) {
    throw new Error(`bug: ${column} has range ${String(min)}..${String(max)} after validation`);
  }
  return { min: lo, max: hi };
}

async function shardStats(duck: Duck, file: string): Promise<{ rows: number; rowGroups: number; columns: ColumnRanges }> {
  const selects = NUMERIC_COLUMNS.flatMap((c) => [
    `min(${quoteIdent(c)}) AS ${quoteIdent(`min_${c}`)}`,
    `max(${quoteIdent(c)}) AS ${quoteIdent(`max_${c}`)}`,
  ]);
  const [row] = await duck.all(`SELECT count(*) AS rows, ${selects.join(', ')} FROM read_parquet(${quoteLiteral(file)})`);
  const [meta] = await duck.all(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata(${quoteLiteral(file)})`);
  if (row === undefined || meta === undefined) throw new Error('bug: an aggregate returned no row');
  const columns: ColumnRanges = {};
  for (const c of NUMERIC_COLUMNS) columns[c] = rangeOf(c, row[`min_${c}`], row[`max_${c}`]);
  return { rows: toSafeNumber(row['rows'], 'row count'), rowGroups: toSafeNumber(meta['n'], 'row groups'), columns };
}

/**
 * Describes one written shard for the manifest: size, checksum, footer length, row groups, ranges, and
 * the length of its look-up index when it has one (layout 3).
 */
export async function describeShard(duck: Duck, file: string, key: string, indexBytes?: number): Promise<Shard> {
  const stats = await shardStats(duck, file);
  const idRange = stats.columns['id'];
  if (idRange === undefined || idRange === null) throw new Error('bug: no id statistics');
  return {
    key,
    rows: stats.rows,
    bytes: (await stat(file)).size,
    sha256: await sha256File(file),
    footer_bytes: await parquetFooterBytes(file),
    ...(indexBytes === undefined ? {} : { index_bytes: indexBytes }),
    row_groups: stats.rowGroups,
    min_id: idRange.min,
    max_id: idRange.max,
    columns: stats.columns,
  };
}

/** The manifest of a version whose shards are listed in id order. */
export function assembleManifest(version: string, shards: readonly Shard[], rowGroupSize: number): Manifest {
  const columns = mergeRanges(shards);
  const manifest: Manifest = {
    format_version: formatVersionFor({ columns, shards }),
    dataset: 'coyo-700m',
    dataset_version: version,
    created_at: new Date().toISOString(),
    schema: STORAGE_ORDER.map((name) => ({ name, type: columnType(name) })),
    total_rows: shards.reduce((n, s) => n + s.rows, 0),
    row_group_size: rowGroupSize,
    columns,
    shards: [...shards],
  };
  for (const [i, shard] of shards.entries()) {
    const next = shards[i + 1];
    if (next !== undefined && next.min_id <= shard.max_id) throw new Error(`bug: shards ${i} and ${i + 1} overlap in id`);
  }
  return ManifestSchema.parse(manifest);
}

/** An id as DuckDB hands it back (BIGINT as bigint), as text for a message; null when there is none. */
function idText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'string') return String(value);
  throw new Error(`bug: an id came back from DuckDB as ${typeof value}`);
}

/** The version's range of each column: over the shards that have one; null where no shard has a value. */
function mergeRanges(shards: readonly Shard[]): ColumnRanges {
  const out: ColumnRanges = {};
  for (const shard of shards) {
    for (const [name, range] of Object.entries(shard.columns)) {
      const seen = out[name];
      if (range === null) out[name] = seen ?? null;
      else out[name] = seen ? { min: Math.min(seen.min, range.min), max: Math.max(seen.max, range.max) } : { ...range };
    }
  }
  return out;
}

/** Runs a long statement while reporting DuckDB's own progress for it. */
async function runWithProgress(duck: Duck, sql: string, progress: Progress | undefined, totalRows: number): Promise<void> {
  const timer =
    progress === undefined
      ? undefined
      : setInterval(() => {
          const p = duck.connection.progress;
          if (p.percentage >= 0) progress.update(Math.floor((p.percentage / 100) * totalRows));
        }, 500);
  try {
    await duck.run(sql);
  } finally {
    if (timer !== undefined) clearInterval(timer);
  }
  progress?.update(totalRows);
}

/**
 * Builds (or reuses) the shards and manifest for the inputs. Throws IngestError on bad input,
 * DuplicateIdsError when ids repeat.
 */
export async function buildShards(options: BuildOptions): Promise<BuildResult> {
  const rowGroupSize = options.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE;
  const rowGroupBytes = options.rowGroupBytes ?? DEFAULT_ROW_GROUP_BYTES;
  if (!Number.isSafeInteger(rowGroupBytes) || rowGroupBytes < 1) throw new IngestError('row group bytes must be a positive integer');
  const shardRows = options.shardRows ?? DEFAULT_SHARD_ROWS;
  if (!Number.isSafeInteger(rowGroupSize) || rowGroupSize < 1) throw new IngestError('row group size must be a positive integer');
  if (!Number.isSafeInteger(shardRows) || shardRows < rowGroupSize)
    throw new IngestError('shard rows must be an integer of at least one row group');
  if (options.datasetVersion !== undefined && !DatasetVersionSchema.safeParse(options.datasetVersion).success)
    throw new IngestError(`invalid dataset version "${options.datasetVersion}": letters, digits, ".", "_" and "-" only`);

  await mkdir(options.workDir, { recursive: true });
  const progress = options.progress;
  const stagePath = join(options.workDir, 'stage.duckdb');
  const duckOptions = {
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.memoryLimit !== undefined ? { memoryLimit: options.memoryLimit } : {}),
    tempDirectory: join(options.workDir, 'tmp'),
  };
  let duck = await Duck.open(':memory:', duckOptions);
  let files: string[];
  let print: string;
  try {
    files = await expandInputs(duck, options.inputs);
    print = await fingerprint(files, [rowGroupSize, rowGroupBytes], shardRows, options.datasetVersion, options.indexBlockEntries);
  } finally {
    duck.close();
  }
  const previous = await reusableBuild(options.workDir, print);
  if (previous !== undefined) {
    progress?.event('build-reused', { shards: previous.shardFiles.length }, `reusing the shards built earlier in ${options.workDir}`);
    return { ...previous, reused: true };
  }

  await rm(stagePath, { force: true });
  await rm(`${stagePath}.wal`, { force: true });
  duck = await Duck.open(stagePath, duckOptions);
  try {
    await duck.run('SET enable_progress_bar = true');
    await duck.run('SET enable_progress_bar_print = false');
    await validateSchemas(duck, files);
    await validateFinite(duck, files);
    const source = `read_parquet([${files.map(quoteLiteral).join(', ')}])`;
    const totalRows = await checkIds(duck, source);

    progress?.phase('sort', totalRows);
    const columns = STORAGE_ORDER.map(quoteIdent).join(', ');
    await runWithProgress(duck, `CREATE TABLE staged AS SELECT ${columns} FROM ${source} ORDER BY id`, progress, totalRows);

    // Shard boundaries: the id at every shardRows-th position of the sorted order.
    const bounds = (
      await duck.all(
        `SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM staged) WHERE rn % ${shardRows} = 0 ORDER BY id`,
      )
    ).map((r) => r['id'] as bigint);

    const shardDir = join(options.workDir, 'shards');
    await rm(shardDir, { recursive: true, force: true });
    await mkdir(shardDir, { recursive: true });
    progress?.phase('shard', totalRows);
    const built: Omit<Shard, 'key'>[] = [];
    const shardFiles: string[] = [];
    let done = 0;
    // The rewrite (JavaScript, most of the ingest's CPU) runs on one thread per `threads` while this one
    // has DuckDB write the next shards' rows. Shard 0 goes first and alone: the plain size it learns is
    // where every other shard starts cutting row groups, so shards do not depend on each other and the
    // bytes are the same for any number of threads.
    const rewriteThreads = options.threads ?? availableParallelism();
    const rewriter = rewriteThreads > 1 ? startRewritePool(rewriteThreads) : inlineRewriter();
    try {
      const inFlight: { file: string; stage: string; result: Promise<RewriteResult> }[] = [];
      const finish = async (): Promise<void> => {
        const next = inFlight.shift();
        if (next === undefined) throw new Error('bug: no shard rewrite in flight');
        const layout = await next.result;
        await rm(next.stage);
        // Keys name the version, which is known only once every shard's checksum is.
        const { key: _placeholder, ...rest } = await describeShard(duck, next.file, '', layout.indexBytes);
        built.push(rest);
        shardFiles.push(next.file);
        done += rest.rows;
        progress?.update(done);
      };
      let plainBytes: number | undefined;
      for (const [i, lo] of bounds.entries()) {
        const hi = bounds[i + 1];
        const file = join(shardDir, `shard-${String(i).padStart(5, '0')}.parquet`);
        const where = hi === undefined ? `id >= ${lo}` : `id >= ${lo} AND id < ${hi}`;
        const stage = `${file}.stage`;
        await duck.run(
          `COPY (SELECT * FROM staged WHERE ${where} ORDER BY id) TO ${quoteLiteral(stage)} ` +
            `(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${STAGE_ROW_GROUP_SIZE})`,
        );
        const result = rewriter.rewrite({ stage, file, rowGroupSize, rowGroupBytes, ...(plainBytes === undefined ? {} : { plainBytes }) });
        // Awaited in order by finish(); until then a failure must not count as unhandled.
        result.catch(() => undefined);
        inFlight.push({ file, stage, result });
        if (i === 0) {
          plainBytes = (await result).plainBytes;
          await finish();
        }
        // One staged shard waits beside each running rewrite, so no thread idles while DuckDB copies.
        while (inFlight.length > rewriteThreads) await finish();
      }
      while (inFlight.length > 0) await finish();
    } finally {
      await rewriter.close();
    }
    if (done !== totalRows) throw new Error(`bug: shards hold ${done} rows, the inputs ${totalRows}`);

    const version =
      options.datasetVersion ??
      createHash('sha256')
        .update(built.map((s) => s.sha256).join('\n'))
        .digest('hex')
        .slice(0, 16);
    const shards: Shard[] = built.map((s, i) => ({ key: shardKey(version, i), ...s }));
    const indexes = await writeIndexes(duck, 'staged', bounds, version, shardDir, options.indexBlockEntries);
    const manifest = ManifestSchema.parse({ ...assembleManifest(version, shards, rowGroupSize), indexes });
    await writeFile(join(options.workDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const record = { fingerprint: print, manifest, shard_files: shardFiles };
    await writeFile(join(options.workDir, 'build.json.partial'), JSON.stringify(record));
    await rename(join(options.workDir, 'build.json.partial'), join(options.workDir, 'build.json'));
    progress?.end();
    progress?.event(
      'built',
      { version, shards: shards.length, rows: totalRows },
      `built ${shards.length} shard(s), ${totalRows} rows, version ${version} (${basename(options.workDir)})`,
    );
    return { manifest, shardFiles, reused: false };
  } finally {
    duck.close();
    await rm(stagePath, { force: true });
    await rm(`${stagePath}.wal`, { force: true });
    await rm(join(options.workDir, 'tmp'), { recursive: true, force: true });
  }
}
