import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load } from '../src/cli/main.js';
import type { ScenarioSummary } from '../src/explore/campaign.js';
import { emptyTally, summarize } from '../src/explore/tally.js';
import { checkExpectations } from '../src/gate/expect.js';
import { stepSummary } from '../src/gate/step-summary.js';
import { strategyMatrix } from '../src/report/matrix.js';
import { builtinStrategy } from '../src/strategies/builtin.js';
import { decimals, percent } from '../src/report/units.js';

/**
 * A rate that is not 1 is never shown as 1, and a shortfall that is not 0 never as 0: a
 * reviewer reading "quotaCorrect is 1.0000, below the minimum 1 by 0.0000" or "100.0%"
 * would act on a verdict the run did not reach.
 */
describe('rates and shortfalls keep the digits that tell them from a bound', () => {
  it('decimals: the asked digits, more only where the rounding would reach a bound the value missed', () => {
    expect(decimals(0.75, 4, [0.8])).toBe('0.7500');
    expect(decimals(20000 / 20001, 4, [1])).toBe('0.99995');
    expect(decimals(1 - 20000 / 20001, 4, [0])).toBe('0.00005');
    expect(decimals(1, 4, [1])).toBe('1.0000');
    expect(decimals(0, 4, [0])).toBe('0.0000');
  });

  it('percent: "100%" and "0%" only when exact', () => {
    expect(percent(0.575)).toBe('57.5%');
    expect(percent(1)).toBe('100.0%');
    expect(percent(0)).toBe('0.0%');
    expect(percent(19999 / 20000)).toBe('99.995%');
    expect(percent(1 / 20000)).toBe('0.01%');
    expect(percent(1 / 2000000)).toBe('0.00005%');
    expect(percent(1 / 3, 0)).toBe('33%');
  });

  const CONTROL = load(join(fileURLToPath(new URL('..', import.meta.url)), 'scenarios', '6-control-no-race.yaml'));
  const t = emptyTally();
  Object.assign(t, { runs: 20001, quotaOk: 20000, moved: 20001, mustMove: 20001, settled: 20001 });
  t.firstBreaking = { quota: 'random:7' };
  const summary: ScenarioSummary = {
    name: CONTROL.name,
    file: CONTROL.file,
    runs: 20001,
    seed: 1,
    explore: 'random',
    strategies: [{ ...summarize('v1.4.2', t), exploration: { selector: 'random' }, evidence: [] }],
  };

  it('the gate: 20,000 of 20,001 against a minimum of 1 says 0.99995, short by 0.00005', () => {
    const [o] = checkExpectations({ ...CONTROL, expect: [{ strategy: 'v1.4.2', metric: 'quotaCorrect', min: 1 }] }, summary, false);
    expect(o!.passed).toBe(false);
    expect(o!.message).toMatch(/^quotaCorrect is 0\.99995, below the minimum 1 by 0\.00005; a run that breaks it: random:7 /);
  });

  it("the step summary and the README matrix never print such a rate as 100%", () => {
    expect(stepSummary([{ summary, expectations: [] }])).toContain('| 99.995% | 100.0% |');
    expect(strategyMatrix([builtinStrategy('v1.4.2')!], [{ name: CONTROL.name, runs: 20001, results: new Map([['v1.4.2', summary.strategies[0]!]]) }])).toContain('| 99.995% / 100% |');
  });
});
