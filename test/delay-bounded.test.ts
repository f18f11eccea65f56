import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { explore } from '../src/explore/exhaustive.js';
import { runPilot } from '../src/explore/pilot.js';
import { formatRunId, parseRunId, runById } from '../src/explore/run-id.js';
import { loadScenario } from '../src/scenario/load.js';
import { failureKind } from '../src/sim/outcome.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * `--explore exhaustive --delays K` claims every run of at most K delays. Checked against the
 * same bounded search with no state pruning (a key that never repeats: every run of at most
 * K delays is executed): both must reach the same end states and the same failure kinds.
 */
const scenario = loadScenario(resolve(__dirname, '../scenarios/7-tiny-agent-restart.yaml'), () => true);
let fresh = 0;
const neverEqual = (): string => String(fresh++);

describe('delay-bounded exhaustive search (7-tiny-agent-restart)', () => {
  for (const name of ['pre-fix', 'v1.4.2']) {
    const strategy = builtinStrategy(name)!;
    const pilot = runPilot(scenario, strategy, 0);
    for (const k of [1, 2]) {
      it(`${name}, ${k} delays: the pruned search reaches every end state and failure kind of the unpruned one`, () => {
        const pruned = explore(scenario, strategy, pilot, 0, 50_000, scenario.seed, undefined, k);
        const all = explore(scenario, strategy, pilot, 0, 50_000, scenario.seed, neverEqual, k);
        expect(pruned.complete && all.complete).toBe(true);
        expect(pruned.delaysComplete).toBe(k);
        expect(all.pruned).toBe(0);
        const ends = (r: typeof all) => [...new Set(r.outcomes.map((o) => o.fingerprint))].sort();
        const kinds = (r: typeof all) => [...new Set(r.failures.map((f) => failureKind(f.outcome)))].sort();
        expect(ends(pruned)).toEqual(ends(all));
        expect(kinds(pruned)).toEqual(kinds(all));
        // Every run enumerated is within the bound, and the unpruned search enumerates more.
        for (const p of all.prefixes) expect(p.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(k);
        expect(pruned.runs).toBeLessThanOrEqual(all.runs);
      });
    }
  }

  it('a larger bound covers at least what a smaller one does; the summary says which bound completed', () => {
    const strategy = builtinStrategy('pre-fix')!;
    const pilot = runPilot(scenario, strategy, 0);
    const one = explore(scenario, strategy, pilot, 0, 50_000, scenario.seed, undefined, 1);
    const two = explore(scenario, strategy, pilot, 0, 50_000, scenario.seed, undefined, 2);
    const ends = (r: typeof one) => new Set(r.outcomes.map((o) => o.fingerprint));
    for (const e of ends(one)) expect(ends(two)).toContain(e);
    // Runs run out within bound 2: bound 1 is reported complete, bound 2 not.
    const cut = explore(scenario, strategy, pilot, 0, one.runs + one.pruned + 1, scenario.seed, undefined, 2);
    expect(cut.complete).toBe(false);
    expect(cut.delaysComplete).toBe(1);
  });

  it("a bounded search's runs are named by exhaustive run ids that replay them", () => {
    const strategy = builtinStrategy('pre-fix')!;
    const pilot = runPilot(scenario, strategy, 0);
    const r = explore(scenario, strategy, pilot, 0, 50_000, scenario.seed, undefined, 2);
    expect(r.failures.length).toBeGreaterThan(0);
    r.outcomes.forEach((o, i) => {
      const text = formatRunId({ explorer: 'exhaustive', seed: scenario.seed, window: 0, branches: r.prefixes[i]! });
      const id = parseRunId(text);
      expect(formatRunId(id)).toBe(text);
      expect(runById(scenario, strategy, id, pilot).fingerprint).toBe(o.fingerprint);
    });
  });
});

describe('--delays', () => {
  it('bounds an exhaustive search, and is bad input with any other explorer', async () => {
    const { campaignOptions } = await import('../src/cli/plans.js');
    const { UsageError } = await import('../src/cli/io.js');
    const base = { runs: 1, seed: 1, depth: 3, 'max-runs': 100 };
    expect(campaignOptions({ ...base, explore: 'exhaustive', delays: 2 }, undefined).delays).toBe(2);
    expect(campaignOptions({ ...base, explore: 'exhaustive' }, undefined).delays).toBeUndefined();
    expect(() => campaignOptions({ ...base, explore: 'random', delays: 2 }, undefined)).toThrow(UsageError);
    expect(() => campaignOptions({ ...base, explore: 'exhaustive', delays: -1 }, undefined)).toThrow(UsageError);
  });

  it('the run line a report prints keeps the bound (executed as printed, it is the same search)', async () => {
    const { campaignOptions } = await import('../src/cli/plans.js');
    const { runLine } = await import('../src/cli/runline.js');
    const scenario = loadScenario(resolve(__dirname, '../scenarios/7-tiny-agent-restart.yaml'), () => true);
    const base = { runs: 1, seed: 1, depth: 3, 'max-runs': 100, explore: 'exhaustive' };
    const plan = (delays?: number) => ({ s: scenario, text: '', strategies: [builtinStrategy('v1.4.2')!], opts: campaignOptions(delays === undefined ? base : { ...base, delays }, scenario) });
    const line = runLine([plan(3)], true).command;
    expect(line).toMatch(/ --explore exhaustive --max-runs 100 --delays 3 /);
    expect(runLine([plan()], true).command).not.toContain('--delays');
  });

  it('the summary says which bound was covered completely', async () => {
    const { coverageSummary } = await import('../src/explore/exhaustive.js');
    expect(coverageSummary({ complete: true, runs: 7, pruned: 3, delays: 2, delaysComplete: 2 }, 100, 1)).toMatch(/^complete up to 2 delays at fixed latencies \(every run of at most 2 delays; longer ones not searched\): 7 distinct interleavings, 1 failures/);
    expect(coverageSummary({ complete: false, runs: 7, pruned: 93, delays: 4, delaysComplete: 1 }, 100, 0)).toMatch(/^complete up to 1 delay at fixed latencies; bound 2 incomplete \(stopped at --max-runs 100\)/);
    expect(coverageSummary({ complete: false, runs: 0, pruned: 100, delays: 4, delaysComplete: -1 }, 100, 0)).toMatch(/^not complete at fixed latencies for any delay bound; bound 0 incomplete/);
    expect(coverageSummary({ complete: false, runs: 5, pruned: 95 }, 100, 0)).toMatch(/^incomplete at fixed latencies \(DPOR: one interleaving per order of conflicting steps; stopped at --max-runs 100\)/);
  });
});
