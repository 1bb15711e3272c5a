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

/** Longest an info line waits in the buffer, ms. */
const FLUSH_INTERVAL_MS = 20;

/** Buffered info lines are written at once past this many characters. */
const MAX_BUFFERED_CHARS = 64 * 1024;

/**
 * Writes info lines to `out` at most once per {@link FLUSH_INTERVAL_MS} rather than one by one: under
 * load every answered request logs a line, and stdout on a pipe is written synchronously, one system
 * call per write (and one wake-up of the reader). Once per event-loop turn, as before, still meant a
 * write per few requests when the loop turns fast; a process of a replica, which sees a share of the
 * requests, turned faster still. Whatever is buffered when the process exits is written then
 * (synchronously, as stdout is on a pipe or file); a process killed outright loses at most the last
 * interval's lines.
 */
export function coalescingWriter(out: { write(chunk: string): unknown }): (line: string) => void {
  let buffered = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (buffered === '') return;
    const chunk = buffered;
    buffered = '';
    out.write(chunk);
  };
  process.on('exit', flush);
  return (line) => {
    buffered += `${line}\n`;
    if (buffered.length > MAX_BUFFERED_CHARS) flush();
    else if (!scheduled) {
      scheduled = true;
      setTimeout(flush, FLUSH_INTERVAL_MS).unref();
    }
  };
}

let stdoutLines: ((line: string) => void) | undefined;

/** Writes JSON lines: info to stdout (coalesced per event-loop turn), warnings and errors to stderr at once. */
export function createLogger(
  write: (level: LogLevel, line: string) => void = (level, line) => {
    if (level === 'info') (stdoutLines ??= coalescingWriter(process.stdout))(line);
    else process.stderr.write(`${line}\n`);
  },
): Logger {
  const log = (level: LogLevel) => (message: string, fields: LogFields = {}) => {
    const record = { time: isoTimeNow(), level, message, ...fields };
    // A replacer is called for every key and takes JSON.stringify off its fast path: only fields that
    // are objects (an error, or one holding an error) need it; a request's line has none.
    write(level, JSON.stringify(record, onlyPrimitives(fields) ? undefined : errorReplacer));
  };
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

/** Start (ms since the epoch) of the second {@link secondPrefix} was formatted for. */
let secondStart = Number.NaN;
/** `new Date(secondStart).toISOString()` without its milliseconds and `Z` (`2026-01-01T00:00:00.`). */
let secondPrefix = '';

/**
 * `new Date().toISOString()`, the date and time formatted once per second: formatting a date costs
 * about a microsecond, as much as the rest of a request's log line.
 */
export function isoTimeNow(now: number = Date.now()): string {
  const ms = ((now % 1000) + 1000) % 1000;
  const second = now - ms;
  if (second !== secondStart) {
    secondStart = second;
    secondPrefix = new Date(second).toISOString().slice(0, -4);
  }
  return `${secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** A logger that drops everything; for tests that do not look at logs. */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/** Whether every field is a string, number, boolean, null or undefined (nothing for the replacer to do). */
function onlyPrimitives(fields: LogFields): boolean {
  for (const key in fields) {
    const value = fields[key];
    if (typeof value === 'object' && value !== null) return false;
  }
  return true;
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
