/**
 * The folder job's progress bar on stderr: count, share, images/second and time left, redrawn
 * in place at most 10 times a second. Only on a terminal: a batch job's log (a file or pipe)
 * gets the final summary line instead of thousands of redraws.
 */

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (v: number) => String(v).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

export class ProgressBar {
  private readonly started = performance.now();
  private lastDraw = -Infinity;
  private drawn = false;

  /**
   * `total` images to do in this run (those already done are not counted); `enabled`
   * defaults to whether the stream is a terminal.
   */
  constructor(
    private readonly total: number,
    private readonly stream: ProgressStream = process.stderr,
    private readonly enabled = !!stream.isTTY,
  ) {}

  /** Images per second so far in this run. */
  rate(done: number): number {
    const seconds = (performance.now() - this.started) / 1000;
    return seconds > 0 ? done / seconds : 0;
  }

  line(done: number, errors: number): string {
    const share = this.total > 0 ? done / this.total : 1;
    const width = 24;
    const filled = Math.round(share * width);
    const rate = this.rate(done);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const errorText = errors > 0 ? `, ${errors} error${errors === 1 ? '' : 's'}` : '';
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${(share * 100).toFixed(0)}% ${rate.toFixed(1)} img/s ETA ${formatDuration(eta)}${errorText}`;
  }

  update(done: number, errors: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = now;
    const columns = this.stream.columns || 80; // 0 on a terminal without a size
    this.stream.write(`\r${this.line(done, errors).slice(0, columns - 1)}\x1b[K`);
    this.drawn = true;
  }

  /** Clears the bar so the summary starts on a clean line. */
  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
