import { parseScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import type { Metric } from '../sim/outcome.js';
import type { StrategyFault } from '../strategies/fault.js';
import type { Pilot } from './run-id.js';
import { formatRunId, type RunId } from './run-id.js';
import type { TallyState } from './tally.js';
import type { ExhaustiveCoverage } from './exhaustive.js';

/**
 * The workers' jobs and their results: what crosses a worker boundary. handle-job.ts runs
 * them; determinism.ts and evidence-job.ts hold the checks and the evidence they run.
 */

export type ExploreMode = 'random' | 'pct' | 'exhaustive';

/** What a worker needs to rebuild the scenario and strategy on its own. */
export interface JobBase {
  readonly scenarioText: string;
  readonly scenarioFile: string;
  /** A built-in's name, or a strategy module's absolute path. */
  readonly strategy: string;
  /** For messages: the strategy's and the scenario's names. */
  readonly strategyName?: string;
  readonly scenarioName?: string;
  /** A strategy module's bundle, made once by the main thread. */
  readonly bundle?: string;
  /** The strategy's pilot run (windowWrites, PCT's n and k), computed once per scenario. */
  readonly pilot: Pilot;
}

/** Before a campaign: the determinism checks and the pilot run. */
export interface PrepareJob extends Omit<JobBase, 'pilot'> {
  readonly type: 'prepare';
  readonly window: number;
}

/** A whole exhaustive exploration (one job: it has no seeds to split). */
export interface ExhaustiveJob extends JobBase {
  readonly type: 'exhaustive';
  readonly window: number;
  readonly maxRuns: number;
  readonly seed: number;
  /** A delay bound (--delays). */
  readonly delays?: number;
  /** --reduction none: the unbounded search without DPOR. */
  readonly reduction?: 'none';
  /** The latency point searched (exhaustive.ts fixedDraw); 0 when absent. */
  readonly latencyPoint?: number;
}

/** Load a strategy module in a sandbox: its name and description, or why it is not one. */
export interface DescribeJob {
  readonly type: 'describe';
  readonly strategy: string;
  readonly bundle?: string;
}

/** A whole command (trace, replay) of a user strategy, run in a sandbox. */
export interface CommandJob {
  readonly type: 'command';
  readonly argv: readonly string[];
  /** Strategy modules and their bundles, made by the main thread. */
  readonly bundles: ReadonlyArray<readonly [string, string]>;
}

/** The seeds [from, to) of a random or PCT campaign. */
export interface RunsJob extends JobBase {
  readonly type: 'runs';
  readonly mode: 'random' | 'pct';
  readonly depth: number;
  readonly window: number;
  readonly from: number;
  readonly to: number;
}

export interface EvidenceJob extends JobBase {
  readonly type: 'evidence';
  /** The run id (see run-id.ts) of the run to re-run, shrink and save. */
  readonly run: string;
  /**
   * 'settled': the run is the example of an unsettled run, and shrinking must keep it
   * unsettled as well as failing the same way.
   */
  readonly metric?: Metric;
  readonly alsoFailing: string;
  readonly shrinkBudget: number;
}

export type Job = RunsJob | EvidenceJob | PrepareJob | ExhaustiveJob | DescribeJob | CommandJob;

export type DescribeResult = { name: string; description: string } | { loadError: string } | FaultResult;
export type PrepareResult = { pilot: Pilot } | FaultResult;
export type ExhaustiveResult = { tally: TallyState; exhaustive: ExhaustiveCoverage } | FaultResult;
export interface CommandResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** The run a sandboxed job was at (its `index`th), for naming a worker that had to be stopped. */
export function jobRunId(job: Job, index: number): string | undefined {
  switch (job.type) {
    case 'runs':
      return index >= 0 ? formatRunId(campaignRunId(job, job.from + index)) : undefined;
    case 'evidence':
      return job.run;
    case 'prepare':
      return index >= 0 ? `${formatRunId({ explorer: 'random', seed: parseScenarioSeed(job), window: job.window })}, determinism check and pilot` : 'loading the module';
    case 'exhaustive':
      // Not a run id (the run's branches stay in the worker): its number in the search, and the point.
      return index >= 0 ? `#${index + 1} of the exhaustive search${job.latencyPoint ? ` at latency point ${job.latencyPoint}` : ''}` : undefined;
    case 'describe':
      return 'loading the module';
    default:
      return undefined;
  }
}

function parseScenarioSeed(job: Omit<JobBase, 'pilot'>): number {
  try {
    return scenarioOf(job).seed;
  } catch {
    return 0;
  }
}

const scenarios = new Map<string, Scenario>();

/** The job's scenario, parsed once per worker. */
export function scenarioOf(job: Omit<JobBase, 'pilot'>): Scenario {
  const key = `${job.scenarioFile}\n${job.scenarioText}`;
  let s = scenarios.get(key);
  if (!s) {
    s = parseScenario(job.scenarioText, job.scenarioFile, () => true);
    scenarios.set(key, s);
  }
  return s;
}

/** A strategy fault as it crosses a worker boundary. */
export interface FaultResult {
  readonly fault: ReturnType<StrategyFault['toJSON']>;
}

/** The id of seed `seed` of a random or PCT campaign. */
export function campaignRunId(job: Pick<RunsJob, 'mode' | 'depth' | 'window'>, seed: number): RunId {
  return job.mode === 'pct' ? { explorer: 'pct', depth: job.depth, seed, window: job.window } : { explorer: 'random', seed, window: job.window };
}

