/**
 * Export bodies: the rows an {@link ExportPlan} covers, encoded as JSON Lines, CSV (RFC 4180) or
 * Parquet, in a ReadableStream that reads one row group each time its consumer asks for more. Memory
 * stays at about one row group (plus, for Parquet, the footer metadata of the groups written so far,
 * which the plan's read budget bounds), whatever the size of the result.
 */
import { columnSpec, type CoyoColumn, type CoyoLogicalType } from '@coyo/coyo-schema';
import { ByteWriter, ParquetWriter, schemaFromColumnData, type ColumnSource } from 'hyparquet-writer';
import type { CoyoDataset, ExportPlan } from './dataset';
import type { PartialRecord } from './schema';

export const EXPORT_FORMATS = ['jsonl', 'csv', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The media type of each format. */
export const EXPORT_CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  jsonl: 'application/jsonl; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
  parquet: 'application/vnd.apache.parquet',
};

/** One field of a CSV record (RFC 4180): NULL is an empty field, an empty string is `""`. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : String(value);
  if (text === '' || /[",\r\n]/.test(text)) return `"${text.replaceAll('"', '""')}"`;
  return text;
}

/** One CSV record, CRLF-terminated as RFC 4180 has it. */
export function csvRecord(values: readonly (string | number | null | undefined)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/** Turns rows into bytes, one batch at a time; `end` gives the bytes that close the body. */
interface Encoder {
  start(): Uint8Array;
  rows(rows: readonly PartialRecord[]): Uint8Array;
  end(): Uint8Array;
}

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

function jsonlEncoder(): Encoder {
  return {
    start: () => EMPTY,
    rows: (rows) => utf8.encode(rows.map((row) => `${JSON.stringify(row)}\n`).join('')),
    end: () => EMPTY,
  };
}

function csvEncoder(columns: readonly CoyoColumn[]): Encoder {
  return {
    start: () => utf8.encode(csvRecord(columns)),
    rows: (rows) => utf8.encode(rows.map((row) => csvRecord(columns.map((c) => row[c]))).join('')),
    end: () => EMPTY,
  };
}

/** hyparquet-writer's type for each logical type: the physical types the shards use. */
const BASIC_TYPE = { int64: 'INT64', int32: 'INT32', float32: 'FLOAT', string: 'STRING' } as const satisfies Record<CoyoLogicalType, string>;

function toBigInt(value: string | number | null | undefined): bigint | null {
  return typeof value === 'number' ? BigInt(value) : null;
}

/**
 * A Parquet file written as it goes: one row group per source row group that has matches, the bytes
 * of each handed on as soon as it is encoded (the writer's buffer is emptied after each), the footer at
 * the end. `keyValue` goes into the footer's key-value metadata.
 */
function parquetEncoder(columns: readonly CoyoColumn[], keyValue: Record<string, string>): Encoder {
  const sources = (rows: readonly PartialRecord[]): ColumnSource[] =>
    columns.map((name) => ({
      name,
      type: BASIC_TYPE[columnSpec(name).type],
      nullable: name !== 'id',
      // int64 values go to the writer as bigint (ids are safe integers, so the conversion is exact).
      data: columnSpec(name).type === 'int64' ? rows.map((row) => toBigInt(row[name])) : rows.map((row) => row[name] ?? null),
    }));
  const writer = new ByteWriter();
  const parquet = new ParquetWriter({
    writer,
    schema: schemaFromColumnData({ columnData: sources([]) }),
    kvMetadata: Object.entries(keyValue).map(([key, value]) => ({ key, value })),
    createdBy: 'coyo-edge export',
  });
  const drain = (): Uint8Array => {
    const bytes = new Uint8Array(writer.buffer, 0, writer.index).slice();
    writer.index = 0;
    return bytes;
  };
  return {
    start: drain,
    rows(rows) {
      if (rows.length === 0) return EMPTY;
      void parquet.write({ columnData: sources(rows), rowGroupSize: rows.length });
      return drain();
    },
    end() {
      void parquet.finish();
      return drain();
    },
  };
}

export interface ExportBodyOptions {
  /** Written into a Parquet file's key-value metadata (e.g. the version and the next cursor). */
  readonly keyValue?: Record<string, string>;
}

/**
 * The body of one export response: the plan's row groups read one at a time, as the consumer pulls,
 * their matching rows encoded in `format`. A failed read errors the stream (the client repeats the
 * request with the same cursor).
 */
export function exportBody(dataset: CoyoDataset, plan: ExportPlan, format: ExportFormat, options: ExportBodyOptions = {}): ReadableStream<Uint8Array> {
  const encoder =
    format === 'jsonl' ? jsonlEncoder() : format === 'csv' ? csvEncoder(plan.columns) : parquetEncoder(plan.columns, options.keyValue ?? {});
  let next = 0;
  let started = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!started) {
          started = true;
          const head = encoder.start();
          if (head.byteLength > 0) {
            controller.enqueue(head);
            return;
          }
        }
        // Read on until a group yields bytes, so that every pull enqueues something or closes.
        while (next < plan.steps.length) {
          const step = plan.steps[next] as (typeof plan.steps)[number];
          next += 1;
          const bytes = encoder.rows(await dataset.exportRows(plan, step));
          if (bytes.byteLength > 0) {
            controller.enqueue(bytes);
            return;
          }
        }
        const tail = encoder.end();
        if (tail.byteLength > 0) controller.enqueue(tail);
        controller.close();
      },
    },
    { highWaterMark: 1 },
  );
}
