import { brokenMetrics, failed, failureKind, METRICS, type Metric, type RunOutcome } from '../sim/outcome.js';

/** How many failing runs a summary lists, for `quotarace trace --run`. */
const FAILING_RUNS_KEPT = 5;

/** Per-strategy totals as they appear in the JSON output and the table. */
export interface StrategySummary {
  name: string;
  runs: number;
  /** Fraction of runs whose final quota is what the user asked for. */
  quotaCorrect: number;
  /** VMs that moved over VMs that had to move, over all runs. */
  migrationsSucceeded: number;
  /** The counts behind migrationsSucceeded. */
  vmsMoved: number;
  vmsToMove: number;
  /** Fraction of runs with an invariant violated past its grace period. */
  invariantViolations: number;
  /** Fraction of runs that settled before the horizon. */
  settled: number;
  /** Means per run. */
  targetPodsRejectedByQuota: number;
  conflicts: number;
  editsRefused: number;
  /** Per run: quota keys whose latest wish was refused for good as below what is used (not counted as wrong). */
  editsRefusedForGood: number;
  agentRestarts: number;
  /** Drain time in seconds over the runs where every drain finished; null if none did. */
  drainSeconds: { mean: number; max: number } | null;
  /** Runs where a drained node never emptied. */
  drainsUnfinished: number;
  /** The first failing runs' ids (quota wrong, a VM not moved, or an invariant broken). */
  failingRuns: string[];
  /** Distinct failures: signature → how many runs, the first run's id, the metrics it breaks. */
  failures: FailureGroup[];
  /**
   * Per metric, the first run (in run order) that breaks it: a wrong quota, a VM not moved,
   * an invariant broken, or (settled) the horizon reached while still busy. The gate quotes it.
   */
  firstBreaking: Partial<Record<Metric, string>>;
  /**
   * Runs the scenario's horizon stopped still busy (RunOutcome.ended 'horizon': neither settled
   * nor quiescent nor stuck). Their verdict judges a cluster mid-work: a migration that was
   * still running counts as not moved, a quota still raised for it as wrong.
   */
  endedAtHorizon: number;
  /** Of those, the runs judged failing. */
  failingAtHorizon: number;
}

export interface FailureGroup {
  signature: string;
  runs: number;
  firstRun: string;
  /** The outcomes every run of this kind breaks (quota, migrations, invariants). */
  breaks: Metric[];
}

/**
 * Integer sums over runs: merging two tallies in seed order gives exactly the tally of the
 * runs together, so worker counts and shards cannot change a digit of the output.
 */
export interface TallyState {
  runs: number;
  quotaOk: number;
  moved: number;
  mustMove: number;
  settled: number;
  violations: number;
  rejected: number;
  conflicts: number;
  refused: number;
  /** Wishes still refused at the end because they ask for less than the namespace uses (judged against the last accepted one). */
  refusedForGood: number;
  restarts: number;
  drainSum: number;
  drainMax: number;
  drainRuns: number;
  drainUnfinished: number;
  failing: string[];
  groups: FailureGroup[];
  firstBreaking: Partial<Record<Metric, string>>;
  /**
   * Per run, in seed order: '1' if the quota ended correct, else '0'; and the same for
   * "every VM that had to move did". Kept to compare strategies run by run on the same
   * seeds (the paired difference in the report); a byte per run.
   */
  quotaBits: string;
  moveBits: string;
  /** Runs that ended at the horizon still busy (RunOutcome.ended 'horizon'), and of them the failing ones. */
  horizon: number;
  horizonFailing: number;
}

export function emptyTally(): TallyState {
  return {
    runs: 0,
    quotaOk: 0,
    moved: 0,
    mustMove: 0,
    settled: 0,
    violations: 0,
    rejected: 0,
    conflicts: 0,
    refused: 0,
    refusedForGood: 0,
    restarts: 0,
    drainSum: 0,
    drainMax: 0,
    drainRuns: 0,
    drainUnfinished: 0,
    failing: [],
    groups: [],
    firstBreaking: {},
    quotaBits: '',
    moveBits: '',
    horizon: 0,
    horizonFailing: 0,
  };
}

/** Add one run, named by its run id (see run-id.ts). */
export function addRun(t: TallyState, o: RunOutcome, runId: string): void {
  t.runs++;
  t.quotaBits += o.quotaCorrect ? '1' : '0';
  t.moveBits += o.moved >= o.mustMove ? '1' : '0';
  if (o.quotaCorrect) t.quotaOk++;
  t.moved += o.moved;
  t.mustMove += o.mustMove;
  if (o.settled) t.settled++;
  if (o.violation) t.violations++;
  const c = o.counters;
  t.rejected += c.targetPodsRejectedByQuota;
  t.conflicts += c.conflicts;
  t.refused += c.editsRefused;
  for (const q of o.quota) if (q.refusedWish !== undefined) t.refusedForGood++;
  t.restarts += c.agentRestarts;
  if (c.drainMs >= 0) {
    t.drainRuns++;
    t.drainSum += c.drainMs;
    t.drainMax = Math.max(t.drainMax, c.drainMs);
  } else if (o.mustMove > 0 && o.moved < o.mustMove) t.drainUnfinished++;
  for (const m of brokenMetrics(o)) t.firstBreaking[m] ??= runId;
  if (o.ended === 'horizon') {
    t.horizon++;
    if (failed(o)) t.horizonFailing++;
  }
  if (failed(o)) {
    if (t.failing.length < FAILING_RUNS_KEPT) t.failing.push(runId);
    const sig = failureKind(o);
    const g = t.groups.find((x) => x.signature === sig);
    if (g) g.runs++;
    else t.groups.push({ signature: sig, runs: 1, firstRun: runId, breaks: brokenMetrics(o).filter((m) => m !== 'settled') });
  }
}

/** `b` covers later seeds than `a`. */
export function mergeTally(a: TallyState, b: TallyState): TallyState {
  const groups = a.groups.map((g) => ({ ...g }));
  const firstBreaking: Partial<Record<Metric, string>> = {};
  for (const m of METRICS) {
    const r = a.firstBreaking[m] ?? b.firstBreaking[m];
    if (r !== undefined) firstBreaking[m] = r;
  }
  for (const g of b.groups) {
    const x = groups.find((y) => y.signature === g.signature);
    if (x) x.runs += g.runs;
    else groups.push({ ...g });
  }
  return {
    runs: a.runs + b.runs,
    quotaOk: a.quotaOk + b.quotaOk,
    moved: a.moved + b.moved,
    mustMove: a.mustMove + b.mustMove,
    settled: a.settled + b.settled,
    violations: a.violations + b.violations,
    rejected: a.rejected + b.rejected,
    conflicts: a.conflicts + b.conflicts,
    refused: a.refused + b.refused,
    refusedForGood: a.refusedForGood + b.refusedForGood,
    restarts: a.restarts + b.restarts,
    drainSum: a.drainSum + b.drainSum,
    drainMax: Math.max(a.drainMax, b.drainMax),
    drainRuns: a.drainRuns + b.drainRuns,
    drainUnfinished: a.drainUnfinished + b.drainUnfinished,
    failing: [...a.failing, ...b.failing].slice(0, FAILING_RUNS_KEPT),
    groups,
    firstBreaking,
    quotaBits: a.quotaBits + b.quotaBits,
    moveBits: a.moveBits + b.moveBits,
    horizon: a.horizon + b.horizon,
    horizonFailing: a.horizonFailing + b.horizonFailing,
  };
}

export function summarize(name: string, t: TallyState): StrategySummary {
  const n = Math.max(1, t.runs);
  // Exact fractions, not rounded: the gate compares them, and one failure in 20,001 runs must
  // not round to 1. (IEEE division is the same on every machine, so JSON stays byte-identical.)
  return {
    name,
    runs: t.runs,
    quotaCorrect: t.quotaOk / n,
    migrationsSucceeded: t.mustMove === 0 ? 1 : t.moved / t.mustMove,
    vmsMoved: t.moved,
    vmsToMove: t.mustMove,
    invariantViolations: t.violations / n,
    settled: t.settled / n,
    targetPodsRejectedByQuota: t.rejected / n,
    conflicts: t.conflicts / n,
    editsRefused: t.refused / n,
    editsRefusedForGood: t.refusedForGood / n,
    agentRestarts: t.restarts / n,
    drainSeconds: t.drainRuns ? { mean: t.drainSum / t.drainRuns / 1000, max: t.drainMax / 1000 } : null,
    drainsUnfinished: t.drainUnfinished,
    failingRuns: t.failing.slice(),
    failures: t.groups.map((g) => ({ ...g, breaks: g.breaks.slice() })),
    firstBreaking: { ...t.firstBreaking },
    endedAtHorizon: t.horizon,
    failingAtHorizon: t.horizonFailing,
  };
}
