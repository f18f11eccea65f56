import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScenarioSummary, StrategyResult } from '../src/explore/campaign.js';
import { indexReport, scenarioReport } from '../src/report/html.js';
import { vmsMovedInterval, wilson } from '../src/report/stats.js';
import { loadScenario } from '../src/scenario/load.js';
import { formatTable } from '../src/report/table.js';

/**
 * The numbers a reader sees, checked against the summary they come from: the text table's
 * columns against the summary's fields, and the HTML report's 95% intervals against Wilson
 * intervals computed here from its counts (runs whose quota ended right, VMs moved).
 */
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The table's rows as header → cell, columns split on the two spaces between them. */
function tableRows(text: string): Array<Record<string, string>> {
  const lines = text.split('\n');
  const h = lines.findIndex((l) => l.startsWith('strategy  '));
  expect(h, text).toBeGreaterThan(0);
  const header = lines[h]!.split(/ {2,}/);
  expect(lines[h + 1]).toMatch(/^-+( +-+)+$/);
  const rows: Array<Record<string, string>> = [];
  for (const line of lines.slice(h + 2)) {
    if (!line.trim() || /^\S+:|^ /.test(line) || line.startsWith('evidence')) break;
    const cells = line.split(/ {2,}/);
    rows.push(Object.fromEntries(header.map((name, i) => [name, i === header.length - 1 ? cells.slice(i).join('  ') : cells[i]!])));
  }
  return rows;
}

function expectRowMatches(row: Record<string, string>, st: Pick<StrategyResult, 'name' | 'runs' | 'quotaCorrect' | 'migrationsSucceeded' | 'invariantViolations' | 'failures'>): void {
  expect(row['strategy']).toBe(st.name);
  expect(row['runs']).toBe(String(st.runs));
  expect(row['quota correct'], st.name).toBe(pct(st.quotaCorrect));
  expect(row['migrations ok'], st.name).toBe(pct(st.migrationsSucceeded));
  expect(row['invariants broken'], st.name).toBe(pct(st.invariantViolations));
  expect(row['failure kinds'], st.name).toBe(st.failures.length ? String(st.failures.length) : '-');
}

describe('the text table', () => {
  it('each column shows its own field of the summary (every rate distinct)', () => {
    const st = {
      name: 'example', runs: 1000, quotaCorrect: 0.125, migrationsSucceeded: 0.5, vmsMoved: 5, vmsToMove: 10, invariantViolations: 0.875, settled: 1,
      targetPodsRejectedByQuota: 1.25, conflicts: 2.5, editsRefused: 3.75, editsRefusedForGood: 0, agentRestarts: 4.5, drainSeconds: { mean: 12.5, max: 20 }, drainsUnfinished: 0,
      failingRuns: ['random:3'], failures: [{ signature: 'x', runs: 875, firstRun: 'random:3', breaks: ['quota' as const] }, { signature: 'y', runs: 1, firstRun: 'random:4', breaks: ['invariants' as const] }],
      firstBreaking: {}, endedAtHorizon: 0, failingAtHorizon: 0, exploration: { selector: 'random' as const }, evidence: [],
    };
    const s = { name: 'example', file: 'x.yaml', runs: 1000, seed: 1, explore: 'random' as const, strategies: [st] } as unknown as ScenarioSummary;
    const [row] = tableRows(formatTable(s));
    expectRowMatches(row!, st);
    // Of the 876 failing runs, one is named.
    expect(row!['failing runs']).toBe('random:3 +875');
    const wide = tableRows(formatTable(s, { wide: true }))[0]!;
    expectRowMatches(wide, st);
    expect([wide['rejected/run'], wide['409s/run'], wide['edits refused/run'], wide['agent restarts/run'], wide['drain mean s']]).toEqual(['1.25', '2.50', '3.75', '4.50', '12.5']);
  });
});

describe('the HTML report\'s numbers', () => {
  const scenario = loadScenario(resolve(__dirname, '../scenarios/1-incident-7178.yaml'), () => true);
  /** 20 runs of 3 VMs to move each: 15 with the quota right, 41 of 60 VMs moved; the second strategy 20 of 20 and 60 of 60. */
  const result = (name: string, right: number, moved: number) => ({
    name, runs: 20, quotaCorrect: right / 20, migrationsSucceeded: moved / 60, vmsMoved: moved, vmsToMove: 60, invariantViolations: 0, settled: 1,
    targetPodsRejectedByQuota: 0, conflicts: 0, editsRefused: 0, editsRefusedForGood: 0, agentRestarts: 0, drainSeconds: undefined, drainsUnfinished: 0,
    failingRuns: right < 20 ? ['random:2'] : [], failures: right < 20 ? [{ signature: 'quota-wrong', runs: 20 - right, firstRun: 'random:2', breaks: ['quota' as const] }] : [],
    firstBreaking: {}, endedAtHorizon: 0, failingAtHorizon: 0, exploration: { selector: 'random' as const }, evidence: [],
  });
  const summary = { name: scenario.name, file: 'scenarios/1-incident-7178.yaml', runs: 20, seed: 1, explore: 'random' as const, strategies: [result('a', 15, 41), result('b', 20, 60)] } as unknown as ScenarioSummary;
  const bits = (right: number) => ({ quota: '1'.repeat(right) + '0'.repeat(20 - right), move: '1'.repeat(20) });
  const render = (withBits: boolean) => scenarioReport({ scenario, summary, bits: withBits ? new Map([['a', bits(15)], ['b', bits(20)]]) : new Map(), failures: [], expectations: [] });
  const ci = (i: { low: number; high: number }) => `[${pct(i.low)}–${pct(i.high)}]`;
  /** The bracketed intervals in a strategy's row of the numbers table. */
  const intervals = (html: string, name: string): string[] => {
    const verdict = /<section id="verdict">[\s\S]*?<\/section>/.exec(html)![0];
    const row = new RegExp(`<tr><th>${name}</th>.*?</tr>`).exec(verdict)![0];
    return [...row.matchAll(/\[[^\]]*%[^\]]*\]/g)].map((m) => m[0]);
  };

  for (const withBits of [true, false]) {
    it(`the quota interval is Wilson's of the runs with the quota right, the VMs one of the VMs moved over the runs (${withBits ? 'from the runs\' bits' : 'from the rates alone'})`, async () => {
      const html = await render(withBits);
      expect(intervals(html, 'a')).toEqual([ci(wilson(15, 20)), ci(vmsMovedInterval(41, 60, 20))]);
      expect(intervals(html, 'b')).toEqual([ci(wilson(20, 20)), ci(vmsMovedInterval(60, 60, 20))]);
      // Not the interval of the runs that went wrong.
      expect(ci(wilson(15, 20))).not.toBe(ci(wilson(5, 20)));
      // Not the interval of 60 independent VMs: the 3 VMs of a run are one sample, the run.
      expect(ci(vmsMovedInterval(41, 60, 20))).not.toBe(ci(wilson(41, 60)));
      // Exact at the bound: 100.0%, not 99.99999999999997%.
      expect(intervals(html, 'b')).toEqual(['[83.9%–100.0%]', expect.stringMatching(/–100\.0%\]$/)]);
    });
  }

  describe('the VMs-moved column says what it counts', () => {
    it('"of VMs that had to move", with the interval over runs, in the numbers table and the index', async () => {
      const html = await render(true);
      const verdict = /<section id="verdict">[\s\S]*?<\/section>/.exec(html)![0];
      expect(verdict).toContain('<th>VMs moved, of VMs that had to move [95% CI over runs]</th>');
      expect(verdict).not.toContain('migrations succeeded');
      expect(verdict).toMatch(/not independent samples, so its interval takes the runs as the sample size/);
      const index = indexReport([{ summary, href: 'x.html', expectations: [] }]);
      expect(index).toContain('<th>VMs moved, of VMs that had to move</th>');
      expect(index).not.toMatch(/migrations (ok|succeeded)/);
    });
  });
});

describe('statistics', () => {
  it('wilson(k, n) is symmetric: the interval of k successes mirrors that of n − k', () => {
    for (const [k, n] of [[0, 10], [3, 10], [15, 20], [1, 20_001]] as const) {
      const a = wilson(k, n);
      const b = wilson(n - k, n);
      expect(a.low).toBeCloseTo(1 - b.high, 12);
      expect(a.high).toBeCloseTo(1 - b.low, 12);
      expect(a.low).toBeLessThanOrEqual(k / n);
      expect(a.high).toBeGreaterThanOrEqual(k / n);
    }
    // Known values (z = 1.96): 15 of 20 → [0.5313, 0.8881].
    const w = wilson(15, 20);
    expect(w.low).toBeCloseTo(0.5313, 4);
    expect(w.high).toBeCloseTo(0.8881, 4);
  });
});
