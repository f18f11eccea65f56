/**
 * A one-line progress bar on stderr, for people: only on a terminal, and not in CI logs
 * (where CI is set) unless asked for with --progress. It names the scenario and the
 * strategy, and shows an ETA from the wall clock (the CLI's, never the simulator's).
 */
export class Progress {
  private last = '';
  private started: number | undefined;

  constructor(
    private readonly enabled: boolean,
    private readonly now: () => number = () => Date.now(),
  ) {}

  static auto(flag: boolean | undefined): Progress {
    const tty = Boolean(process.stderr.isTTY);
    return new Progress(flag ?? (tty && !process.env.CI));
  }

  /**
   * One scenario's progress across its strategies, as tallyScenario reports it (done/total
   * per strategy, restarting at each): the label names the strategy, the bar and the ETA
   * cover the whole scenario.
   */
  scenario(name: string, strategies: readonly string[]): (done: number, total: number) => void {
    let index = 0;
    let prev = 0;
    this.started = undefined;
    return (done, total) => {
      if (done <= prev && prev > 0) index = Math.min(strategies.length - 1, index + 1);
      prev = done;
      const n = Math.max(1, strategies.length);
      const label = `${name} · ${strategies[index] ?? ''} (${index + 1}/${n})`;
      this.update(label, index * total + done, n * total);
    };
  }

  update(label: string, done: number, total: number): void {
    if (!this.enabled || total <= 0) return;
    const t = this.now();
    this.started ??= t;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const elapsed = t - this.started;
    const eta = done > 0 && done < total && elapsed > 0 ? `  ETA ${duration(((total - done) * elapsed) / done)}` : '';
    const line = `\r${label.slice(0, 48).padEnd(48)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor((done / total) * 100)}%${eta}`;
    if (line === this.last) return;
    // Erase what a longer previous line left behind.
    const pad = this.last.length > line.length ? ' '.repeat(this.last.length - line.length) : '';
    this.last = line;
    process.stderr.write(line + pad);
  }

  clear(): void {
    if (!this.enabled || !this.last) return;
    process.stderr.write(`\r${' '.repeat(this.last.length)}\r`);
    this.last = '';
    this.started = undefined;
  }
}

/** 75_000 → "1m15s"; 4_000 → "4s". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
