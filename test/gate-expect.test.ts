import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load } from '../src/cli/main.js';
import type { EvidenceFile, ScenarioSummary, StrategyResult } from '../src/explore/campaign.js';
import { emptyTally, summarize, type TallyState } from '../src/explore/tally.js';
import { checkExpectations, expectationsJson, notChecked } from '../src/gate/expect.js';
import { junitXml } from '../src/gate/junit.js';
import { stepSummary } from '../src/gate/step-summary.js';
import { scenarioLine } from '../src/cli/publish.js';
import { indexReport } from '../src/report/html.js';
import type { Scenario } from '../src/scenario/model.js';

/**
 * The gate in process (the CLI tests in test/gate.test.ts show it end to end): each bound,
 * which run and evidence a failed bound quotes, and the cases where a strategy did not run.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONTROL = load(join(ROOT, 'scenarios', '6-control-no-race.yaml'));

type Bound = Scenario['expect'][number];

function scenarioWith(...bounds: Bound[]): Scenario {
  return { ...CONTROL, expect: bounds };
}

/** 20 runs: 15 with the quota right; 30 of 40 VMs moved; 2 runs with an invariant broken; 19 settled. */
function tally(): TallyState {
  const t = emptyTally();
  Object.assign(t, { runs: 20, quotaOk: 15, moved: 30, mustMove: 40, violations: 2, settled: 19 });
  t.failing = ['random:2', 'random:3'];
  // The first failing run breaks only the migrations; the quota is first wrong at random:3.
  t.firstBreaking = { migrations: 'random:2', quota: 'random:3', invariants: 'random:7', settled: 'random:9' };
  return t;
}

const evidence = (run: string, breaks: EvidenceFile['breaks'], path: string): EvidenceFile => ({
  path,
  run,
  breaks,
  failure: 'x',
  runs: 1,
  stepsBefore: 10,
  stepsAfter: 5,
  deterministic: true,
  determinism: '',
  traceSha256: '',
});

function summary(strategies: Array<Partial<StrategyResult> & { name: string }>): ScenarioSummary {
  return {
    name: CONTROL.name,
    file: CONTROL.file,
    runs: 20,
    seed: 1,
    explore: 'random',
    strategies: strategies.map((s) => ({ ...summarize(s.name, tally()), exploration: { selector: 'random' }, evidence: [], ...s })),
  };
}

describe('checkExpectations', () => {
  it('a min bound broken: the exact value, by how much, and a run that breaks this metric with its evidence and replay command', () => {
    // The evidence of another run that breaks the quota too (random:5) is not the one quoted.
    const ev = [evidence('random:2', ['migrations'], 'r/a.evidence'), evidence('random:5', ['quota'], 'r/c.evidence'), evidence('random:3', ['quota', 'migrations'], 'r/b.evidence')];
    const [o] = checkExpectations(scenarioWith({ strategy: 'v1.4.2', metric: 'quotaCorrect', min: 0.8 }), summary([{ name: 'v1.4.2', evidence: ev }]), false);
    expect(o).toEqual({
      scenario: CONTROL.name,
      strategy: 'v1.4.2',
      metric: 'quotaCorrect',
      name: 'quotaCorrect >= 0.8',
      actual: 0.75,
      passed: false,
      message: 'quotaCorrect is 0.7500, below the minimum 0.8 by 0.0500; a run that breaks it: random:3, evidence r/b.evidence (replay it with: quotarace replay r/b.evidence)',
      run: 'random:3',
      evidence: 'r/b.evidence',
      replay: 'quotarace replay r/b.evidence',
    });
  });

  it("each metric quotes its own first breaking run; without its evidence, the trace command (a module's replay allows the module)", () => {
    const s = scenarioWith(
      { strategy: 'v1.4.2', metric: 'migrationsSucceeded', min: 1 },
      { strategy: 'v1.4.2', metric: 'settled', min: 1 },
      { strategy: 'mine', metric: 'migrationsSucceeded', min: 1 },
    );
    const ev = evidence('random:2', ['migrations'], 'r/m.evidence');
    const [moved, settled, mine] = checkExpectations(s, summary([{ name: 'v1.4.2' }, { name: 'mine', evidence: [ev] }]), false, (n) => (n === 'mine' ? 'strategies/mine.ts' : undefined));
    expect([moved!.actual, moved!.run, moved!.evidence]).toEqual([0.75, 'random:2', undefined]);
    expect(moved!.message).toBe(`migrationsSucceeded is 0.7500, below the minimum 1 by 0.2500; a run that breaks it: random:2 (trace it with: quotarace trace ${CONTROL.file} --strategy v1.4.2 --run random:2)`);
    expect([settled!.actual, settled!.run]).toEqual([0.95, 'random:9']);
    expect(mine!.replay).toBe('quotarace replay r/m.evidence --allow-module strategies/mine.ts');
  });

  it('a max bound broken says "above the maximum" and quotes the first run with an invariant broken', () => {
    const [o] = checkExpectations(scenarioWith({ strategy: 'v1.4.2', metric: 'invariantViolations', max: 0.05 }), summary([{ name: 'v1.4.2' }]), false);
    expect(o!.passed).toBe(false);
    expect(o!.name).toBe('invariantViolations <= 0.05');
    expect(o!.actual).toBe(0.1);
    expect(o!.message).toMatch(/^invariantViolations is 0\.1000, above the maximum 0\.05 by 0\.0500; a run that breaks it: random:7 /);
    expect(o!.run).toBe('random:7');
  });

  it('a rate above its maximum (a known bug documented as { max }) quotes no run: no run breaks a rate by being right', () => {
    const ev = [evidence('random:3', ['quota'], 'r/b.evidence')];
    const [o] = checkExpectations(scenarioWith({ strategy: 'pre-fix', metric: 'quotaCorrect', max: 0.5 }), summary([{ name: 'pre-fix', evidence: ev }]), false);
    expect(o).toEqual({ scenario: CONTROL.name, strategy: 'pre-fix', metric: 'quotaCorrect', name: 'quotaCorrect <= 0.5', actual: 0.75, passed: false, message: 'quotaCorrect is 0.7500, above the maximum 0.5 by 0.2500' });
  });

  it('bounds that hold pass with no message and no run; both bounds of one metric are named', () => {
    const [o] = checkExpectations(scenarioWith({ strategy: 'v1.4.2', metric: 'quotaCorrect', min: 0.75, max: 0.75 }), summary([{ name: 'v1.4.2' }]), false);
    expect(o).toEqual({ scenario: CONTROL.name, strategy: 'v1.4.2', metric: 'quotaCorrect', name: 'quotaCorrect >= 0.75 and quotaCorrect <= 0.75', actual: 0.75, passed: true, message: '' });
  });

  it('a strategy that did not run fails its expectation, unless --strategy left it out; one that crashed fails with its error', () => {
    const s = scenarioWith({ strategy: 'typo', metric: 'quotaCorrect', min: 1 }, { strategy: 'v1.4.2', metric: 'quotaCorrect', min: 0 });
    const [typo, kept] = checkExpectations(s, summary([{ name: 'v1.4.2' }, { name: 'pre-fix' }]), false);
    expect(typo).toMatchObject({ strategy: 'typo', passed: false, message: 'no strategy named "typo" ran (ran: v1.4.2, pre-fix)' });
    expect(Number.isNaN(typo!.actual)).toBe(true);
    expect(kept!.passed).toBe(true);
    expect(checkExpectations(s, summary([{ name: 'v1.4.2' }]), true).map((o) => o.strategy)).toEqual(['v1.4.2']);
    const [crashed] = checkExpectations(scenarioWith({ strategy: 'v1.4.2', metric: 'quotaCorrect', min: 0 }), summary([{ name: 'v1.4.2', error: 'boom at step 3' }]), false);
    expect(crashed).toMatchObject({ passed: false, message: 'the strategy failed with an error: boom at step 3' });
  });

  it('expectations of strategies left out with --strategy are not checked, and every count says so', () => {
    const s = scenarioWith({ strategy: 'pre-fix', metric: 'quotaCorrect', max: 0.5 }, { strategy: 'v1.4.2', metric: 'quotaCorrect', min: 0 }, { strategy: 'skip-autoscaling', metric: 'migrationsSucceeded', min: 1 });
    const ran = summary([{ name: 'v1.4.2' }]);
    const checked = checkExpectations(s, ran, true);
    const skipped = notChecked(s, ran, true);
    expect(skipped).toEqual([
      { strategy: 'pre-fix', name: 'quotaCorrect <= 0.5' },
      { strategy: 'skip-autoscaling', name: 'migrationsSucceeded >= 1' },
    ]);
    // Without --strategy a strategy that did not run is a failure (above), not a skip.
    expect(notChecked(s, ran, false)).toEqual([]);
    expect(scenarioLine(ran, checked, 'r/x.html', skipped)).toBe(`ok  ${CONTROL.name}: 1 of 1 expectations met, 2 not checked (pre-fix, skip-autoscaling not run) · r/x.html`);
    expect(scenarioLine(ran, [], 'r/x.html', skipped)).toBe(`ok  ${CONTROL.name}: no expectations checked, 2 not checked (pre-fix, skip-autoscaling not run) · r/x.html`);
    const xml = junitXml([{ name: CONTROL.name, file: CONTROL.file, expectations: checked, notChecked: skipped }]);
    expect(xml).toContain('<testsuites name="quotarace" tests="3" failures="0" errors="0" skipped="2" time="0">');
    expect(xml).toContain('<skipped message="pre-fix was not run (left out with --strategy)"/>');
    const md = stepSummary([{ summary: ran, expectations: checked, notChecked: skipped }]);
    expect(md).toContain('**✅ 1 scenario, 1 expectation met; 2 not checked (pre-fix, skip-autoscaling not run)**');
    // The row has the terminal table's three rates, invariants broken included (2 of 20 runs).
    expect(md).toContain('| quota correct | migrations ok | invariants broken | expectations |');
    expect(md).toContain(`| ${CONTROL.name} | v1.4.2 | 20 | 75.0% | 75.0% | 10.0% | ✅ 1 passed |`);
    const html = indexReport([{ summary: ran, href: 'x.html', expectations: [], notChecked: skipped }]);
    expect(html).toContain('1 scenario, 0 expectations met, 2 not checked (their strategies not run)');
    expect(html).toContain('no expectations checked, 2 not checked (pre-fix, skip-autoscaling not run)');
  });

  it('an expectation met by an exhaustive search that stopped at --max-runs says so in the line and the step summary', () => {
    const s = scenarioWith({ strategy: 'v1.4.2', metric: 'quotaCorrect', min: 0.5 });
    const incomplete = { selector: 'exhaustive', complete: false, maxRuns: 300 } as unknown as StrategyResult['exploration'];
    const ran = summary([{ name: 'v1.4.2', exploration: incomplete }]);
    const checked = checkExpectations(s, ran, false);
    expect(scenarioLine(ran, checked, 'r/x.html')).toBe(`ok  ${CONTROL.name}: 1 of 1 expectations met (v1.4.2: measured on an incomplete exhaustive search) · r/x.html`);
    expect(stepSummary([{ summary: ran, expectations: checked }])).toContain('| ✅ 1 passed (incomplete exhaustive search) |');
    // A complete search, or a sample, carries no such words.
    const complete = summary([{ name: 'v1.4.2', exploration: { ...incomplete, complete: true } as StrategyResult['exploration'] }]);
    expect(scenarioLine(complete, checkExpectations(s, complete, false), 'r/x.html')).toBe(`ok  ${CONTROL.name}: 1 of 1 expectations met · r/x.html`);
  });

  it('expectationsJson: null for a value that was not measured, a message only when failed', () => {
    const s = scenarioWith({ strategy: 'typo', metric: 'quotaCorrect', min: 1 }, { strategy: 'v1.4.2', metric: 'quotaCorrect', min: 0 });
    const [typo, kept] = expectationsJson(checkExpectations(s, summary([{ name: 'v1.4.2' }]), false));
    expect(typo).toMatchObject({ strategy: 'typo', expectation: 'quotaCorrect >= 1', metric: 'quotaCorrect', actual: null, pass: false, run: null, evidence: null });
    expect(typo!.message).toContain('no strategy named');
    expect(kept).toEqual({ strategy: 'v1.4.2', expectation: 'quotaCorrect >= 0', metric: 'quotaCorrect', actual: 0.75, pass: true, run: null, evidence: null });
  });
});
