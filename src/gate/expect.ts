import type { ScenarioSummary } from '../explore/campaign.js';
import type { ExpectationOutcome, NotChecked } from '../report/html.js';
import type { Scenario } from '../scenario/model.js';
import { METRIC_TABLE, type ExpectMetric, type Metric } from '../scenario/metrics.js';
import { shellQuote } from '../base/shell.js';
import { replayCommand } from '../report/files.js';
import { decimals } from '../report/units.js';

/** The outcome each gate metric counts, and which bound a run breaking it pushes past. */
const BREAKS = Object.fromEntries(METRIC_TABLE.map((m) => [m.key, { metric: m.name, bound: m.bound }])) as Record<ExpectMetric, { metric: Metric; bound: 'min' | 'max' }>;

/**
 * The CI gate: a scenario's `expect:` bounds checked against what the campaign measured.
 * A failed bound says by how much and which evidence file shows a failing run.
 */
/** `moduleOf`: a strategy's module path (as the user would type it), for modules; its replay command allows it. */
export function checkExpectations(scenario: Scenario, summary: ScenarioSummary, chosenOnCommandLine: boolean, moduleOf: (strategy: string) => string | undefined = () => undefined): ExpectationOutcome[] {
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
    let broken: 'min' | 'max' | undefined;
    if (e.min !== undefined && actual < e.min) {
      message = `${e.metric} is ${decimals(actual, 4, [e.min])}, below the minimum ${e.min} by ${decimals(e.min - actual, 4, [0])}`;
      broken = 'min';
    } else if (e.max !== undefined && actual > e.max) {
      message = `${e.metric} is ${decimals(actual, 4, [e.max])}, above the maximum ${e.max} by ${decimals(actual - e.max, 4, [0])}`;
      broken = 'max';
    }
    // Quote a run that breaks *this* metric (for quotaCorrect: a run whose final quota is
    // wrong), with its evidence; not merely the first run that failed in some way.
    const b = BREAKS[e.metric];
    const run = message && broken === b.bound ? st.firstBreaking[b.metric] : undefined;
    const ev = run ? st.evidence.find((x) => x.run === run && x.breaks.includes(b.metric)) : undefined;
    if (run) {
      message += ev
        ? `; a run that breaks it: ${run}, evidence ${ev.path} (replay it with: ${replayCommand(ev.path, moduleOf(st.name))})`
        : `; a run that breaks it: ${run} (trace it with: quotarace trace ${shellQuote(scenario.file)} --strategy ${shellQuote(st.name)} --run ${shellQuote(run)})`;
    }
    out.push({ scenario: summary.name, strategy: e.strategy, metric: e.metric, name, actual, passed: !message, message, ...(run ? { run } : {}), ...(ev ? { evidence: ev.path, replay: replayCommand(ev.path, moduleOf(st.name)) } : {}) });
  }
  return out;
}

/** The scenario's expectations of strategies left out with --strategy (checkExpectations skips them). */
export function notChecked(scenario: Scenario, summary: ScenarioSummary, chosenOnCommandLine: boolean): NotChecked[] {
  if (!chosenOnCommandLine) return [];
  const ran = new Set(summary.strategies.map((s) => s.name));
  return scenario.expect.filter((e) => !ran.has(e.strategy)).map((e) => ({ strategy: e.strategy, name: [e.min !== undefined ? `${e.metric} >= ${e.min}` : '', e.max !== undefined ? `${e.metric} <= ${e.max}` : ''].filter(Boolean).join(' and ') }));
}

/** The gate's results as they appear in `--json` output. */
export function expectationsJson(expectations: readonly ExpectationOutcome[]): Array<Record<string, unknown>> {
  return expectations.map((e) => ({
    strategy: e.strategy,
    expectation: e.name,
    metric: e.metric,
    actual: Number.isFinite(e.actual) ? e.actual : null,
    pass: e.passed,
    run: e.run ?? null,
    evidence: e.evidence ?? null,
    ...(e.passed ? {} : { message: e.message }),
  }));
}

