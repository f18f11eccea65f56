import { createHash } from 'node:crypto';
import { ReplaySelector, withoutChoiceLog } from '../kernel/choice.js';
import { firstDifference, Timeline } from '../report/timeline.js';
import { explain } from '../report/explain.js';
import { chartData, type ChartData } from '../report/chartdata.js';
import { parseScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import { failureKind, failureSignature, type Metric, type RunOutcome } from '../sim/outcome.js';
import { runOnce } from '../sim/run.js';
import type { Strategy } from '../strategies/api.js';
import { isStrategyPath, resolveStrategy } from '../strategies/loader.js';
import { dirname, relative, resolve } from 'node:path';
import { StrategyFault } from '../strategies/fault.js';
import { formatEvidence } from './evidence.js';
import type { Pilot } from './pilot.js';
import { formatRunId, parseRunId, runById, type RunId } from './run-id.js';
import { breakKey, describeSize, shrink, type RunSpec } from './shrink.js';
import { addRun, emptyTally, type TallyState } from './tally.js';

export type ExploreMode = 'random' | 'pct' | 'exhaustive';

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
      selector: new ReplaySelector({ values: spec.values, sizes }, true),
      window: spec.window,
      slots: spec.slots,
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

/** What a worker needs to rebuild the scenario and strategy on its own. */
export interface JobBase {
  readonly scenarioText: string;
  readonly scenarioFile: string;
  readonly strategy: string;
  /** The strategy's pilot run (slots, PCT's n and k), computed once per scenario. */
  readonly pilot: Pilot;
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

export type Job = RunsJob | EvidenceJob;

export interface EvidenceResult {
  readonly text: string;
  readonly explanation: readonly string[];
  readonly charts: ChartData;
  readonly signature: string;
  readonly originalSteps: number;
  readonly shrunkSteps: number;
  readonly deterministic: boolean;
  readonly determinismDetail: string;
}

const scenarios = new Map<string, Scenario>();

function scenarioOf(job: JobBase): Scenario {
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

function selectorLabel(id: RunId): string {
  return id.explorer === 'pct' ? `pct depth=${id.depth}` : id.explorer;
}

/** A worker's unit of work; also run inline when there is one worker. */
export async function handleJob(job: Job): Promise<TallyState | EvidenceResult | FaultResult> {
  const strategy = await resolveStrategy(job.strategy);
  try {
    return job.type === 'runs' ? runRange(job, strategy) : buildEvidence(job, strategy);
  } catch (e) {
    if (e instanceof StrategyFault) return { fault: e.toJSON() };
    throw e;
  }
}

function runRange(job: RunsJob, strategy: Strategy): TallyState {
  const scenario = scenarioOf(job);
  const t = emptyTally();
  for (let seed = job.from; seed < job.to; seed++) {
    const id = campaignRunId(job, seed);
    addRun(t, runById(scenario, strategy, id, job.pilot, { inspect: withoutChoiceLog }), formatRunId(id));
  }
  return t;
}

/**
 * Re-run a failing seed, shrink it, check it replays to the same trace, explain it, and
 * render the evidence file.
 */
function buildEvidence(job: EvidenceJob, strategy: Strategy): EvidenceResult {
  const scenario = scenarioOf(job);
  const id = parseRunId(job.run);
  let values: number[] = [];
  const original = runById(scenario, strategy, id, job.pilot, { inspect: (w) => (values = w.choices.log.values) });
  const start: RunSpec = { scenario, strategy, seed: id.seed, window: id.window, slots: job.pilot.slots, disabled: new Set(), values };
  const withSettled = job.metric === 'settled';
  const shrunk = shrink(start, job.shrinkBudget, withSettled);

  const check = checkDeterminism(shrunk.spec, shrunk.sizes);
  const a = check.run;
  const deterministic = check.deterministic;
  const detail = check.detail;
  const final = a ?? { text: '', outcome: shrunk.outcome, timeline: new Timeline() };
  const explanation = explain(final.timeline.entries, final.outcome, final.timeline.uidNames);
  const text = formatEvidence({
    scenario: scenario.name,
    scenarioFile: job.scenarioFile,
    scenarioSha256: scenario.hash,
    strategy: strategy.name,
    ...(isStrategyPath(job.strategy) ? { strategyModule: relative(dirname(resolve(job.scenarioFile)), job.strategy) } : {}),
    run: formatRunId(id),
    seed: id.seed,
    selector: selectorLabel(id),
    windowMs: id.window,
    slots: job.pilot.slots,
    disabledActions: [...shrunk.spec.disabled].sort((x, y) => x - y),
    horizonMs: shrunk.spec.horizonMs ?? scenario.horizonMs,
    failure: signatureOf(final.outcome, withSettled),
    alsoFailing: job.alsoFailing,
    original: describeSize(original, values),
    shrunk: `${describeSize(shrunk.outcome, shrunk.spec.values)} (${shrunk.candidates} candidates tried)`,
    determinism: detail,
    traceSha256: createHash('sha256').update(final.text).digest('hex'),
    choices: shrunk.spec.values,
    explanation,
  });
  return {
    text,
    explanation,
    charts: chartData(final.timeline.entries, final.outcome),
    signature: signatureOf(final.outcome, withSettled),
    originalSteps: original.steps,
    shrunkSteps: shrunk.outcome.steps,
    deterministic,
    determinismDetail: detail,
  };
}


/** The evidence's `failure:` line; an unsettled example says so. */
function signatureOf(o: RunOutcome, withSettled: boolean): string {
  const sig = failureSignature(o);
  return withSettled && !o.settled ? (sig ? `${sig}; unsettled` : 'unsettled') : sig;
}

export { breakKey };
