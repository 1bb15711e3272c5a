import { describe, expect, it } from 'vitest';
import { CallbackGauge, Counter, Histogram, Registry } from './registry.js';

describe('Registry', () => {
  it('renders counters per label set with HELP and TYPE lines', () => {
    const registry = new Registry();
    const c = registry.register(new Counter('requests_total', 'Requests.', ['route', 'status']));
    c.inc({ route: '/a', status: '200' });
    c.inc({ status: '200', route: '/a' }, 2);
    c.inc({ route: '/b', status: '500' });
    expect(registry.render()).toBe(
      '# HELP requests_total Requests.\n# TYPE requests_total counter\n' +
        'requests_total{route="/a",status="200"} 3\nrequests_total{route="/b",status="500"} 1\n',
    );
  });

  it('renders cumulative histogram buckets with +Inf, sum and count', () => {
    const registry = new Registry();
    const h = registry.register(new Histogram('size', 'Sizes.', ['tower'], [1, 4, 2]));
    for (const v of [1, 2, 3, 9]) h.observe({ tower: 't' }, v);
    expect(registry.render()).toBe(
      '# HELP size Sizes.\n# TYPE size histogram\n' +
        'size_bucket{tower="t",le="1"} 1\nsize_bucket{tower="t",le="2"} 2\nsize_bucket{tower="t",le="4"} 3\n' +
        'size_bucket{tower="t",le="+Inf"} 4\nsize_sum{tower="t"} 15\nsize_count{tower="t"} 4\n',
    );
  });

  it('adds through children to the same series as through labels', () => {
    const registry = new Registry();
    const c = registry.register(new Counter('requests_total', 'Requests.', ['route', 'status']));
    const h = registry.register(new Histogram('size', 'Sizes.', ['tower'], [1, 2]));
    const child = c.child({ status: '200', route: '/a' });
    child.inc();
    c.inc({ route: '/a', status: '200' });
    child.inc(2);
    h.child({ tower: 't' }).observe(2);
    h.observe({ tower: 't' }, 5);
    expect(c.get({ route: '/a', status: '200' })).toBe(4);
    expect(registry.render()).toContain('requests_total{route="/a",status="200"} 4\n');
    expect(registry.render()).toContain('size_bucket{tower="t",le="2"} 1\nsize_bucket{tower="t",le="+Inf"} 2\nsize_sum{tower="t"} 7\n');
  });

  it('renders a child that was never added to at 0', () => {
    const c = new Counter('c', 'C.', ['a']);
    c.child({ a: 'x' });
    expect(c.render()).toContain('c{a="x"} 0\n');
  });

  it('reads callback gauges at render time', () => {
    let depth = 1;
    const registry = new Registry();
    registry.register(new CallbackGauge('depth', 'Depth.', () => [{ labels: { tower: 'x' }, value: depth }]));
    depth = 7;
    expect(registry.render()).toContain('depth{tower="x"} 7\n');
  });

  it('escapes quotes, backslashes and newlines in label values', () => {
    const c = new Counter('c', 'C.', ['v']);
    c.inc({ v: 'a"b\\c\nd' });
    expect(c.render()).toContain('c{v="a\\"b\\\\c\\nd"} 1\n');
  });

  it('throws on labels that do not match the declared names', () => {
    const c = new Counter('c', 'C.', ['a']);
    expect(() => { c.inc({ b: 'x' } as unknown as Record<'a', string>); }).toThrow(/bug: c takes labels/);
  });
});
