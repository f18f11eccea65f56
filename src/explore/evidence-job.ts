import { dirname, relative, resolve } from 'node:path';
import { explain } from '../report/explain.js';
import { raceData, type RaceData } from '../report/race.js';
import { failureSignature, type RunOutcome } from '../sim/outcome.js';
import { describeAction } from '../sim/run.js';
import { Timeline, traceHash } from '../sim/timeline.js';
import type { Strategy } from '../strategies/api.js';
import { beatRun } from '../strategies/heartbeat.js';
import { isStrategyPath } from '../strategies/loader.js';
import { checkDeterminism } from './determinism.js';
import { formatEvidence } from './evidence.js';
import { scenarioOf, type EvidenceJob } from './jobs.js';
import { moduleSha256 } from './provenance.js';
import { formatRunId, parseRunId, runById, type RunId } from './run-id.js';
import { describeSize, shrink, type RunSpec } from './shrink.js';

/** How the run an evidence file shows came from the campaign's run: what shrinking took away. */
export interface ShrinkNote {
  /** The campaign's run id (what `trace --run` shows). */
  readonly from: string;
  /** Did shrinking change the run at all? If not, the shown run is `from` itself. */
  readonly shrunk: boolean;
  /** The scenario's actions shrinking left out, described ("drain node-1", "agent rollout"). */
  readonly removedActions: readonly string[];
  readonly choices: number;
  /** Choices at their default (time order, shortest latency, window start). */
  readonly atDefault: number;
  readonly originalChoices: number;
  readonly originalSteps: number;
  readonly steps: number;
  /** Shrinking cut the run's horizon short: where (ms), else undefined. */
  readonly horizonMs?: number;
  /** sha256 of the unshrunk run's whole trace: what `trace --run <from>` prints. */
  readonly originalTraceSha256: string;
}

/**
 * What the report shows of an evidence's run, recorded by the job that shrank it, in the
 * thread that had the strategy loaded: the report renders this and never runs the model
 * (a strategy module is loaded only in a sandboxed worker; re-running it in the main thread
 * would show a run without the strategy on trial).
 */
export interface RecordedRun {
  /** sha256 of the shown run's whole trace (traceHash): what `replay` of its evidence prints. */
  readonly traceSha256: string;
  readonly explanation: readonly string[];
  /** Each story line's kernel step (the race table's row), undefined for summaries: the report numbers the story like the race. */
  readonly storySteps: ReadonlyArray<number | undefined>;
  readonly race: RaceData;
  readonly shrink: ShrinkNote;
}

export interface EvidenceResult {
  readonly text: string;
  readonly recorded: RecordedRun;
  readonly signature: string;
  readonly originalSteps: number;
  readonly shrunkSteps: number;
  readonly deterministic: boolean;
  readonly determinismDetail: string;
}

function selectorLabel(id: RunId): string {
  return id.explorer === 'pct' ? `pct depth=${id.depth}` : id.explorer;
}

/**
 * Re-run a failing seed, shrink it, check it replays to the same trace, explain it, and
 * render the evidence file.
 */
export function buildEvidence(job: EvidenceJob, strategy: Strategy): EvidenceResult {
  const scenario = scenarioOf(job);
  beatRun(0);
  const id = parseRunId(job.run);
  let values: number[] = [];
  // Traced, so the report can name the unshrunk run by the hash `trace --run` prints for it.
  const originalTimeline = new Timeline();
  const original = runById(scenario, strategy, id, job.pilot, { inspect: (w) => (values = w.choices.log.values), trace: originalTimeline });
  const originalTraceSha256 = traceHash(originalTimeline);
  const start: RunSpec = { scenario, strategy, seed: id.seed, window: id.window, windowWrites: job.pilot.windowWrites, disabled: new Set(), values, enumeratesPicks: id.explorer === 'exhaustive' };
  const withSettled = job.metric === 'settled';
  // A pulse between phases: a built-in's runs do not beat per step (only a module's do), and a
  // worker's watchdog must not take a long evidence job on a loaded machine for a stuck one.
  beatRun(1);
  const shrunk = shrink(start, job.shrinkBudget, withSettled);
  beatRun(2);

  const check = checkDeterminism(shrunk.spec, shrunk.sizes);
  const a = check.run;
  const deterministic = check.deterministic;
  const detail = check.detail;
  const final = a ?? { text: '', outcome: shrunk.outcome, timeline: new Timeline() };
  beatRun(3);
  const storySteps: Array<number | undefined> = [];
  const explanation = explain(final.timeline.entries, final.outcome, final.timeline.uidNames, storySteps);
  const hash = traceHash(final.timeline);
  const disabled = [...shrunk.spec.disabled].sort((x, y) => x - y);
  const horizonMs = shrunk.spec.horizonMs ?? scenario.horizonMs;
  const shrinkNote: ShrinkNote = {
    from: formatRunId(id),
    shrunk: hash !== originalTraceSha256,
    removedActions: disabled.map((i) => (scenario.actions[i] ? describeAction(scenario.actions[i]!) : `action ${i}`)),
    choices: shrunk.spec.values.length,
    atDefault: shrunk.spec.values.reduce((n, v) => n + (v === 0 ? 1 : 0), 0),
    originalChoices: values.length,
    originalSteps: original.steps,
    steps: shrunk.outcome.steps,
    ...(horizonMs !== scenario.horizonMs ? { horizonMs } : {}),
    originalTraceSha256,
  };
  const text = formatEvidence({
    scenario: scenario.name,
    scenarioFile: job.scenarioFile,
    scenarioSha256: scenario.hash,
    strategy: strategy.name,
    ...(isStrategyPath(job.strategy) ? { strategyModule: relative(dirname(resolve(job.scenarioFile)), job.strategy), strategySha256: moduleSha256(job.strategy) } : {}),
    run: formatRunId(id),
    seed: id.seed,
    selector: selectorLabel(id),
    windowMs: id.window,
    windowWrites: job.pilot.windowWrites,
    disabledActions: disabled,
    horizonMs,
    failure: signatureOf(final.outcome, withSettled),
    alsoFailing: job.alsoFailing,
    original: describeSize(original, values),
    shrunk: `${describeSize(shrunk.outcome, shrunk.spec.values)} (${shrunk.candidates} candidates tried)`,
    determinism: detail,
    traceSha256: hash,
    choices: shrunk.spec.values,
    explanation,
  });
  return {
    text,
    recorded: { traceSha256: hash, explanation, storySteps, race: raceData(scenario, final.timeline.entries, final.outcome, final.timeline.uidNames, final.timeline.deliveries), shrink: shrinkNote },
    signature: signatureOf(final.outcome, withSettled),
    originalSteps: original.steps,
    shrunkSteps: shrunk.outcome.steps,
    deterministic,
    determinismDetail: detail,
  };
}

/** The evidence's `failure:` line; an unsettled example says so. */
export function signatureOf(o: RunOutcome, withSettled: boolean): string {
  const sig = failureSignature(o);
  return withSettled && !o.settled ? (sig ? `${sig}; unsettled` : 'unsettled') : sig;
}
