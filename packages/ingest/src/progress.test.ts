import { describe, expect, it } from 'vitest';
import { Progress, formatDuration, formatProgress } from './progress.js';

describe('formatProgress', () => {
  it('shows the share done, rows per second and the time left', () => {
    const line = formatProgress({ label: 'upload', done: 250_000, total: 1_000_000, elapsedMs: 2_000 }, 10);
    expect(line).toBe('upload   [###-------]  25.0% 250,000/1,000,000 rows 125,000 rows/s ETA 0:06');
  });

  it('shows an unknown ETA before any row is done', () => {
    expect(formatProgress({ label: 'sort', done: 0, total: 10, elapsedMs: 0 }, 4)).toContain('ETA ?');
  });
});

describe('formatDuration', () => {
  it('writes hours only when needed', () => {
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(3723)).toBe('1:02:03');
  });
});

describe('Progress', () => {
  it('writes one JSON object per line in json mode', () => {
    const lines: string[] = [];
    let t = 0;
    const progress = new Progress({ write: (s: string) => lines.push(s) }, 'json', () => t);
    progress.phase('upload', 100);
    t = 1000;
    progress.update(50);
    progress.event('shard-uploaded', { index: 0 }, 'uploaded');
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e['event'])).toEqual(['phase', 'progress', 'progress', 'shard-uploaded']);
    expect(events[2]).toMatchObject({ done_rows: 50, rows_per_second: 50, eta_seconds: 1 });
  });

  it('redraws a bar in place on a terminal', () => {
    const out: string[] = [];
    const progress = new Progress({ write: (s: string) => out.push(s), isTTY: true }, 'auto', () => 0);
    progress.phase('sort', 10);
    progress.update(10);
    expect(out.every((s) => s.startsWith('\r'))).toBe(true);
  });
});
