import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';
import { Progress, progressLine, terminalColumns } from '../src/cli/progress.js';

/** The progress bar: on stderr, for people only; silent when disabled, in CI, or off a terminal. */

let writes: string[];
let spy: MockInstance<typeof process.stderr.write>;
const saved = { CI: process.env.CI, COLUMNS: process.env.COLUMNS, isTTY: Object.getOwnPropertyDescriptor(process.stderr, 'isTTY') };

/** Pretend stderr is (or is not) a terminal. */
function setTTY(value: boolean): void {
  Object.defineProperty(process.stderr, 'isTTY', { value, configurable: true, writable: true });
}

beforeEach(() => {
  writes = [];
  spy = vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    writes.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  }) as typeof process.stderr.write);
});

afterEach(() => {
  spy.mockRestore();
  if (saved.CI === undefined) delete process.env.CI;
  else process.env.CI = saved.CI;
  if (saved.COLUMNS === undefined) delete process.env.COLUMNS;
  else process.env.COLUMNS = saved.COLUMNS;
  if (saved.isTTY) Object.defineProperty(process.stderr, 'isTTY', saved.isTTY);
  else delete (process.stderr as { isTTY?: boolean }).isTTY;
});

describe('Progress', () => {
  it('disabled: writes nothing, whatever it is told', () => {
    const p = new Progress(false);
    p.update('incident-7178', 1, 4);
    p.update('incident-7178', 4, 4);
    p.clear();
    expect(writes).toEqual([]);
    expect(spy).not.toHaveBeenCalled();
  });

  it('enabled: one line with a bar and a percentage, redrawn in place; clear() erases it', () => {
    const p = new Progress(true, () => 0, () => 120);
    p.update('incident-7178', 1, 4);
    expect(writes).toHaveLength(1);
    const line = writes[0]!;
    expect(line.startsWith('\r')).toBe(true);
    expect(line).not.toContain('\n');
    expect(line).toContain('incident-7178');
    expect(line).toMatch(/\[#+\.+\] +25%$/);
    const bar = /\[([#.]+)\]/.exec(line)![1]!;
    expect(bar.length).toBeGreaterThanOrEqual(10);
    expect(bar.replace(/\./g, '')).toHaveLength(Math.round(bar.length / 4));

    // The same state is not redrawn; a new one is.
    p.update('incident-7178', 1, 4);
    expect(writes).toHaveLength(1);
    p.update('incident-7178', 4, 4);
    expect(writes).toHaveLength(2);
    expect(writes[1]).toMatch(/\[#+\] 100%$/);

    p.clear();
    expect(writes).toHaveLength(3);
    const erase = writes[2]!;
    // Back to the start of the line, blanks over everything drawn, back to the start again.
    expect(erase).toMatch(/^\r +\r$/);
    expect(erase.length - 2).toBeGreaterThanOrEqual(writes[1]!.length - 1);

    // Nothing left to erase: a second clear() writes nothing.
    p.clear();
    expect(writes).toHaveLength(3);
  });

  it('enabled: nothing to draw for an empty total', () => {
    const p = new Progress(true, () => 0);
    p.update('x', 0, 0);
    p.clear();
    expect(writes).toEqual([]);
  });

  it('a long label is cut with an ellipsis so the line keeps its width', () => {
    const p = new Progress(true, () => 0, () => 80);
    p.update('a'.repeat(100), 1, 2);
    p.update('b', 2, 2);
    expect(writes[0]!.length).toBe(writes[1]!.length); // the percentage is padded: the bar never moves
    expect(writes[0]).toMatch(/^\ra+… \[/);
    expect(writes[0]!.length - 1).toBeLessThanOrEqual(79);
  });

  it('the line never exceeds the terminal width less one column, whatever the label, percentage and ETA', () => {
    const labels = ['', 'x', 'incident-7178 · v1.4.2-watch-namespaces (5/7) · shrinking, evidence', 'é'.repeat(300)];
    for (const columns of [1, 2, 10, 20, 39, 40, 41, 60, 79, 80, 81, 120, 200, 1000]) {
      for (const label of labels) {
        for (const f of [0, 0.005, 0.5, 0.999, 1]) {
          for (const eta of ['', 'ETA 4s', 'ETA 59m59s', 'ETA 99h59m', 'ETA 1000h00m']) {
            const line = progressLine(label, f, eta, columns);
            expect(line.length, `${columns} columns: ${line}`).toBeLessThanOrEqual(Math.max(1, columns - 1));
            expect(line).not.toMatch(/[\r\n]/);
          }
        }
      }
    }
    // Wide enough for the bar: it is there, the percentage is there.
    expect(progressLine('scenario', 0.5, 'ETA 4s', 80)).toMatch(/^scenario +\[#+\.+\] +50% {2}ETA 4s$/);
    expect(progressLine('scenario', 0.5, '', 30)).toMatch(/50%$/);
  });

  it('the width: $COLUMNS, else the terminal\'s, else 80', () => {
    const had = Object.getOwnPropertyDescriptor(process.stderr, 'columns');
    try {
      Object.defineProperty(process.stderr, 'columns', { value: undefined, configurable: true, writable: true });
      delete process.env.COLUMNS;
      expect(terminalColumns()).toBe(80);
      Object.defineProperty(process.stderr, 'columns', { value: 132, configurable: true, writable: true });
      expect(terminalColumns()).toBe(132);
      process.env.COLUMNS = '80';
      expect(terminalColumns()).toBe(80);
      process.env.COLUMNS = 'wide';
      expect(terminalColumns()).toBe(132);
    } finally {
      if (had) Object.defineProperty(process.stderr, 'columns', had);
      else delete (process.stderr as { columns?: number }).columns;
    }
  });

  it('quotarace run --progress with COLUMNS=80: every redraw fits in 79 columns, and the pilot, runs and evidence phases show', async () => {
    process.env.COLUMNS = '80';
    const dir = mkdtempSync(join(tmpdir(), 'quotarace-progress-'));
    try {
      const scenario = fileURLToPath(new URL('../scenarios/1-incident-7178.yaml', import.meta.url));
      const code = await main(['run', scenario, '--runs', '6', '--strategy', 'pre-fix', '--strategy', 'v1.4.2-watch-namespaces', '--workers', '1', '--progress', '--reports', dir], { out: () => {}, err: () => {} });
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const drawn = writes.join('').split('\r').filter((l) => l.trim() !== '');
    expect(drawn.length).toBeGreaterThan(3);
    for (const l of drawn) expect(l.length, l).toBeLessThanOrEqual(79);
    expect(drawn.some((l) => l.startsWith('pilot · incident-7178 · '))).toBe(true);
    expect(drawn.some((l) => l.startsWith('runs · incident-7178 · '))).toBe(true);
    expect(drawn.some((l) => l.startsWith('shrink, evidence · incident-7178 · pre-fix (1/2)'))).toBe(true);
  });

  it('auto(undefined) is disabled when CI is set, even on a terminal', () => {
    setTTY(true);
    process.env.CI = 'true';
    const p = Progress.auto(undefined);
    p.update('scenario', 1, 2);
    p.clear();
    expect(writes).toEqual([]);
  });

  it('auto(undefined) is enabled on a terminal outside CI, and disabled off a terminal', () => {
    delete process.env.CI;
    setTTY(true);
    Progress.auto(undefined).update('scenario', 1, 2);
    expect(writes).toHaveLength(1);

    setTTY(false);
    Progress.auto(undefined).update('scenario', 1, 2);
    expect(writes).toHaveLength(1);
  });

  it('an explicit flag wins: auto(true) draws in CI, auto(false) never draws', () => {
    process.env.CI = 'true';
    setTTY(false);
    Progress.auto(true).update('scenario', 1, 2);
    expect(writes).toHaveLength(1);
    setTTY(true);
    delete process.env.CI;
    Progress.auto(false).update('scenario', 1, 2);
    expect(writes).toHaveLength(1);
  });
});
