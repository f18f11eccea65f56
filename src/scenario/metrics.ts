/**
 * The metrics, one row each, in the order every list of them follows. `name`: the outcome a
 * run can break (sim/outcome.ts brokenMetrics; a campaign's first breaking run per metric).
 * `key`: what a scenario's `expect:` bounds and a strategy's summary reports, a rate (a field
 * of explore/tally.ts StrategySummary). `bound`: the bound a run that breaks the metric pushes
 * the rate past (a wrong quota lowers quotaCorrect below a minimum; an invariant violation
 * raises invariantViolations above a maximum).
 */
export const METRIC_TABLE = [
  { name: 'quota', key: 'quotaCorrect', bound: 'min' },
  { name: 'migrations', key: 'migrationsSucceeded', bound: 'min' },
  { name: 'invariants', key: 'invariantViolations', bound: 'max' },
  { name: 'settled', key: 'settled', bound: 'min' },
] as const;

/** The outcomes a run can break, one per gate metric. */
export type Metric = (typeof METRIC_TABLE)[number]['name'];
export const METRICS: readonly Metric[] = METRIC_TABLE.map((m) => m.name);

/** The rates a scenario's `expect:` may bound. */
export type ExpectMetric = (typeof METRIC_TABLE)[number]['key'];
export const EXPECT_METRICS: readonly ExpectMetric[] = METRIC_TABLE.map((m) => m.key);
