import type { CampaignProgress } from '../explore/campaign.js';

/**
 * A one-line progress bar on stderr, for people: only on a terminal, and not in CI logs
 * (where CI is set) unless asked for with --progress. It names the scenario, the strategy
 * and the phase (pilot, runs, shrinking and evidence), and shows an ETA from the wall clock
 * (the CLI's, never the simulator's). The line is at most the terminal's width less one
 * column (a full-width line makes some terminals wrap before the \r), 80 columns when the
 * width is unknown.
 */
export class Progress {
  private last = '';
  private started: number | undefined;
  private phaseKey = '';

  constructor(
    private readonly enabled: boolean,
    private readonly now: () => number = () => Date.now(),
    private readonly columns: () => number = terminalColumns,
  ) {}

  static auto(flag: boolean | undefined): Progress {
    const tty = Boolean(process.stderr.isTTY);
    return new Progress(flag ?? (tty && !process.env.CI));
  }

  /**
   * One scenario's progress, phase by phase, as the campaign reports it: each strategy's
   * pilot run, then its runs (the bar and the ETA cover the whole scenario's runs), then,
   * after every strategy's runs, each one's shrinking and evidence.
   */
  scenario(name: string, strategies: readonly string[]): CampaignProgress {
    const n = Math.max(1, strategies.length);
    const which = (s: string) => `${s} (${Math.max(0, strategies.indexOf(s)) + 1}/${n})`;
    let runsDone = 0;
    let runsTotal = 0;
    return {
      pilot: (s) => this.update(`pilot · ${name} · ${which(s)}`, runsDone, Math.max(1, runsTotal), `pilot ${s}`),
      runs: (s, done, total) => {
        // Every strategy runs the same number of jobs: the bar covers all of them.
        const i = Math.max(0, strategies.indexOf(s));
        runsTotal = n * total;
        runsDone = i * total + done;
        this.update(`runs · ${name} · ${which(s)}`, runsDone, runsTotal, 'runs');
      },
      evidence: (s, done, total) => this.update(`shrink, evidence · ${name} · ${which(s)}`, done, total, `evidence ${s}`),
    };
  }

  /**
   * Draw `label [####....] 42%  ETA 1m05s`. `phase` restarts the ETA's clock when it
   * changes (a phase's rate says nothing about the next one's).
   */
  update(label: string, done: number, total: number, phase = ''): void {
    if (!this.enabled || total <= 0) return;
    const t = this.now();
    if (phase !== this.phaseKey) {
      this.phaseKey = phase;
      this.started = undefined;
    }
    this.started ??= t;
    const elapsed = t - this.started;
    const eta = done > 0 && done < total && elapsed > 0 ? `ETA ${duration(((total - done) * elapsed) / done)}` : '';
    const line = progressLine(label, done / total, eta, this.columns());
    if (line === this.last) return;
    // Erase what a longer previous line left behind.
    const pad = this.last.length > line.length ? ' '.repeat(this.last.length - line.length) : '';
    this.last = line;
    process.stderr.write(`\r${line}${pad}`);
  }

  clear(): void {
    if (!this.enabled || !this.last) return;
    process.stderr.write(`\r${' '.repeat(this.last.length)}\r`);
    this.last = '';
    this.started = undefined;
    this.phaseKey = '';
  }
}

/** The terminal's width: $COLUMNS when set, else stderr's own, else 80. */
export function terminalColumns(): number {
  const env = Number.parseInt(process.env.COLUMNS ?? '', 10);
  if (Number.isSafeInteger(env) && env > 0) return env;
  const tty = process.stderr.columns;
  return typeof tty === 'number' && tty > 0 ? tty : 80;
}

/** Room kept for " 100%  ETA 10h00m", so the bar does not jump as the ETA changes. */
const TAIL = 17;
const MAX_BAR = 30;
const MIN_BAR = 10;
const MAX_LABEL = 60;

/**
 * The progress line without the leading \r: at most `columns − 1` characters, whatever the
 * label. The label is cut (with …) before the bar shrinks; on a very narrow terminal the
 * bar goes, then the line is cut.
 */
export function progressLine(label: string, fraction: number, eta: string, columns: number): string {
  const width = Math.max(1, Math.floor(columns) - 1);
  const f = Math.min(1, Math.max(0, fraction));
  const percent = `${Math.floor(f * 100)}%`.padStart(4);
  const tail = `${percent}${eta ? `  ${eta}` : ''}`.padEnd(TAIL - 1);
  // label, a space, [bar], a space, tail
  const room = width - TAIL - 3;
  let line: string;
  if (room >= MIN_BAR + 8) {
    const bar = Math.min(MAX_BAR, Math.max(MIN_BAR, Math.floor(room * 0.2)));
    const labelWidth = Math.min(MAX_LABEL, room - bar);
    const filled = Math.round(f * bar);
    line = `${fit(label, labelWidth)} [${'#'.repeat(filled)}${'.'.repeat(bar - filled)}] ${tail}`;
  } else {
    line = `${fit(label, Math.max(0, width - percent.length - 1))} ${percent}`;
  }
  return line.trimEnd().slice(0, width);
}

/** `s` in exactly `n` columns: padded, or cut with an ellipsis. */
function fit(s: string, n: number): string {
  if (n <= 0) return '';
  if (s.length <= n) return s.padEnd(n);
  return n === 1 ? '…' : `${s.slice(0, n - 1)}…`;
}

/** 75_000 → "1m15s"; 4_000 → "4s". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
