/**
 * A one-line progress bar on stderr, for people: only on a terminal, and not in CI logs
 * (where CI is set) unless asked for with --progress.
 */
export class Progress {
  private last = '';

  constructor(private readonly enabled: boolean) {}

  static auto(flag: boolean | undefined): Progress {
    const tty = Boolean(process.stderr.isTTY);
    return new Progress(flag ?? (tty && !process.env.CI));
  }

  update(label: string, done: number, total: number): void {
    if (!this.enabled || total <= 0) return;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const line = `\r${label.slice(0, 40).padEnd(40)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor((done / total) * 100)}%`;
    if (line === this.last) return;
    this.last = line;
    process.stderr.write(line);
  }

  clear(): void {
    if (!this.enabled || !this.last) return;
    process.stderr.write(`\r${' '.repeat(this.last.length)}\r`);
    this.last = '';
  }
}
