import { RandomSelector, ReplaySelector, withoutChoiceLog } from '../kernel/choice.js';
import type { Scenario } from '../scenario/model.js';
import { failureKind, type RunOutcome } from '../sim/outcome.js';
import { runOnce } from '../sim/run.js';
import { firstDifference, Timeline } from '../sim/timeline.js';
import type { Strategy } from '../strategies/api.js';
import { StrategyFault } from '../strategies/fault.js';
import { loadStrategyFile } from '../strategies/loader.js';
import { campaignRunId, scenarioOf, type PrepareJob, type RunsJob } from './jobs.js';
import { formatRunId, runById } from './run-id.js';
import type { RunSpec } from './shrink.js';

/**
 * The determinism checks: a model or strategy that is not a function of its inputs (a clock,
 * Math.random, a global counter, iteration over something unordered) is caught before its
 * numbers or its evidence are believed.
 */

export interface TracedRun {
  readonly text: string;
  readonly outcome: RunOutcome;
  readonly timeline: Timeline;
}

/**
 * The determinism self-check run before evidence is saved: two strict replays of the same
 * choices must print the same trace and fail the same way. A mismatch means the model or
 * the strategy is not a function of its inputs (a global counter, Math.random, iteration
 * over something unordered), and the evidence could not be trusted.
 */
export function checkDeterminism(spec: RunSpec, sizes: readonly number[]): { deterministic: boolean; detail: string; run: TracedRun | undefined } {
  const traced = (): TracedRun => {
    const timeline = new Timeline();
    const outcome = runOnce(spec.scenario, spec.strategy, spec.seed, {
      selector: new ReplaySelector({ values: spec.values, sizes }, true, spec.enumeratesPicks),
      window: spec.window,
      windowWrites: spec.windowWrites,
      disabled: spec.disabled,
      horizonMs: spec.horizonMs,
      trace: timeline,
    });
    return { text: timeline.format(), outcome, timeline };
  };
  try {
    const a = traced();
    const b = traced();
    const diff = firstDifference(a.text, b.text);
    if (diff) {
      return { deterministic: false, detail: `MISMATCH: two replays of the same choices differ from trace line ${diff.line}: the model or strategy is not deterministic`, run: a };
    }
    if (failureKind(a.outcome) !== failureKind(b.outcome)) {
      return { deterministic: false, detail: `MISMATCH: two replays ended differently ("${failureKind(a.outcome)}", "${failureKind(b.outcome)}")`, run: a };
    }
    return { deterministic: true, detail: 'ok (two strict replays printed the same trace)', run: a };
  } catch (e) {
    return { deterministic: false, detail: `MISMATCH: strict replay diverged: ${(e as Error).message}`, run: undefined };
  }
}

/**
 * Two traced runs of the same seed must print the same timeline: a strategy that reads a
 * clock, Math.random or a global counter is caught before its numbers are believed.
 */
export function checkSameTwice(scenario: Scenario, strategy: Strategy, window: number): void {
  const run = formatRunId({ explorer: 'random', seed: scenario.seed, window });
  const traced = (): Timeline => {
    const t = new Timeline();
    try {
      runOnce(scenario, strategy, scenario.seed, { window, trace: t });
    } catch (e) {
      if (e instanceof StrategyFault) throw e.with({ run });
      throw e;
    }
    return t;
  };
  const first = traced();
  const diff = firstDifference(first.format(), traced().format());
  if (!diff) return;
  // Timeline lines are its entries, one each: the differing line's entry knows its step.
  throw new StrategyFault(
    strategy.name,
    `is not deterministic: two runs of the same seed differ from trace line ${diff.line}:\n  first:  ${diff.a}\n  second: ${diff.b}\na strategy must be a function of what it reads (no clock, Math.random or state kept between calls)`,
    scenario.seed,
    first.entries[diff.line - 1]?.step ?? first.entries.at(-1)?.step,
    scenario.name,
    run,
  );
}

/**
 * A user strategy's run at the scenario's seed prints the same timeline in two fresh module
 * instances, one of which ran other seeds first: module-level state (a counter) or Math.random
 * is caught here, before its numbers are believed.
 */
export async function checkFreshInstances(job: PrepareJob, scenario: Scenario, strategy: Strategy): Promise<void> {
  const fresh = (n: string): Promise<Strategy> => loadStrategyFile(job.strategy, { bundle: job.bundle, instance: `${n}-${scenario.hash.slice(0, 8)}` });
  const a = await fresh('a');
  const b = await fresh('b');
  const traced = (s: Strategy): Timeline => {
    const t = new Timeline();
    runOnce(scenario, s, scenario.seed, { window: job.window, trace: t });
    return t;
  };
  const first = traced(a);
  for (let k = 1; k <= 3; k++) runOnce(scenario, b, scenario.seed + k, { window: job.window, selector: new RandomSelector(scenario.seed + k) });
  const second = traced(b);
  const diff = firstDifference(first.format(), second.format());
  if (diff) {
    throw new StrategyFault(
      strategy.name,
      `is not deterministic: the same run (seed ${scenario.seed}) printed another trace in a fresh module instance that had run other seeds first, from trace line ${diff.line}:\n  fresh:        ${diff.a}\n  after others: ${diff.b}\n` +
        `a strategy must be a function of what it reads (no clock, Math.random, or state kept in the module between calls)`,
      scenario.seed,
      first.entries[diff.line - 1]?.step ?? first.entries.at(-1)?.step,
      scenario.name,
      formatRunId({ explorer: 'random', seed: scenario.seed, window: job.window }),
    );
  }
}

/**
 * A user strategy's chunk ran in a module instance that had run other chunks before it (as
 * many as this worker was given, which depends on --workers). Its last run is run again in a
 * fresh instance of the module: state kept in the module between runs (a counter that grows
 * over hundreds of runs, which the checks before the campaign can miss) shows as a different
 * end, and the campaign stops with the strategy's fault instead of printing numbers that
 * depend on the number of workers.
 */
export async function sameInFreshInstance(job: RunsJob, last: { seed: number; outcome: RunOutcome }): Promise<void> {
  const scenario = scenarioOf(job);
  const fresh = await loadStrategyFile(job.strategy, { bundle: job.bundle, instance: `chunk-${job.from}-${scenario.hash.slice(0, 8)}` });
  const id = campaignRunId(job, last.seed);
  const again = runById(scenario, fresh, id, job.pilot, { inspect: withoutChoiceLog });
  if (again.fingerprint === last.outcome.fingerprint && again.steps === last.outcome.steps) return;
  throw new StrategyFault(
    fresh.name,
    `is not deterministic: run ${formatRunId(id)} ended differently in a fresh module instance (${again.steps} steps) than after the other runs of its chunk (${last.outcome.steps} steps); ` +
      'a strategy must be a function of what it reads (no clock, Math.random, or state kept in the module between calls)',
    last.seed,
    undefined,
    scenario.name,
    formatRunId(id),
  );
}
