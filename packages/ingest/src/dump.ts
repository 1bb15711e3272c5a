/**
 * Prints rows of COYO parquet files as JSON lines in id order, with ids as JSON numbers and floats as
 * the exact doubles of their float32 values, the same way the edge API writes them. Used to compare
 * what the API serves with what went in.
 */
import { COYO_COLUMNS } from '@coyo/coyo-schema';
import { Duck } from './duck.js';
import { expandInputs } from './inputs.js';
import { quoteIdent, quoteLiteral } from './schema.js';

export interface DumpOptions {
  readonly inputs: readonly string[];
  readonly write: (line: string) => void;
}

/** Converts one DuckDB row to the JSON the API returns (bigint id → number). */
export function toApiRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of COYO_COLUMNS) {
    const value = row[name];
    out[name] = typeof value === 'bigint' ? Number(value) : value;
  }
  return out;
}

/** Streams every row, sorted by id, to `write`; returns the number of rows. */
export async function dumpRows(options: DumpOptions): Promise<number> {
  const duck = await Duck.open(':memory:');
  try {
    const files = await expandInputs(duck, options.inputs);
    const columns = COYO_COLUMNS.map(quoteIdent).join(', ');
    const result = await duck.connection.stream(
      `SELECT ${columns} FROM read_parquet([${files.map(quoteLiteral).join(', ')}]) ORDER BY id`,
    );
    let count = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const names = result.columnNames();
      for (const values of chunk.getRows()) {
        const row: Record<string, unknown> = {};
        names.forEach((n, i) => (row[n] = values[i]));
        options.write(`${JSON.stringify(toApiRow(row))}\n`);
        count += 1;
      }
    }
    return count;
  } finally {
    duck.close();
  }
}
