/**
 * The shard rewrite: the rows DuckDB wrote for one shard (sorted, big row groups) re-encoded as a layout-3
 * shard. Pure JavaScript and the ingest's heaviest step, so it runs on worker threads (`pool.ts`); this
 * is what each thread runs.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { STORAGE_ORDER, type CoyoColumn } from '@coyo/coyo-schema';
import { encodeShard } from '@coyo/coyo-reader';
import { parquetMetadata, parquetRead, type DecodedArray } from 'hyparquet';

/** One shard to rewrite. */
export interface RewriteTask {
  /** The parquet file DuckDB wrote for the shard. */
  readonly stage: string;
  /** Where the layout-3 shard goes (written to `<file>.partial`, then renamed). */
  readonly file: string;
  readonly rowGroupSize: number;
  readonly rowGroupBytes: number;
  /** Plain-encoded bytes to cut row groups at first (learnt on an earlier shard); default: a guess. */
  readonly plainBytes?: number;
}

export interface RewriteResult {
  /** The look-up index length, for the manifest. */
  readonly indexBytes: number;
  /** The plain size that fitted the row group bytes here (snappy's ratio learnt on this shard). */
  readonly plainBytes: number;
}

/** Rewrites one shard: small row groups, look-up index, footer. */
export async function writeLayoutShard(task: RewriteTask): Promise<RewriteResult> {
  const buffer = await readFile(task.stage);
  const parquet = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
  const metadata = parquetMetadata(parquet);
  const rows = Number(metadata.num_rows);
  if (!Number.isSafeInteger(rows)) throw new Error(`bug: shard rows is not a safe integer: ${String(metadata.num_rows)}`);
  const columns = Object.fromEntries(STORAGE_ORDER.map((c) => [c, new Array<unknown>(rows)])) as Record<CoyoColumn, unknown[]>;
  await parquetRead({
    file: parquet,
    metadata,
    columns: [...STORAGE_ORDER],
    onChunk({ columnName, columnData, rowStart }) {
      const target = columns[columnName as CoyoColumn];
      for (let i = 0; i < columnData.length; i++) target[rowStart + i] = columnData[i];
    },
  });
  const shard = encodeShard({
    columns: columns as Record<CoyoColumn, DecodedArray>,
    rows,
    maxGroupRows: task.rowGroupSize,
    groupBytes: task.rowGroupBytes,
    ...(task.plainBytes === undefined ? {} : { plainBytes: task.plainBytes }),
    key: basename(task.file),
  });
  await writeFile(`${task.file}.partial`, shard.bytes);
  await rename(`${task.file}.partial`, task.file);
  return { indexBytes: shard.indexBytes, plainBytes: shard.plainBytes };
}
