import type { Scenario } from '../scenario/model.js';
import type { Strategy } from '../strategies/api.js';
import type { RecordedRun } from './evidence-job.js';
import type { ExhaustiveJob, ExhaustiveResult, ExploreMode, FaultResult, JobBase, PrepareJob, PrepareResult, RunsJob } from './jobs.js';
import { formatRunId, runById } from './run-id.js';
import type { Metric } from '../sim/outcome.js';
import { bundleOf, isUserStrategy, loadFaultOf, strategyRef } from '../strategies/loader.js';
import { StrategyFault } from '../strategies/fault.js';
import { runPilot } from './pilot.js';
import type { Pilot } from './run-id.js';
import { sandboxChunk, type WorkerPool } from './pool.js';
import { addRun, emptyTally, mergeTally, summarize, type StrategySummary, type TallyState } from './tally.js';
import { DEFAULT_WINDOW_MS } from '../sim/run.js';
import { withoutChoiceLog } from '../kernel/choice.js';
import { coverageOfPoints, type ExhaustiveCoverage } from './exhaustive.js';

export type { StrategySummary } from './tally.js';

export interface CampaignOptions {
  readonly runs: number;
  readonly seed: number;
  readonly mode: ExploreMode;
  /** PCT's bug depth d. */
  readonly depth: number;
  /** Exhaustive: stop after this many runs (complete or not). */
  readonly maxRuns: number;
  /** Exhaustive: only runs of at most this many delays (see explore/exhaustive.ts); undefined: all. */
  readonly delays?: number;
  /** Exhaustive without a delay bound: 'none' searches every option (no DPOR), to cross-check DPOR. */
  readonly reduction?: 'none';
  /** Exhaustive: search latency points 0 … latencyPoints − 1, each on its own (exhaustive.ts fixedDraw); undefined: point 0 only. */
  readonly latencyPoints?: number;
  readonly window: number;
  /** Distinct failures per strategy that get shrunk evidence (the rest are counted). */
  readonly evidenceLimit: number;
  readonly shrinkBudget: number;
}

export const DEFAULT_CAMPAIGN: Omit<CampaignOptions, 'runs' | 'seed'> = {
  mode: 'random',
  depth: 3,
  maxRuns: 10_000,
  window: DEFAULT_WINDOW_MS,
  evidenceLimit: 10,
  shrinkBudget: 400,
};

export type Exploration =
  | { selector: 'random' }
  | { selector: 'pct'; depth: number; actors: number; choices: number; missBound: number; runsFor5Percent: number | null; guarantee: string }
  | { selector: 'exhaustive'; complete: boolean; interleavings: number; pruned: number; summary: string; /** Set when the search stopped incomplete: the --max-runs it stopped at. */ maxRuns?: number; reduction?: 'none'; delays?: number; delaysComplete?: number; latencyPoints?: number; incompletePoints?: number[]; pointsDelaysComplete?: number[] };

export interface EvidenceFile {
  /** reports/<scenario>/<strategy>/<name>.evidence */
  path: string;
  /** The id of the run it shows (before shrinking). */
  run: string;
  /** The metrics it breaks: quota, migrations, invariants, settled. */
  breaks: Metric[];
  failure: string;
  /** Runs that failed this way. */
  runs: number;
  stepsBefore: number;
  stepsAfter: number;
  deterministic: boolean;
  determinism: string;
  /** sha256 of the shown (shrunk) run's whole trace: what `replay` of the file prints. */
  traceSha256: string;
}

export interface StrategyResult extends StrategySummary {
  exploration: Exploration;
  evidence: EvidenceFile[];
  /** Set when the strategy misbehaved: what, where (scenario, seed, step). */
  error?: string;
}

export interface ScenarioSummary {
  name: string;
  file: string;
  runs: number;
  seed: number;
  explore: ExploreMode;
  strategies: StrategyResult[];
}

export interface EvidenceOut {
  readonly path: string;
  readonly text: string;
}

/** One strategy's runs, before evidence: what a shard computes and `merge` combines. */
export interface StrategyTally {
  readonly strategy: string;
  readonly tally: TallyState;
  /** The strategy misbehaved (the first fault by seed); no numbers for it. */
  readonly fault?: FaultResult['fault'];
  /** The strategy's pilot run, computed once (phase 1) and reused by phase 2 and `merge`. */
  readonly pilot?: Pilot;
  /** Exhaustive only: the coverage. */
  readonly exhaustive?: ExhaustiveCoverage;
}

export interface FailureReport {
  readonly strategy: string;
  readonly evidencePath: string;
  readonly run: string;
  readonly failure: string;
  readonly runs: number;
  readonly recorded: RecordedRun;
}

/** What a campaign reports as it goes (the CLI's progress line): each phase, per strategy. */
export interface CampaignProgress {
  /** The strategy's pilot run and determinism checks begin. */
  pilot?(strategy: string): void;
  /** Jobs of the strategy's runs done, of total. */
  runs?(strategy: string, done: number, total: number): void;
  /** Jobs of the strategy's shrinking and evidence done, of total. */
  evidence?(strategy: string, done: number, total: number): void;
}

export interface ScenarioResult {
  readonly summary: ScenarioSummary;
  readonly files: EvidenceOut[];
  readonly bits: Map<string, { quota: string; move: string }>;
  /** The most telling failure of each strategy: its first (largest-first) evidence. */
  readonly failures: FailureReport[];
  /** Each evidence file's run as its job recorded it (by evidence path): what the report shows. */
  readonly recorded: ReadonlyMap<string, RecordedRun>;
}

export function jobBase(scenario: Scenario, scenarioText: string, strategy: Strategy, pilot: Pilot): JobBase {
  const ref = strategyRef(strategy);
  const bundle = bundleOf(ref);
  return { scenarioText, scenarioFile: scenario.file, strategy: ref, strategyName: strategy.name, scenarioName: scenario.name, ...(bundle ? { bundle } : {}), pilot };
}

/** The strategy's determinism checks and pilot run: in a sandbox for a user strategy. */
export async function prepareStrategy(scenario: Scenario, scenarioText: string, strategy: Strategy, window: number, pool: WorkerPool): Promise<PrepareResult> {
  const loadFault = loadFaultOf(strategy);
  if (loadFault !== undefined) return { fault: new StrategyFault(strategy.name, loadFault, undefined, undefined, scenario.name).toJSON() };
  const { pilot: _, ...base } = jobBase(scenario, scenarioText, strategy, undefined as unknown as Pilot);
  const [r] = await pool.run<PrepareResult>([{ ...base, type: 'prepare', window }]);
  return r!;
}

/**
 * A built-in strategy's seeds [from, to) cut into jobs (on trusted workers, chunks merge
 * exactly whatever their sizes, so this sets speed only). Guided: each chunk is a quarter of
 * an even share of the seeds still left per worker, so chunks shrink as the campaign nears
 * its end, and the last ones to finish leave the other workers idle for a run or two, not
 * for half a large chunk. At least 4 runs (a job's message and merge cost well under one
 * run), at most 64 (about half a second: the progress bar moves).
 */
export function builtinChunks(from: number, to: number, workers: number): Array<{ from: number; to: number }> {
  const out: Array<{ from: number; to: number }> = [];
  const share = Math.max(1, workers) * 4;
  for (let at = from; at < to; ) {
    const size = Math.min(64, Math.max(4, Math.ceil((to - at) / share)));
    out.push({ from: at, to: Math.min(to, at + size) });
    at += size;
  }
  return out;
}

/**
 * A built-in strategy's runs on workers, its determinism checks (the prepare job) first in
 * the same batch. The result is the one prepare-then-runs gives: a fault of the checks is the
 * strategy's fault (the first by job order, as a failed prepare's was), and the pilot the
 * chunks used must be the one the checks computed, else this is our bug, not a result.
 */
async function checkedRuns(
  scenario: Scenario,
  scenarioText: string,
  strategy: Strategy,
  pilot: Pilot,
  opts: CampaignOptions,
  pool: WorkerPool,
  range: { from: number; to: number },
  progress?: CampaignProgress,
): Promise<StrategyTally> {
  const base = jobBase(scenario, scenarioText, strategy, pilot);
  const { pilot: _, ...prepare } = base;
  const jobs: Array<RunsJob | PrepareJob> = [{ ...prepare, type: 'prepare', window: opts.window }];
  for (const { from, to } of builtinChunks(range.from, range.to, pool.size)) jobs.push({ ...base, type: 'runs', mode: opts.mode as RunsJob['mode'], depth: opts.depth, window: opts.window, from, to });
  const [checked, ...tallies] = await pool.run<PrepareResult | TallyState | FaultResult>(jobs, progress?.runs && ((d, t) => progress.runs!(strategy.name, d, t)));
  if ('fault' in checked!) return { strategy: strategy.name, tally: emptyTally(), fault: checked.fault };
  if (JSON.stringify((checked as { pilot: Pilot }).pilot) !== JSON.stringify(pilot)) throw new Error(`internal error: ${strategy.name}'s pilot run differs between this thread and its worker`);
  let tally = emptyTally();
  for (const t of tallies as Array<TallyState | FaultResult>) {
    if ('fault' in t) return { strategy: strategy.name, tally: emptyTally(), fault: t.fault };
    tally = mergeTally(tally, t);
  }
  return { strategy: strategy.name, tally, pilot };
}

/**
 * Phase 1: run the seeds [from, to) of every strategy (the whole campaign, or one shard's
 * share), aggregated in seed order whatever the number of workers.
 */
export async function tallyScenario(
  scenario: Scenario,
  scenarioText: string,
  strategies: readonly Strategy[],
  opts: CampaignOptions,
  pool: WorkerPool,
  range: { from: number; to: number },
  progress?: CampaignProgress,
): Promise<StrategyTally[]> {
  const out: StrategyTally[] = [];
  for (const strategy of strategies) {
    progress?.pilot?.(strategy.name);
    const overlap = opts.mode !== 'exhaustive' && !isUserStrategy(strategy) && pool.size > 1 && loadFaultOf(strategy) === undefined;
    if (overlap) {
      // A built-in on workers: only the pilot run is needed before the chunks (they read its
      // window counts); it runs in this thread while the workers start, and the determinism
      // checks run as the batch's first job, beside the first chunks instead of before them.
      pool.warm(1 + builtinChunks(range.from, range.to, pool.size).length);
      let pilot: Pilot | undefined;
      try {
        pilot = runPilot(scenario, strategy, opts.window);
      } catch {
        // The prepare job below reports it, as it always did.
      }
      if (pilot) {
        out.push(await checkedRuns(scenario, scenarioText, strategy, pilot, opts, pool, range, progress));
        continue;
      }
    }
    const prepared = await prepareStrategy(scenario, scenarioText, strategy, opts.window, pool);
    if ('fault' in prepared) {
      out.push({ strategy: strategy.name, tally: emptyTally(), fault: prepared.fault });
      continue;
    }
    const pilot = prepared.pilot;
    const base = jobBase(scenario, scenarioText, strategy, pilot);
    if (opts.mode === 'exhaustive') {
      // One job per latency point (each a search of its own, in parallel): the bar counts points
      // (a search reports nothing in between). Merged in point order, so any --workers gives one result.
      const points = opts.latencyPoints ?? 1;
      progress?.runs?.(strategy.name, 0, points);
      const jobs: ExhaustiveJob[] = [];
      for (let p = 0; p < points; p++) jobs.push({ ...base, type: 'exhaustive', window: opts.window, maxRuns: opts.maxRuns, seed: opts.seed, ...(opts.delays !== undefined ? { delays: opts.delays } : {}), ...(opts.reduction ? { reduction: opts.reduction } : {}), ...(p ? { latencyPoint: p } : {}) });
      const rs = await pool.run<ExhaustiveResult>(jobs, progress?.runs && ((d, t) => progress.runs!(strategy.name, d, t)));
      // A fault is the lowest faulted point's (rs is in point order, whatever --workers): its run id names the point.
      const faulted = rs.find((r): r is FaultResult => 'fault' in r);
      if (faulted) out.push({ strategy: strategy.name, tally: emptyTally(), fault: faulted.fault });
      else {
        const done = rs as Array<Exclude<ExhaustiveResult, FaultResult>>;
        out.push({ strategy: strategy.name, tally: done.slice(1).reduce((t, r) => mergeTally(t, r.tally), done[0]!.tally), pilot, exhaustive: coverageOfPoints(done.map((r) => r.exhaustive)) });
      }
      continue;
    }
    // A module's chunks are the same for any --workers (each runs in a fresh worker); built-ins' are merged exactly whatever their size.
    const jobs: RunsJob[] = [];
    const mode = opts.mode;
    if (isUserStrategy(strategy)) {
      const chunk = sandboxChunk(range.to - range.from);
      for (let from = range.from; from < range.to; from += chunk) jobs.push({ ...base, type: 'runs', mode, depth: opts.depth, window: opts.window, from, to: Math.min(range.to, from + chunk) });
    } else for (const { from, to } of builtinChunks(range.from, range.to, pool.size)) jobs.push({ ...base, type: 'runs', mode, depth: opts.depth, window: opts.window, from, to });
    let tally = emptyTally();
    let fault: FaultResult['fault'] | undefined;
    for (const t of await pool.run<TallyState | FaultResult>(jobs, progress?.runs && ((d, t) => progress.runs!(strategy.name, d, t)))) {
      if ('fault' in t) fault ??= t.fault;
      else if (!fault) tally = mergeTally(tally, t);
    }
    out.push(fault ? { strategy: strategy.name, tally: emptyTally(), fault } : { strategy: strategy.name, tally, pilot });
  }
  return out;
}

/**
 * The default exploration of one scenario in this thread, without evidence: what tests
 * and benchmarks call. Same numbers as `quotarace run --explore random --no-evidence`.
 */
export function runPlain(scenario: Scenario, strategies: readonly Strategy[], runs: number, seed: number, window = DEFAULT_WINDOW_MS): StrategySummary[] {
  return strategies.map((strategy) => {
    const pilot = runPilot(scenario, strategy, window);
    const t = emptyTally();
    for (let s = seed; s < seed + runs; s++) {
      const id = { explorer: 'random', seed: s, window } as const;
      addRun(t, runById(scenario, strategy, id, pilot, { inspect: withoutChoiceLog }), formatRunId(id));
    }
    return summarize(strategy.name, t);
  });
}
