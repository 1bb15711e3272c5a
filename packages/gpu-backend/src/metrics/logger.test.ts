import { describe, expect, it } from 'vitest';
import { coalescingWriter, createLogger, isoTimeNow } from './logger.js';

describe('coalescingWriter', () => {
  it('writes the lines of one flush interval in one write, in order', async () => {
    const writes: string[] = [];
    const line = coalescingWriter({ write: (chunk: string) => writes.push(chunk) });
    line('a');
    await new Promise((resolve) => setImmediate(resolve));
    line('b');
    expect(writes, 'nothing written within the interval, across event-loop turns').toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    line('c');
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(writes).toEqual(['a\nb\n', 'c\n']);
  });

  it('writes at once when the buffer grows large', () => {
    const writes: string[] = [];
    const line = coalescingWriter({ write: (chunk: string) => writes.push(chunk) });
    const long = 'x'.repeat(40 * 1024);
    line(long);
    line(long);
    expect(writes).toEqual([`${long}\n${long}\n`]);
  });
});

describe('createLogger', () => {
  const capture = () => {
    const lines: Array<{ level: string; record: Record<string, unknown> }> = [];
    const logger = createLogger((level, line) => lines.push({ level, record: JSON.parse(line) as Record<string, unknown> }));
    return { lines, logger };
  };

  it('writes a request line with every field, as one JSON object', () => {
    const { lines, logger } = capture();
    logger.info('request', { request_id: 'abc', method: 'POST', route: '/v1/embed/text', status: 200, ms: 3, gone: undefined });
    expect(lines).toHaveLength(1);
    const { level, record } = lines[0] as (typeof lines)[number];
    expect(level).toBe('info');
    expect(record).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown, level: 'info', message: 'request', request_id: 'abc', method: 'POST', route: '/v1/embed/text', status: 200, ms: 3 });
  });

  it('writes errors, also nested ones, with name, message and stack', () => {
    const { lines, logger } = capture();
    const error = new TypeError('bad input');
    logger.error('request failed', { request_id: 'abc', error, context: { cause: error } });
    const record = lines[0]?.record;
    const written = { name: 'TypeError', message: 'bad input', stack: error.stack };
    expect(record?.error).toEqual(written);
    expect(record?.context).toEqual({ cause: written });
  });
});

describe('isoTimeNow', () => {
  it('gives the text of new Date(t).toISOString() within a second, across seconds and before 1970', () => {
    const times = [0, 1, 9, 10, 99, 100, 999, 1000, 1_764_000_000_000, 1_764_000_000_001, 1_764_000_000_999, 1_764_000_001_000, -1, -999, -1000, -1001, 253_402_300_799_999];
    for (let t = 1_764_000_000_000; t < 1_764_000_003_000; t += 7) times.push(t);
    for (const t of times) expect(isoTimeNow(t), String(t)).toBe(new Date(t).toISOString());
  });
});
