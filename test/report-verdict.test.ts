import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Exploration, ScenarioSummary } from '../src/explore/campaign.js';
import { indexReport, scenarioReport } from '../src/report/html.js';
import { severity } from '../src/report/index-matrix.js';
import { loadScenario } from '../src/scenario/load.js';

/**
 * A strategy's verdict says only what its runs showed: "SAFE here" for no failure in a complete
 * search or in a sample (random, PCT), "UNSAFE here" for a failure, and for an exhaustive search
 * that stopped at --max-runs without a failure "no failure found — incomplete search (stopped at
 * --max-runs N)", never SAFE: the interleavings it did not reach may fail (pre-fix does).
 */
const scenario = loadScenario(resolve(__dirname, '../scenarios/1-incident-7178.yaml'), () => true);

const strategy = (name: string, exploration: Exploration, failing = 0) => ({
  name, runs: 32, quotaCorrect: (32 - failing) / 32, migrationsSucceeded: 1, vmsMoved: 192, vmsToMove: 192, invariantViolations: 0, settled: 1,
  targetPodsRejectedByQuota: 0, conflicts: 0, editsRefused: 0, editsRefusedForGood: 0, agentRestarts: 0, drainSeconds: undefined, drainsUnfinished: 0,
  failingRuns: failing ? ['exhaustive:1:1'] : [], failures: failing ? [{ signature: 'quota-wrong', runs: failing, firstRun: 'exhaustive:1:1', breaks: ['quota' as const] }] : [],
  firstBreaking: {}, exploration, evidence: [],
});

const exhaustive = (complete: boolean): Exploration => ({
  selector: 'exhaustive', complete, interleavings: 32, pruned: 268,
  summary: complete ? 'complete at fixed latencies (DPOR: one interleaving per order of conflicting steps): 32 distinct interleavings, 0 failures (268 duplicate states pruned)' : 'incomplete at fixed latencies (DPOR: one interleaving per order of conflicting steps; stopped at --max-runs 300): 32 distinct interleavings, 0 failures (268 duplicate states pruned)',
  ...(complete ? {} : { maxRuns: 300 }),
});

function summaryOf(explore: 'exhaustive' | 'random' | 'pct', strategies: ReturnType<typeof strategy>[]): ScenarioSummary {
  return { name: scenario.name, file: 'scenarios/1-incident-7178.yaml', runs: 32, seed: 1, explore, strategies } as unknown as ScenarioSummary;
}

/** Each strategy's verdict row: its data-safety, badge and sentence, tags taken out. */
function verdicts(html: string): Record<string, { safety: string; badge: string; say: string }> {
  const out: Record<string, { safety: string; badge: string; say: string }> = {};
  for (const m of html.matchAll(/<div class="v [^"]*" id="[^"]*" data-strategy="([^"]*)" data-safety="([^"]*)"[^>]*>([\s\S]*?)<\/div>/g)) {
    const row = m[3]!;
    const badge = /<span class="badge">([\s\S]*?)<span class="exp/.exec(row)![1]!;
    const say = /<span class="say">([\s\S]*?)<\/span><\/div>|<span class="say">([^<]*)/.exec(row + '</div>')!;
    out[m[1]!] = { safety: m[2]!, badge, say: (say[1] ?? say[2] ?? '').replace(/<[^>]+>/g, '') };
  }
  return out;
}

const INCOMPLETE = 'no failure found — incomplete search (stopped at --max-runs 300)';

describe('the verdict of an exhaustive search that stopped at --max-runs', () => {
  it('is "no failure found — incomplete search", never SAFE; a complete one stays SAFE; a failure found stays UNSAFE', async () => {
    const summary = summaryOf('exhaustive', [strategy('stopped', exhaustive(false)), strategy('done', exhaustive(true)), strategy('stopped-failing', exhaustive(false), 3)]);
    const html = await scenarioReport({ scenario, summary, bits: new Map(), failures: [], expectations: [] });
    const v = verdicts(html);
    expect(v['stopped']).toMatchObject({ safety: 'incomplete', badge: INCOMPLETE });
    expect(v['stopped']!.say).toMatch(/^No failure found in the 32 interleavings it reached \(at fixed latencies\) before it stopped at --max-runs 300: .*not a verdict of safety\.$/);
    expect(v['done']).toMatchObject({ safety: 'safe', badge: 'SAFE here' });
    expect(v['done']!.say).toMatch(/^No failure in 32 interleavings \(one for each order/);
    expect(v['stopped-failing']).toMatchObject({ safety: 'unsafe', badge: 'UNSAFE here' });
    // What it reached, not "one for each order of the steps that conflict": the search did not get there.
    expect(v['stopped-failing']!.say).toMatch(/^Fails in 3 of 32 interleavings it reached \(at fixed latencies\) before it stopped at --max-runs 300: /);
    // Nowhere on the page is the stopped search called safe.
    const headline = /<section id="headline">[\s\S]*?<\/section>/.exec(html)![0];
    expect(headline.match(/(?<!UN)SAFE here/g)).toHaveLength(1);
    expect(headline).toContain('stopped: the enumeration stopped at --max-runs 300, incomplete');
  });

  it('the index matrix marks it incomplete, not "safe: every run right"', () => {
    const stopped = strategy('stopped', exhaustive(false));
    const done = strategy('done', exhaustive(true));
    expect(severity(stopped as never)).toBe('incomplete');
    expect(severity(done as never)).toBe(0);
    const index = indexReport([{ summary: summaryOf('exhaustive', [stopped, done]), href: 'incident-7178.html', expectations: [] }]);
    const cell = (name: string) => new RegExp(`<td class="cell ([^"]*)" data-scenario="incident-7178" data-strategy="${name}"[^>]*title="([^"]*)">([\\s\\S]*?)</td>`).exec(index)!;
    expect(cell('stopped')[1]).toBe('sev-incomplete');
    expect(cell('stopped')[2]).toBe(`stopped on incident-7178: ${INCOMPLETE}`);
    expect(cell('stopped')[3]).toContain(INCOMPLETE);
    expect(cell('done')[1]).toBe('sev-0');
    expect(cell('done')[2]).toBe('done on incident-7178: safe: every run right');
  });

  it('sampled runs without a failure stay SAFE here (random and PCT, as before)', async () => {
    for (const [explore, exploration] of [
      ['random', { selector: 'random' }],
      ['pct', { selector: 'pct', depth: 3, actors: 9, choices: 400, missBound: 0.99996, runsFor5Percent: 4_300_000, guarantee: 'g' }],
    ] as const) {
      const html = await scenarioReport({ scenario, summary: summaryOf(explore, [strategy('s', exploration)]), bits: new Map(), failures: [], expectations: [] });
      expect(verdicts(html)['s'], explore).toMatchObject({ safety: 'safe', badge: 'SAFE here' });
      // PCT's bound is printed as what it is: 0.99996, not rounded onto 1 ("1.00").
      if (explore === 'pct') expect(html).toContain('missed with probability up to 0.99996 (a heuristic');
    }
  });
});
