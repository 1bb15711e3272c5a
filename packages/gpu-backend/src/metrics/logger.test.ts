import { describe, expect, it } from 'vitest';
import { coalescingWriter } from './logger.js';

describe('coalescingWriter', () => {
  it('writes the lines of one event-loop turn in one write, in order', async () => {
    const writes: string[] = [];
    const line = coalescingWriter({ write: (chunk: string) => writes.push(chunk) });
    line('a');
    line('b');
    expect(writes, 'nothing written during the turn').toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    line('c');
    await new Promise((resolve) => setImmediate(resolve));
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
