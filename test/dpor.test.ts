import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { explore } from '../src/explore/exhaustive.js';
import { independent, type StepFootprint } from '../src/explore/dependency.js';
import { addBacktracks, expandAgainst, Summary, type OrderPoint, type RoundStep } from '../src/explore/dpor.js';
import { runPilot } from '../src/explore/pilot.js';
import { loadScenario } from '../src/scenario/load.js';
import { builtinStrategy } from '../src/strategies/builtin.js';
import { ends } from './fixtures/dpor-ends.js';

const fp = (reads: string[], writes: string[], global = false): StepFootprint => ({ reads: new Set(reads), writes: new Set(writes), global });

describe('the step dependency relation', () => {
  it('steps on disjoint objects, caches and queues commute; a write depends on what the other reads or writes', () => {
    expect(independent(fp(['Pod/a/x'], ['Pod', 'Pod/a/x']), fp(['ResourceQuota/a/q'], ['queue:rq']))).toBe(true);
    // A list of a kind reads every write of it; two writes of a kind reach each watcher in order.
    expect(independent(fp(['Pod'], []), fp([], ['Pod', 'Pod/a/y']))).toBe(false);
    expect(independent(fp([], ['Pod', 'Pod/a/x']), fp([], ['Pod', 'Pod/a/y']))).toBe(false);
    // A cache read against the delivery into that cache, in either argument order.
    expect(independent(fp(['cache:harvester/ResourceQuota'], []), fp([], ['cache:harvester/ResourceQuota']))).toBe(false);
    expect(independent(fp([], ['cache:harvester/ResourceQuota']), fp(['cache:harvester/ResourceQuota'], []))).toBe(false);
    // Reads alone never conflict; a global step conflicts with everything.
    expect(independent(fp(['Pod'], []), fp(['Pod'], []))).toBe(true);
    expect(independent(fp([], [], true), fp([], []))).toBe(false);
  });
});

/** A round step: event `seq`, which scheduled the events [from, to). */
function step(seq: number, f: StepFootprint, point?: OrderPoint, scheduled: [number, number] = [100 + seq, 100 + seq]): RoundStep {
  return { seq, chain: 0, group: 0, firstScheduled: scheduled[0], lastScheduled: scheduled[1], fp: f, point };
}
const pointOf = (seqs: number[]): OrderPoint => ({ seqs, todo: new Set([0]) });

describe('races add the options that reverse them (source-set DPOR)', () => {
  it('a later candidate that depends on the chosen step is tried first', () => {
    const p = pointOf([10, 11]);
    addBacktracks([step(10, fp([], ['X']), p), step(11, fp(['X'], []))]);
    expect([...p.todo].sort()).toEqual([0, 1]);
  });

  it('independent candidates add nothing', () => {
    const p = pointOf([10, 11]);
    addBacktracks([step(10, fp([], ['X']), p), step(11, fp(['Y'], ['Z']))]);
    expect([...p.todo]).toEqual([0]);
  });

  it('a dependent step the chosen one scheduled is no race: it cannot run first', () => {
    const p = pointOf([10, 11]);
    addBacktracks([step(10, fp([], ['X']), p, [20, 21]), step(11, fp([], [])), step(20, fp(['X'], []))]);
    expect([...p.todo]).toEqual([0]);
  });

  it('a race with a step another candidate scheduled is reversed by running that candidate first', () => {
    // 10 writes X; 11 (independent) schedules 20, which reads X: 20 can only run before 10 if 11
    // does. 12 has nothing to do with it.
    const p = pointOf([10, 11, 12]);
    addBacktracks([step(10, fp([], ['X']), p), step(11, fp([], ['Y']), undefined, [20, 21]), step(20, fp(['X'], [])), step(12, fp([], ['Z']))]);
    expect([...p.todo].sort()).toEqual([0, 1]);
  });

  it('a race ordered through a step between them is not reversed directly', () => {
    // 10 → 11 (both touch X) and 11 → 12 (both touch Y): 12 follows 10 through 11, so only 11 is added.
    const p = pointOf([10, 11, 12]);
    addBacktracks([step(10, fp([], ['X']), p), step(11, fp(['X'], ['Y'])), step(12, fp(['X', 'Y'], []))]);
    expect([...p.todo].sort()).toEqual([0, 1]);
  });

  it('a run cut short mid-round at an explored state gives every option to the points whose step conflicts with what followed there', () => {
    const p = pointOf([10, 11, 12]);
    const q = pointOf([13, 14]);
    const after = new Summary();
    after.add(fp(['X'], ['Z']));
    expandAgainst([step(10, fp([], ['X']), p), step(13, fp(['Y'], []), q)], after);
    expect([...p.todo].sort()).toEqual([0, 1, 2]);
    expect([...q.todo]).toEqual([0]);
    // A summary that took in a global step conflicts with everything.
    after.add(fp([], [], true));
    expandAgainst([step(13, fp(['Y'], []), q)], after);
    expect([...q.todo].sort()).toEqual([0, 1]);
  });

  it('a race whose first event the point did not offer explores every option (never expected; stays sound)', () => {
    const p = pointOf([10, 11, 12]);
    addBacktracks([step(10, fp([], ['X']), p), step(13, fp(['X'], []))]);
    expect([...p.todo].sort()).toEqual([0, 1, 2]);
  });
});

/**
 * DPOR is sound: it reaches every end the search trying every option reaches (see
 * fixtures/dpor-ends.ts for what an end is).
 */
describe('DPOR reaches every end the unreduced search reaches', () => {
  it('8-edit-during-migration, pre-fix: the same ends in fewer runs, every self-reported change reported', () => {
    const none = ends('8-edit-during-migration.yaml', 'pre-fix', { reduction: 'none' });
    const dpor = ends('8-edit-during-migration.yaml', 'pre-fix', { verify: true });
    expect(none.r.complete && dpor.r.complete).toBe(true);
    expect([...dpor.ends].sort()).toEqual([...none.ends].sort());
    expect(dpor.r.runs + dpor.r.pruned).toBeLessThan((none.r.runs + none.r.pruned) / 4);
  });
});

describe('--reduction', () => {
  it('none searches every option; it needs an unbounded exhaustive search; the run line and the summary keep it', async () => {
    const { campaignOptions } = await import('../src/cli/plans.js');
    const { UsageError } = await import('../src/cli/io.js');
    const { runLine } = await import('../src/cli/runline.js');
    const { coverageOf, coverageSummary } = await import('../src/explore/exhaustive.js');
    const base = { runs: 1, seed: 1, depth: 3, 'max-runs': 100, explore: 'exhaustive' };
    expect(campaignOptions({ ...base, reduction: 'none' }, undefined).reduction).toBe('none');
    expect(campaignOptions({ ...base, reduction: 'dpor' }, undefined).reduction).toBeUndefined();
    expect(() => campaignOptions({ ...base, explore: 'random', reduction: 'none' }, undefined)).toThrow(UsageError);
    expect(() => campaignOptions({ ...base, delays: 2, reduction: 'none' }, undefined)).toThrow(UsageError);
    const scenario = loadScenario(resolve(__dirname, '../scenarios/5-quota-near-saturation.yaml'), () => true);
    const plan = (extra: object) => ({ s: scenario, text: '', strategies: [builtinStrategy('pre-fix')!], opts: campaignOptions({ ...base, ...extra }, scenario) });
    expect(runLine([plan({ reduction: 'none' })], true).command).toMatch(/ --explore exhaustive --max-runs 100 --reduction none /);
    expect(runLine([plan({})], true).command).not.toContain('--reduction');
    const strategy = builtinStrategy('pre-fix')!;
    const pilot = runPilot(scenario, strategy, 0);
    const none = explore(scenario, strategy, pilot, 0, 20_000, scenario.seed, undefined, undefined, { reduction: 'none' });
    const dpor = explore(scenario, strategy, pilot, 0, 20_000, scenario.seed);
    expect(coverageSummary(coverageOf(none), 20_000, 0)).toMatch(/^complete at fixed latencies \(every option of every choice\): /);
    expect(coverageSummary(coverageOf(dpor), 20_000, 0)).toMatch(/^complete at fixed latencies \(DPOR: one interleaving per order of conflicting steps\): /);
    expect(none.runs + none.pruned).toBeGreaterThan(dpor.runs + dpor.pruned);
  });
});
