import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { Progress } from '../src/cli/progress.js';

/** The progress bar: on stderr, for people only; silent when disabled, in CI, or off a terminal. */

let writes: string[];
let spy: MockInstance<typeof process.stderr.write>;
const saved = { CI: process.env.CI, isTTY: Object.getOwnPropertyDescriptor(process.stderr, 'isTTY') };

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
    const p = new Progress(true, () => 0);
    p.update('incident-7178', 1, 4);
    expect(writes).toHaveLength(1);
    const line = writes[0]!;
    expect(line.startsWith('\r')).toBe(true);
    expect(line).not.toContain('\n');
    expect(line).toContain('incident-7178');
    expect(line).toMatch(/\[#+\.+\] 25%$/);
    const bar = /\[([#.]+)\]/.exec(line)![1]!;
    expect(bar.length).toBe(30);
    expect(bar.replace(/\./g, '')).toHaveLength(Math.round(30 / 4));

    // The same state is not redrawn; a new one is.
    p.update('incident-7178', 1, 4);
    expect(writes).toHaveLength(1);
    p.update('incident-7178', 4, 4);
    expect(writes).toHaveLength(2);
    expect(writes[1]).toMatch(/\[#{30}\] 100%$/);

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

  it('a long label is cut so the line keeps its width', () => {
    const p = new Progress(true, () => 0);
    p.update('a'.repeat(100), 1, 2);
    p.update('b', 2, 2);
    expect(writes[0]!.length).toBe(writes[1]!.length - 1); // " 50%" vs "100%": only the percentage's digits differ
    expect(writes[0]).toContain(`${'a'.repeat(48)} [`);
    expect(writes[0]).not.toContain('a'.repeat(49));
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
