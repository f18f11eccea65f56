import { runPilot } from '../explore/pilot.js';
import { formatRunId, parseRunId, runById, type Pilot, type RunId } from '../explore/run-id.js';
import { formatOutcome } from '../report/outcome.js';
import { Timeline, timelineFilter, traceHash } from '../sim/timeline.js';
import type { Scenario } from '../scenario/model.js';
import type { RunOutcome } from '../sim/outcome.js';
import { DEFAULT_WINDOW_MS } from '../sim/run.js';
import { StrategyFault } from '../strategies/fault.js';
import { isStrategyPath, resolveStrategy, StrategyLoadError } from '../strategies/loader.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { EXIT_FAILED, EXIT_OK, intArg, LIMITS, UsageError, type Io } from './io.js';
import { runSandboxed } from './sandboxed.js';
import { load } from './plans.js';

/** The run a `trace` names: `--run ID`, or `--seed N` (shorthand for random:N, with --window). */
export function traceRunId(args: Record<string, unknown>): RunId {
  if (args.run !== undefined && args.seed !== undefined) throw new UsageError('give either --run ID or --seed N, not both');
  if (args.run !== undefined) {
    if (Array.isArray(args.run)) throw new UsageError('--run expects one run id');
    if (args.window !== undefined) throw new UsageError('--window goes with --seed; a run id carries its own window (e.g. random:w10:7)');
    return parseRunId(String(args.run));
  }
  if (args.seed === undefined) throw new UsageError('trace needs --run ID (as listed under failing runs) or --seed N');
  const seed = intArg('seed', args.seed, 0, LIMITS.seed)!;
  return { explorer: 'random', seed, window: intArg('window', args.window, 0, LIMITS.window) ?? DEFAULT_WINDOW_MS };
}

/**
 * `quotarace trace`: one run as a timeline. The run is rebuilt exactly as the campaign ran
 * it: the strategy's pilot at the run's window, then the run id's selector.
 */
export async function cmdTrace(args: Record<string, unknown>, io: Io): Promise<number> {
  const id = traceRunId(args);
  const only = args.only === undefined ? undefined : timelineFilter(String(args.only));
  if (args.only !== undefined && (!only || Array.isArray(args.only))) throw new UsageError(`--only expects writes, refusals, notes or actor=NAME, got ${String(args.only)}`);
  const scenario = load(String(args.scenario));
  if (Array.isArray(args.strategy)) throw new UsageError('--strategy expects one strategy name');
  // A user's module runs only in a sandbox: the whole trace does.
  if (isMainThread && isStrategyPath(String(args.strategy))) {
    const abs = resolve(String(args.strategy));
    if (!existsSync(abs)) throw new StrategyLoadError(`no strategy module at ${String(args.strategy)}`);
    return runSandboxed(args, io, [abs], `scenario ${scenario.name}, trace of run ${formatRunId(id)}`);
  }
  const strategy = await resolveStrategy(String(args.strategy));
  const timeline = new Timeline();
  const run = formatRunId(id);
  let outcome: RunOutcome;
  let pilot: Pilot;
  try {
    pilot = runPilot(scenario, strategy, id.window);
  } catch (e) {
    if (!(e instanceof StrategyFault)) throw e;
    // The fault is in the pilot, the run that measures the scenario before any other: its timeline up to the fault.
    try {
      runPilot(scenario, strategy, id.window, timeline);
    } catch {
      // The same fault again: the timeline holds what led to it.
    }
    io.out([traceHeader(scenario, strategy.name, `pilot run (seed ${scenario.seed}, window ${id.window}ms), before run ${run}`), `(the strategy faulted in the pilot: the random run at the scenario's seed that measures it before any run; its timeline up to the fault)`, '', timeline.format()].join('\n'));
    io.err(`ERROR ${e.with({ seed: scenario.seed, scenario: scenario.name, run }).describe()}`);
    return EXIT_FAILED;
  }
  try {
    outcome = runById(scenario, strategy, id, pilot, { trace: timeline });
  } catch (e) {
    if (e instanceof StrategyFault) {
      io.out(timeline.format());
      // The fault names the run (runById's run id): the same words `run` printed for it.
      io.err(`ERROR ${e.with({ seed: id.seed, scenario: scenario.name, run }).describe()}`);
      return EXIT_FAILED;
    }
    throw e;
  }
  const shown = timeline.format(only);
  const note = only ? [`(--only ${String(args.only)}: ${shown ? shown.split('\n').length : 0} of ${timeline.entries.length} lines)`] : [];
  // The hash of the whole trace (even under --only): the report names the unshrunk run of a failure by it.
  io.out([traceHeader(scenario, strategy.name, `run ${run}  seed ${id.seed}  window ${id.window}ms`), `trace sha256 ${traceHash(timeline)}`, ...note, '', shown, '', formatOutcome(outcome)].join('\n'));
  return EXIT_OK;
}

export function traceHeader(scenario: Scenario, strategy: string, how: string, horizonMs = scenario.horizonMs): string {
  const lat = Object.entries(scenario.latencies)
    .map(([k, r]) => `${k}=[${r.min}ms,${r.max}ms]`)
    .join(' ');
  return [
    `scenario ${scenario.name} (${scenario.file}, sha256 ${scenario.hash.slice(0, 12)})`,
    `strategy ${strategy}  ${how}  horizon ${horizonMs / 1000}s`,
    `latencies ${lat}`,
  ].join('\n');
}
