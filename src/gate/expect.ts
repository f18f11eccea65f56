import type { ScenarioSummary } from '../explore/campaign.js';
import type { ExpectationOutcome } from '../report/html.js';
import type { Scenario } from '../scenario/model.js';

/**
 * The CI gate: a scenario's `expect:` bounds checked against what the campaign measured.
 * A failed bound says by how much and which evidence file shows a failing run.
 */
export function checkExpectations(scenario: Scenario, summary: ScenarioSummary, chosenOnCommandLine: boolean): ExpectationOutcome[] {
  const out: ExpectationOutcome[] = [];
  for (const e of scenario.expect) {
    const parts: string[] = [];
    if (e.min !== undefined) parts.push(`${e.metric} >= ${e.min}`);
    if (e.max !== undefined) parts.push(`${e.metric} <= ${e.max}`);
    const name = parts.join(' and ');
    const st = summary.strategies.find((s) => s.name === e.strategy);
    if (!st) {
      // Left out with --strategy: not this run's question. Otherwise the name matches no
      // strategy the scenario runs (a typo, or a module whose name differs): that must not pass.
      if (!chosenOnCommandLine) {
        out.push({ scenario: summary.name, strategy: e.strategy, metric: e.metric, name, actual: Number.NaN, passed: false, message: `no strategy named "${e.strategy}" ran (ran: ${summary.strategies.map((s) => s.name).join(', ')})` });
      }
      continue;
    }
    if (st.error) {
      out.push({ scenario: summary.name, strategy: e.strategy, metric: e.metric, name, actual: Number.NaN, passed: false, message: `the strategy failed with an error: ${st.error}` });
      continue;
    }
    const actual = st[e.metric];
    let message = '';
    if (e.min !== undefined && actual < e.min) message = `${e.metric} is ${actual.toFixed(4)}, below the minimum ${e.min} by ${(e.min - actual).toFixed(4)}`;
    else if (e.max !== undefined && actual > e.max) message = `${e.metric} is ${actual.toFixed(4)}, above the maximum ${e.max} by ${(actual - e.max).toFixed(4)}`;
    if (message) {
      const shows = { quotaCorrect: 'quota', migrationsSucceeded: 'stuck', invariantViolations: 'invariant', settled: '' }[e.metric];
      const ev = st.evidence.find((x) => shows && x.failure.includes(shows)) ?? st.evidence[0];
      message += ev ? `; a failing run: ${ev.path} (replay it with: quotarace replay ${ev.path})` : st.failingSeeds.length ? `; failing seeds ${st.failingSeeds.join(' ')}` : '';
    }
    out.push({ scenario: summary.name, strategy: e.strategy, metric: e.metric, name, actual, passed: !message, message });
  }
  return out;
}
