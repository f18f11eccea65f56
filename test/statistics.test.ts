import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load } from '../src/cli/main.js';
import { emptyTally, summarize } from '../src/explore/tally.js';
import { checkExpectations } from '../src/gate/expect.js';
import { pairedDifference, vmsMovedInterval, wilson, wilsonRate } from '../src/report/stats.js';
import { percent } from '../src/report/units.js';
import { significant } from '../src/base/digits.js';

/** The report's statistics and the gate's arithmetic, in process (moved from test/gate.test.ts). */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONTROL = join(ROOT, 'scenarios', '6-control-no-race.yaml');

describe('statistics', () => {
  it('wilson: honest at 0% and 100%', () => {
    const zero = wilson(0, 100);
    expect(zero.low).toBe(0);
    expect(zero.high).toBeCloseTo(0.037, 3);
    const all = wilson(100, 100);
    expect(all.low).toBeCloseTo(0.963, 3);
    expect(all.high).toBeCloseTo(1, 12);
    // Symmetric, inside [0, 1], around the point estimate.
    const half = wilson(50, 100);
    expect(half.low + half.high).toBeCloseTo(1, 10);
    expect(half.low).toBeLessThan(0.5);
    expect(wilson(0, 0)).toEqual({ low: 0, high: 1 });
  });

  it('wilson: the bound is exact at p̂ = 1 and p̂ = 0 (no float noise), and no other value reaches a bound', () => {
    for (let n = 1; n <= 3000; n++) {
      const all = wilson(n, n);
      const none = wilson(0, n);
      expect(all.high, `${n} of ${n}`).toBe(1);
      expect(none.low, `0 of ${n}`).toBe(0);
      // As printed: "100.0%", never 99.99999999999997%.
      expect(percent(all.high)).toBe('100.0%');
      expect(percent(none.low)).toBe('0.0%');
      // One short of a bound stays off it, however close it prints.
      if (n > 1) {
        expect(wilson(n - 1, n).high, `${n - 1} of ${n}`).toBeLessThan(1);
        expect(wilson(1, n).low, `1 of ${n}`).toBeGreaterThan(0);
      }
    }
    // A rate a hair from 1 over a huge sample: its upper bound is not 1, and does not print as 100%.
    const near = wilsonRate(1 - 1e-15, 1e15);
    expect(near.high).toBeLessThan(1);
    expect(percent(near.high)).not.toBe('100.0%');
    expect(wilsonRate(1e-300, 1e15).low).toBeGreaterThan(0);
  });

  it("VMs moved: the interval's sample is the runs, not the VMs (the VMs of one run are not independent)", () => {
    // incident-7178 pre-fix at 200 runs of 6 VMs: 681 of 1,200 moved.
    const perRun = vmsMovedInterval(681, 1200, 200);
    expect(perRun).toEqual(wilsonRate(681 / 1200, 200));
    const perVm = wilson(681, 1200);
    // Wider than treating 1,200 VMs as independent: [53.9%, 59.5%] claims precision 200 runs do not give.
    expect(perRun.high - perRun.low).toBeGreaterThan(2 * (perVm.high - perVm.low));
    expect([percent(perRun.low), percent(perRun.high)]).toEqual(['49.8%', '63.4%']);
    expect([percent(perVm.low), percent(perVm.high)]).toEqual(['53.9%', '59.5%']);
    expect(perRun.low).toBeLessThan(681 / 1200);
    expect(perRun.high).toBeGreaterThan(681 / 1200);
    // One VM per run: the runs and the VMs are the same sample.
    expect(vmsMovedInterval(7, 10, 10)).toEqual(wilson(7, 10));
    // Every VM moved: exactly 1 above; nothing to move says nothing.
    expect(vmsMovedInterval(60, 60, 10).high).toBe(1);
    expect(vmsMovedInterval(0, 0, 10)).toEqual({ low: 0, high: 1 });
  });

  it("significant: PCT's miss bound never prints as the bound 1 (or 0) it does not reach", () => {
    expect(significant(0.99996, 4, [0, 1])).toBe('0.99996');
    expect(significant(0.9999998, 3, [0, 1])).toBe('0.9999998');
    expect(significant(1, 4, [0, 1])).toBe('1.000');
    expect(significant(0.5, 4, [0, 1])).toBe('0.5000');
    expect(significant(0.012345, 3, [0, 1])).toBe('0.0123');
    expect(significant(1e-30, 4, [0, 1])).toBe('1.000e-30');
  });

  it('pairedDifference: B − A over the runs where they disagree', () => {
    const d = pairedDifference('1100', '1111');
    expect(d.difference).toBe(0.5);
    expect(d.onlyB).toBe(2);
    expect(d.onlyA).toBe(0);
    expect(d.n).toBe(4);
    expect(d.interval.low).toBeLessThanOrEqual(0.5);
    expect(d.interval.high).toBeGreaterThanOrEqual(0.5);
    const same = pairedDifference('10110', '10110');
    expect(same.difference).toBe(0);
    expect(same.onlyA + same.onlyB).toBe(0);
    expect(pairedDifference('1111', '1100').difference).toBe(-0.5);
  });

  it('pairedDifference: the Agresti–Min interval (½ added to each cell), worked by hand; mirrored when A and B swap', () => {
    // Never disagreeing over 100 seeds: centre 0, se = √(½ + ½) / 102.
    const none = pairedDifference('1'.repeat(60) + '0'.repeat(40), '1'.repeat(60) + '0'.repeat(40));
    expect(none.interval.low).toBeCloseTo(-1.96 / 102, 12);
    expect(none.interval.high).toBeCloseTo(1.96 / 102, 12);
    // 20 seeds, B alone right on 10: cells ½ and 10½, m = 22; centre 10/22, se = √(11 − 10²/22) / 22.
    const a = '1'.repeat(10) + '0'.repeat(10);
    const b = '1'.repeat(20);
    const se = Math.sqrt(11 - 100 / 22) / 22;
    const ab = pairedDifference(a, b);
    expect([ab.onlyA, ab.onlyB, ab.n, ab.difference]).toEqual([0, 10, 20, 0.5]);
    expect(ab.interval.low).toBeCloseTo(10 / 22 - 1.96 * se, 12);
    expect(ab.interval.high).toBeCloseTo(10 / 22 + 1.96 * se, 12);
    const ba = pairedDifference(b, a);
    expect(ba.difference).toBe(-0.5);
    expect(ba.interval.low).toBeCloseTo(-ab.interval.high, 12);
    expect(ba.interval.high).toBeCloseTo(-ab.interval.low, 12);
    // Clamped to [−1, 1]: B right on all of 5 seeds where A never is.
    const all = pairedDifference('00000', '11111');
    expect(all.interval.high).toBe(1);
    expect(all.interval.low).toBeGreaterThan(0);
    expect(pairedDifference('11111', '00000').interval.low).toBe(-1);
  });

  it('pairedDifference: over the seeds both ran (the shorter string); none at all says nothing', () => {
    expect(pairedDifference('1111', '10')).toMatchObject({ n: 2, onlyA: 1, onlyB: 0, difference: -0.5 });
    expect(pairedDifference('', '1')).toEqual({ difference: 0, interval: { low: -1, high: 1 }, onlyA: 0, onlyB: 0, n: 0 });
  });

  // Regression test for a bug found while writing these tests (fixed).
  it('quotaCorrect: 1 fails when one run in 20,001 had a wrong quota', () => {
    const t = emptyTally();
    t.runs = 20_001;
    t.quotaOk = 20_000;
    const st = summarize('v1.4.2', t);
    const s = { ...load(CONTROL), expect: [{ strategy: 'v1.4.2', metric: 'quotaCorrect' as const, min: 1 }] };
    const [outcome] = checkExpectations(s, { name: s.name, file: s.file, runs: t.runs, seed: 1, explore: 'random', strategies: [{ ...st, exploration: { selector: 'random' }, evidence: [] }] }, false);
    expect(outcome!.passed).toBe(false);
    // The exact fraction, not a rounded one.
    expect(outcome!.actual).toBe(20_000 / 20_001);
    expect(outcome!.message).toMatch(/^quotaCorrect is \S+, below the minimum 1 by /);
  });
});