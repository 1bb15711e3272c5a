/**
 * Progress on stderr: a bar with rows/s and ETA on a terminal, a line every few seconds in a log, or
 * one JSON object per line (`--progress json`) for programs that follow an ingest.
 */

export type ProgressMode = 'auto' | 'bar' | 'plain' | 'json' | 'none';

export interface ProgressSnapshot {
  readonly label: string;
  readonly done: number;
  readonly total: number;
  readonly elapsedMs: number;
}

/** "1:02:03" or "2:03"; "?" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Rows per second so far, and the time left at that rate. */
export function rate(snapshot: ProgressSnapshot): { rowsPerSecond: number; etaSeconds: number } {
  const seconds = snapshot.elapsedMs / 1000;
  const rowsPerSecond = seconds > 0 ? snapshot.done / seconds : 0;
  const left = Math.max(0, snapshot.total - snapshot.done);
  return { rowsPerSecond, etaSeconds: rowsPerSecond > 0 ? left / rowsPerSecond : left === 0 ? 0 : Number.NaN };
}

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** One progress line: `label [#####-----] 50.0% 500/1,000 rows 250 rows/s ETA 0:02`. */
export function formatProgress(snapshot: ProgressSnapshot, barWidth = 24): string {
  const fraction = snapshot.total > 0 ? Math.min(1, snapshot.done / snapshot.total) : 1;
  const filled = Math.round(fraction * barWidth);
  const { rowsPerSecond, etaSeconds } = rate(snapshot);
  return (
    `${snapshot.label.padEnd(8)} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ` +
    `${(fraction * 100).toFixed(1).padStart(5)}% ${numberFormat.format(snapshot.done)}/${numberFormat.format(snapshot.total)} rows ` +
    `${numberFormat.format(rowsPerSecond)} rows/s ETA ${formatDuration(etaSeconds)}`
  );
}

export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

/** Reports phases, row counts and events. One instance per CLI run. */
export class Progress {
  private readonly mode: Exclude<ProgressMode, 'auto'>;
  private label = '';
  private total = 0;
  private done = 0;
  private started = 0;
  private lastDraw = 0;

  constructor(
    private readonly stream: ProgressStream,
    mode: ProgressMode = 'auto',
    private readonly now: () => number = Date.now,
  ) {
    this.mode = mode === 'auto' ? (stream.isTTY ? 'bar' : 'plain') : mode;
  }

  /** Starts a phase that will process `total` rows. */
  phase(label: string, total: number): void {
    this.finishLine();
    this.label = label;
    this.total = total;
    this.done = 0;
    this.started = this.now();
    this.lastDraw = 0;
    if (this.mode === 'json') this.json({ event: 'phase', phase: label, total_rows: total });
    this.draw(true);
  }

  /** Sets the rows done in the current phase. */
  update(done: number): void {
    this.done = done;
    this.draw(done >= this.total);
  }

  /** A notable event: a message in text modes, an object in JSON mode. */
  event(name: string, fields: Record<string, unknown>, message: string): void {
    if (this.mode === 'json') this.json({ event: name, ...fields });
    else if (this.mode !== 'none') {
      this.finishLine();
      this.stream.write(`${message}\n`);
      if (this.mode === 'bar') this.draw(true);
    }
  }

  /** Ends the current phase: no more bars until the next one. */
  end(): void {
    this.finishLine();
    this.label = '';
  }

  /** Ends the current bar line. */
  finishLine(): void {
    if (this.mode === 'bar' && this.lastDraw !== 0) this.stream.write('\n');
    this.lastDraw = 0;
  }

  private snapshot(): ProgressSnapshot {
    return { label: this.label, done: this.done, total: this.total, elapsedMs: this.now() - this.started };
  }

  private draw(force: boolean): void {
    const t = this.now();
    if (this.label === '' || this.mode === 'none') return;
    if (this.mode === 'bar') {
      if (!force && t - this.lastDraw < 100) return;
      this.stream.write(`\r${formatProgress(this.snapshot())}`);
      this.lastDraw = t;
    } else if (this.mode === 'plain') {
      if (!force && t - this.lastDraw < 2000) return;
      this.stream.write(`${formatProgress(this.snapshot())}\n`);
      this.lastDraw = t;
    } else if (force || t - this.lastDraw >= 1000) {
      const { rowsPerSecond, etaSeconds } = rate(this.snapshot());
      this.json({
        event: 'progress',
        phase: this.label,
        done_rows: this.done,
        total_rows: this.total,
        rows_per_second: Math.round(rowsPerSecond),
        eta_seconds: Number.isFinite(etaSeconds) ? Math.round(etaSeconds) : null,
      });
      this.lastDraw = t;
    }
  }

  private json(value: Record<string, unknown>): void {
    this.stream.write(`${JSON.stringify(value)}\n`);
  }
}
