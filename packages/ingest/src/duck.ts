/** A thin wrapper over @duckdb/node-api: one instance, one connection, rows as plain JS objects. */
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';

export interface DuckOptions {
  /** Worker threads DuckDB may use (default: DuckDB's own choice, the number of cores). */
  readonly threads?: number;
  /** e.g. "4GB": above it DuckDB spills to `tempDirectory`. */
  readonly memoryLimit?: string;
  readonly tempDirectory?: string;
}

export class Duck {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  /** Opens a database file (or `:memory:`). */
  static async open(path = ':memory:', options: DuckOptions = {}): Promise<Duck> {
    const config: Record<string, string> = {};
    if (options.threads !== undefined) config['threads'] = String(options.threads);
    if (options.memoryLimit !== undefined) config['memory_limit'] = options.memoryLimit;
    if (options.tempDirectory !== undefined) config['temp_directory'] = options.tempDirectory;
    const instance = await DuckDBInstance.create(path, config);
    return new Duck(instance, await instance.connect());
  }

  /** Runs a statement for its effect. */
  async run(sql: string, params?: DuckDBValue[]): Promise<void> {
    await this.connection.run(sql, params);
  }

  /** Runs a query and returns its rows with JS values (BIGINT → bigint, FLOAT → number). */
  async all(sql: string, params?: DuckDBValue[]): Promise<Record<string, unknown>[]> {
    const reader = await this.connection.runAndReadAll(sql, params);
    return reader.getRowObjectsJS();
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** Reads a value DuckDB returned as a count or id (bigint or number) as a safe JS number. */
export function toSafeNumber(value: unknown, what: string): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new Error(`bug: ${what} is not a safe integer: ${String(value)}`);
  return n;
}
