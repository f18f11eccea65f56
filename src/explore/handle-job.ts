import type { Strategy } from '../strategies/api.js';
import { StrategyFault } from '../strategies/fault.js';
import { beatRun } from '../strategies/heartbeat.js';
import { isStrategyPath, loadStrategyFile, resolveStrategy, StrategyLoadError } from '../strategies/loader.js';
import { describeThrown } from '../strategies/runtime.js';
import { withoutChoiceLog } from '../kernel/choice.js';
import type { RunOutcome } from '../sim/outcome.js';
import { checkSameTwice, sameInFreshInstance, checkFreshInstances } from './determinism.js';
import { buildEvidence } from './evidence-job.js';
import { coverageOf, explore } from './exhaustive.js';
import { campaignRunId, scenarioOf, type DescribeJob, type DescribeResult, type ExhaustiveJob, type ExhaustiveResult, type Job, type PrepareJob, type PrepareResult, type RunsJob } from './jobs.js';
import { runPilot } from './pilot.js';
import { formatRunId, runById } from './run-id.js';
import { addRun, emptyTally, type TallyState } from './tally.js';

// Runs each kind of job: the checks and pilot before a campaign, a chunk of runs, an exhaustive
// search, an evidence, a module's name and description.

/** A worker's unit of work; also run inline when there is one worker (built-in strategies only). */
export async function handleJob(job: Job): Promise<unknown> {
  // A command job runs the CLI: only the worker's entry (cli/worker.ts) takes it, never inline.
  if (job.type === 'command') throw new Error('a command job runs in a worker thread (cli/worker.ts)');
  if (job.type === 'describe') return describeModule(job);
  const user = isStrategyPath(job.strategy);
  try {
    beatRun(-1);
    const strategy = user ? await loadStrategyFile(job.strategy, { bundle: job.bundle }) : await resolveStrategy(job.strategy);
    switch (job.type) {
      case 'runs': {
        const { tally, last } = runRange(job, strategy);
        if (user && last) await sameInFreshInstance(job, last);
        return tally;
      }
      case 'evidence':
        return buildEvidence(job, strategy);
      case 'prepare':
        return await prepare(job, strategy);
      case 'exhaustive':
        return exhaustiveJob(job, strategy);
    }
  } catch (e) {
    if (e instanceof StrategyFault) return { fault: e.with({ scenario: job.scenarioName }).toJSON() };
    // A user's module can fail in ways no guard names (a throwing getter read by the runtime): still its fault.
    if (user) return { fault: new StrategyFault(job.strategyName ?? job.strategy, `failed: ${describeThrown(e)}`, undefined, undefined, job.scenarioName).toJSON() };
    throw e;
  }
}

async function describeModule(job: DescribeJob): Promise<DescribeResult> {
  try {
    const s = await loadStrategyFile(job.strategy, { bundle: job.bundle });
    return { name: s.name, description: s.description };
  } catch (e) {
    if (e instanceof StrategyLoadError) return { loadError: e.message };
    if (e instanceof StrategyFault) return { fault: e.toJSON() };
    return { fault: new StrategyFault(job.strategy, `loading the module failed: ${describeThrown(e)}`).toJSON() };
  }
}

/**
 * The determinism checks and the pilot. Two traced runs of the same seed must print the
 * same timeline; for a user strategy, the same seed must also print the same timeline in
 * two fresh module instances, one of which ran other seeds first: module-level state
 * (a counter) or Math.random is caught there, before its numbers are believed.
 */
async function prepare(job: PrepareJob, strategy: Strategy): Promise<PrepareResult> {
  const scenario = scenarioOf(job);
  beatRun(0);
  checkSameTwice(scenario, strategy, job.window);
  if (isStrategyPath(job.strategy)) await checkFreshInstances(job, scenario, strategy);
  return { pilot: runPilot(scenario, strategy, job.window) };
}

function exhaustiveJob(job: ExhaustiveJob, strategy: Strategy): ExhaustiveResult {
  const scenario = scenarioOf(job);
  beatRun(0);
  const latencyPoint = job.latencyPoint ?? 0;
  const r = explore(scenario, strategy, job.pilot, job.window, job.maxRuns, job.seed, undefined, job.delays, { ...(job.reduction ? { reduction: job.reduction } : {}), latencyPoint });
  const tally = emptyTally();
  r.outcomes.forEach((o, i) => addRun(tally, o, formatRunId({ explorer: 'exhaustive', seed: job.seed, window: job.window, branches: r.prefixes[i]!, latencyPoint })));
  return { tally, exhaustive: coverageOf(r) };
}

function runRange(job: RunsJob, strategy: Strategy): { tally: TallyState; last?: { seed: number; outcome: RunOutcome } } {
  const scenario = scenarioOf(job);
  const t = emptyTally();
  let last: { seed: number; outcome: RunOutcome } | undefined;
  for (let seed = job.from; seed < job.to; seed++) {
    beatRun(seed - job.from);
    const id = campaignRunId(job, seed);
    const outcome = runById(scenario, strategy, id, job.pilot, { inspect: withoutChoiceLog });
    addRun(t, outcome, formatRunId(id));
    last = { seed, outcome };
  }
  return { tally: t, ...(last ? { last } : {}) };
}
