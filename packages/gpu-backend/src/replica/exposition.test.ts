import { describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry } from '../metrics/registry.js';
import { addLabel, mergeExpositions } from './exposition.js';
import { restartDelayMs } from './primary.js';

function page(requests: number): string {
  const registry = new Registry();
  registry.register(new Counter('req_total', 'Requests.', ['route'])).inc({ route: '/a' }, requests);
  registry.register(new Counter('plain_total', 'No labels.')).inc({});
  registry.register(new Histogram('size', 'Sizes.', ['tower'], [1])).observe({ tower: 't' }, 1);
  return registry.render();
}

describe('addLabel', () => {
  it('puts the label first on every sample, with or without labels, and leaves comments alone', () => {
    expect(addLabel(page(2), 'process', '1')).toBe(
      '# HELP req_total Requests.\n# TYPE req_total counter\nreq_total{process="1",route="/a"} 2\n' +
        '# HELP plain_total No labels.\n# TYPE plain_total counter\nplain_total{process="1"} 1\n' +
        '# HELP size Sizes.\n# TYPE size histogram\nsize_bucket{process="1",tower="t",le="1"} 1\nsize_bucket{process="1",tower="t",le="+Inf"} 1\n' +
        'size_sum{process="1",tower="t"} 1\nsize_count{process="1",tower="t"} 1\n',
    );
  });

  it('handles an empty label set and escapes the value', () => {
    expect(addLabel('x{} 1', 'p', 'a"b')).toBe('x{p="a\\"b"} 1');
  });
});

describe('mergeExpositions', () => {
  it('writes each family once, header first, with the samples of every page together', () => {
    const merged = mergeExpositions([addLabel(page(2), 'process', '0'), addLabel(page(5), 'process', '1'), '# HELP up Up.\n# TYPE up gauge\nup 1\n']);
    expect(merged.match(/^# HELP req_total /gm)).toHaveLength(1);
    expect(merged.match(/^# TYPE size histogram$/gm)).toHaveLength(1);
    const lines = merged.split('\n');
    const at = (line: string) => lines.indexOf(line);
    expect(at('req_total{process="1",route="/a"} 5')).toBe(at('req_total{process="0",route="/a"} 2') + 1);
    expect(at('# HELP plain_total No labels.')).toBe(at('req_total{process="1",route="/a"} 5') + 1);
    expect(at('size_count{process="1",tower="t"} 1')).toBeGreaterThan(at('size_count{process="0",tower="t"} 1'));
    expect(merged.endsWith('# HELP up Up.\n# TYPE up gauge\nup 1\n')).toBe(true);
  });
});

describe('restartDelayMs', () => {
  it('doubles per failure in a row up to the ceiling', () => {
    const backoff = { initialMs: 500, maxMs: 30_000, stableMs: 60_000 };
    expect([1, 2, 3, 4, 7, 8, 50].map((n) => restartDelayMs(n, backoff))).toEqual([500, 1000, 2000, 4000, 30_000, 30_000, 30_000]);
  });
});
