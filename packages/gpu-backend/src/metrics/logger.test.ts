import { describe, expect, it } from 'vitest';
import { coalescingWriter } from './logger.js';

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
