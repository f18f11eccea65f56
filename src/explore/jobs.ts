import { createHash } from 'node:crypto';
import { PctSelector, RandomSelector, ReplaySelector, type Selector } from '../kernel/choice.js';
import { firstDifference, Timeline } from '../report/timeline.js';
import { explain } from '../report/explain.js';
import { chartData, type ChartData } from '../report/chartdata.js';
import { parseScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import { failureKind, failureSignature, type RunOutcome } from '../sim/outcome.js';
import { runOnce } from '../sim/run.js';
import type { Strategy } from '../strategies/api.js';
import { isStrategyPath, strategyFromRef } from '../strategies/loader.js';
import { dirname, relative, resolve } from 'node:path';
import { StrategyFault } from '../strategies/fault.js';
import { formatEvidence } from './evidence.js';
import { attachWorld, exhaustiveReplaySelector } from './exhaustive.js';
import type { Pilot } from './pilot.js';
import { describeSize, shrink, type RunSpec } from './shrink.js';
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
  readonly mode: ExploreMode;
  readonly depth: number;
  readonly window: number;
  readonly pilot: Pilot;
}

export interface RunsJob extends JobBase {
  readonly type: 'runs';
  readonly from: number;
  readonly to: number;
}

export interface EvidenceJob extends JobBase {
  readonly type: 'evidence';
  readonly seed: number;
  /** Exhaustive runs are identified by their branch choices. */
  readonly prefix?: readonly number[];
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

export function selectorFor(job: JobBase, seed: number, prefix?: readonly number[]): Selector {
  if (job.mode === 'exhaustive') return exhaustiveReplaySelector(prefix ?? []);
  if (job.mode === 'pct') return new PctSelector(seed, job.depth, job.pilot.actors, job.pilot.orderChoices);
  return new RandomSelector(seed);
}

export function selectorLabel(job: Pick<JobBase, 'mode' | 'depth'>): string {
  return job.mode === 'pct' ? `pct depth=${job.depth}` : job.mode;
}

/** A worker's unit of work; also run inline when there is one worker. */
export async function handleJob(job: Job): Promise<TallyState | EvidenceResult | FaultResult> {
  const strategy = await strategyFromRef(job.strategy);
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
    addRun(t, runOnce(scenario, strategy, seed, { selector: selectorFor(job, seed), window: job.window, slots: job.pilot.slots }));
  }
  return t;
}

/**
 * Re-run a failing seed, shrink it, check it replays to the same trace, explain it, and
 * render the evidence file.
 */
function buildEvidence(job: EvidenceJob, strategy: Strategy): EvidenceResult {
  const scenario = scenarioOf(job);
  const selector = selectorFor(job, job.seed, job.prefix);
  let values: number[] = [];
  const attach = attachWorld(selector);
  const original = runOnce(scenario, strategy, job.seed, {
    selector,
    window: job.window,
    slots: job.pilot.slots,
    inspect: (w) => {
      values = w.choices.log.values;
      attach?.(w);
    },
  });
  const start: RunSpec = { scenario, strategy, seed: job.seed, window: job.window, slots: job.pilot.slots, disabled: new Set(), values };
  const shrunk = shrink(start, job.shrinkBudget);

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
    seed: job.seed,
    selector: selectorLabel(job) + (job.prefix ? ` run=${job.prefix.join('.') || 'default'}` : ''),
    windowMs: job.window,
    slots: job.pilot.slots,
    disabledActions: [...shrunk.spec.disabled].sort((x, y) => x - y),
    horizonMs: shrunk.spec.horizonMs ?? scenario.horizonMs,
    failure: failureSignature(final.outcome),
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
    signature: failureSignature(final.outcome),
    originalSteps: original.steps,
    shrunkSteps: shrunk.outcome.steps,
    deterministic,
    determinismDetail: detail,
  };
}

