/**
 * One JSON object per line on stdout/stderr, so a log collector can index fields (request id, tower,
 * device) without parsing prose.
 */
export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Writes JSON lines: info to stdout, warnings and errors to stderr. */
export function createLogger(
  write: (level: LogLevel, line: string) => void = (level, line) =>
    (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`),
): Logger {
  const log = (level: LogLevel) => (message: string, fields: LogFields = {}) => {
    write(level, JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }, errorReplacer));
  };
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

/** A logger that drops everything; for tests that do not look at logs. */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
