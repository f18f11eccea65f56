import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { formatRunId, parseRunId, RunIdError } from '../src/explore/run-id.js';

/** Run ids and `trace --run`, in process (the fast tier); moved from test/run-id.test.ts, whose campaigns are slow. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EDIT = join(ROOT, 'scenarios', '8-edit-during-migration.yaml');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('run ids', () => {
  it('format and parse are inverse, and the text is canonical', () => {
    for (const text of ['random:20', 'pct:d3:104', 'random:w10:7', 'pct:d2:w0:5', 'exhaustive:1:-', 'exhaustive:1:0*12.1.2', 'exhaustive:w25:3:2.2.1*3']) {
      expect(formatRunId(parseRunId(text))).toBe(text);
    }
    expect(formatRunId({ explorer: 'random', seed: 4, window: 25 })).toBe('random:4');
    expect(formatRunId({ explorer: 'exhaustive', seed: 1, window: 0, branches: [0, 0, 0, 1, 0, 0] })).toBe('exhaustive:1:0*3.1');
    expect(parseRunId('exhaustive:1:0*3.1')).toEqual({ explorer: 'exhaustive', seed: 1, window: 0, branches: [0, 0, 0, 1] });
  });
  it('bad ids are a RunIdError saying what is wrong', () => {
    for (const bad of ['pct:dx:1', 'pct:1', 'random', 'random:-1', 'random:1:2', 'dfs:1', 'exhaustive:1', 'exhaustive:1:a.b', 'random:wx:1']) {
      expect(() => parseRunId(bad), bad).toThrow(RunIdError);
    }
  });
  it('trace --seed N is trace --run random:N, byte for byte', async () => {
    const a = await cli('trace', EDIT, '--strategy', 'pre-fix', '--seed', '20');
    const b = await cli('trace', EDIT, '--strategy', 'pre-fix', '--run', 'random:20');
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    const w = await cli('trace', EDIT, '--strategy', 'pre-fix', '--seed', '20', '--window', '10');
    const wr = await cli('trace', EDIT, '--strategy', 'pre-fix', '--run', 'random:w10:20');
    expect(w.out).toBe(wr.out);
    expect(w.out).not.toBe(a.out);
  });
  it('a bad run id exits 2 with one clear line, no stack trace', async () => {
    for (const bad of ['pct:dx:1', 'random:', 'exhaustive:1:zz']) {
      const r = await cli('trace', EDIT, '--strategy', 'pre-fix', '--run', bad);
      expect(r.code, bad).toBe(2);
      expect(r.out).toBe('');
      expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
      expect(r.err).toContain(`quotarace: bad run id "${bad}"`);
      expect(r.err).not.toMatch(/^\s+at\s/m);
    }
    const both = await cli('trace', EDIT, '--strategy', 'pre-fix', '--run', 'random:1', '--seed', '1');
    expect(both.code).toBe(2);
    const none = await cli('trace', EDIT, '--strategy', 'pre-fix');
    expect(none.code).toBe(2);
  });});
