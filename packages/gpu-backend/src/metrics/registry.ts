/**
 * A small Prometheus text-format (0.0.4) registry: counters, gauges read at scrape time, and histograms,
 * each with labels. Enough for one process's /metrics without pulling in a client library.
 */

type Labels = Readonly<Record<string, string>>;

interface Metric {
  render(): string;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

/** Orders label values by the declared label names, so `{a,b}` and `{b,a}` are one series. */
function seriesKey(names: readonly string[], labels: Labels): string {
  return JSON.stringify(names.map((n) => labels[n] ?? ''));
}

/** A copy of `labels` in the declared order, the order they render in. */
function ordered(names: readonly string[], labels: Labels): Labels {
  return Object.fromEntries(names.map((n) => [n, labels[n] ?? '']));
}

function checkLabels(metric: string, names: readonly string[], labels: Labels): void {
  const given = Object.keys(labels);
  if (given.length !== names.length || !names.every((n) => n in labels)) {
    throw new Error(`bug: ${metric} takes labels [${names.join(', ')}], got [${given.join(', ')}]`);
  }
}

/** One label set's series of a counter, resolved once so a hot path adds without building a key. */
export interface CounterChild {
  inc(by?: number): void;
}

/** One label set's series of a histogram, resolved once (see {@link CounterChild}). */
export interface HistogramChild {
  observe(value: number): void;
}

export class Counter<L extends string = never> implements Metric {
  readonly #series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[] = [],
  ) {}

  inc(labels: Record<L, string>, by = 1): void {
    this.#entry(labels).value += by;
  }

  /**
   * The series of `labels`, to add to without resolving its labels again. It is rendered (at 0) from
   * here on, as Prometheus clients' `labels(…)` children are.
   */
  child(labels: Record<L, string>): CounterChild {
    const entry = this.#entry(labels);
    return {
      inc: (by = 1) => {
        entry.value += by;
      },
    };
  }

  #entry(labels: Record<L, string>): { labels: Labels; value: number } {
    checkLabels(this.name, this.labelNames, labels);
    const key = seriesKey(this.labelNames, labels);
    let entry = this.#series.get(key);
    if (!entry) {
      entry = { labels: ordered(this.labelNames, labels), value: 0 };
      this.#series.set(key, entry);
    }
    return entry;
  }

  /** Current value of one series (0 when never incremented). */
  get(labels: Record<L, string>): number {
    return this.#series.get(seriesKey(this.labelNames, labels))?.value ?? 0;
  }

  render(): string {
    let out = header(this.name, this.help, 'counter');
    for (const { labels, value } of this.#series.values()) out += `${this.name}${labelText(labels)} ${formatNumber(value)}\n`;
    return out;
  }
}

/**
 * A gauge (or, with `type` 'counter', a counter kept by someone else, such as Node's event-loop totals)
 * whose values are read when scraped, so it never goes stale.
 */
export class CallbackGauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly collect: () => Iterable<{ labels: Labels; value: number }>,
    readonly type: 'gauge' | 'counter' = 'gauge',
  ) {}

  render(): string {
    let out = header(this.name, this.help, this.type);
    for (const { labels, value } of this.collect()) out += `${this.name}${labelText(labels)} ${formatNumber(value)}\n`;
    return out;
  }
}

interface HistogramSeries {
  labels: Labels;
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> implements Metric {
  readonly #series = new Map<string, HistogramSeries>();
  readonly buckets: readonly number[];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    buckets: readonly number[],
  ) {
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.some((b, i) => i > 0 && b === sorted[i - 1])) throw new Error(`bug: ${name} has duplicate buckets`);
    this.buckets = sorted;
  }

  observe(labels: Record<L, string>, value: number): void {
    this.#add(this.#entry(labels), value);
  }

  /** The series of `labels`, to observe into without resolving its labels again (see `Counter.child`). */
  child(labels: Record<L, string>): HistogramChild {
    const series = this.#entry(labels);
    return {
      observe: (value) => {
        this.#add(series, value);
      },
    };
  }

  #entry(labels: Record<L, string>): HistogramSeries {
    checkLabels(this.name, this.labelNames, labels);
    const key = seriesKey(this.labelNames, labels);
    let series = this.#series.get(key);
    if (!series) {
      series = { labels: ordered(this.labelNames, labels), counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    return series;
  }

  #add(series: HistogramSeries, value: number): void {
    const { buckets } = this;
    const { counts } = series;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= (buckets[i] as number)) {
        counts[i] = (counts[i] as number) + 1;
        break;
      }
    }
    series.sum += value;
    series.count += 1;
  }

  render(): string {
    let out = header(this.name, this.help, 'histogram');
    for (const { labels, counts, sum, count } of this.#series.values()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += counts[i] ?? 0;
        out += `${this.name}_bucket${labelText(labels, ['le', formatNumber(bound)])} ${cumulative}\n`;
      });
      out += `${this.name}_bucket${labelText(labels, ['le', '+Inf'])} ${count}\n`;
      out += `${this.name}_sum${labelText(labels)} ${formatNumber(sum)}\n`;
      out += `${this.name}_count${labelText(labels)} ${count}\n`;
    }
    return out;
  }
}

/** Holds metrics in registration order and renders them as one exposition. */
export class Registry {
  readonly #metrics: Metric[] = [];

  register<M extends Metric>(metric: M): M {
    this.#metrics.push(metric);
    return metric;
  }

  render(): string {
    return this.#metrics.map((m) => m.render()).join('');
  }
}

/** Content-Type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
