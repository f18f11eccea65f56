import { ReplaySelector, withoutChoiceLog } from '../kernel/choice.js';
import { firstDifference, Timeline, traceHash } from '../report/timeline.js';
import { explain } from '../report/explain.js';
import { raceData, type RaceData } from '../report/race.js';
import { describeAction } from '../sim/run.js';
import { parseScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import { failureKind, failureSignature, type Metric, type RunOutcome } from '../sim/outcome.js';
import { runOnce } from '../sim/run.js';
import type { Strategy } from '../strategies/api.js';
import { isStrategyPath, loadStrategyFile, registerBundle, resolveStrategy, StrategyLoadError } from '../strategies/loader.js';
import { describeThrown } from '../strategies/runtime.js';
import { RandomSelector } from '../kernel/choice.js';
import { beatRun } from './heartbeat.js';
import { explore } from './exhaustive.js';
import { runPilot } from './pilot.js';
import { addRun as addRunToTally } from './tally.js';
import { dirname, relative, resolve } from 'node:path';
import { StrategyFault } from '../strategies/fault.js';
import { formatEvidence } from './evidence.js';
import { moduleSha256 } from './provenance.js';
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
export type ExhaustiveResult = { tally: TallyState; exhaustive: { complete: boolean; runs: number; pruned: number } } | FaultResult;
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
      return index >= 0 ? `exhaustive interleaving #${index + 1}` : undefined;
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

const scenarios = new Map<string, Scenario>();

function scenarioOf(job: Omit<JobBase, 'pilot'>): Scenario {
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

/** A worker's unit of work; also run inline when there is one worker (built-in strategies only). */
export async function handleJob(job: Job): Promise<unknown> {
  if (job.type === 'command') return runCommand(job);
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

async function runCommand(job: CommandJob): Promise<CommandResult> {
  const { main } = await import('../cli/main.js');
  for (const [path, file] of job.bundles) registerBundle(path, file);
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(job.argv, { out: (t) => out.push(t.endsWith('\n') ? t : t + '\n'), err: (t) => err.push(t.endsWith('\n') ? t : t + '\n') });
  return { code, out: out.join(''), err: err.join('') };
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
  if (isStrategyPath(job.strategy)) {
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
  return { pilot: runPilot(scenario, strategy, job.window) };
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

function exhaustiveJob(job: ExhaustiveJob, strategy: Strategy): ExhaustiveResult {
  const scenario = scenarioOf(job);
  beatRun(0);
  const r = explore(scenario, strategy, job.pilot, job.window, job.maxRuns, job.seed);
  const tally = emptyTally();
  r.outcomes.forEach((o, i) => addRunToTally(tally, o, formatRunId({ explorer: 'exhaustive', seed: job.seed, window: job.window, branches: r.prefixes[i]! })));
  return { tally, exhaustive: { complete: r.complete, runs: r.runs, pruned: r.pruned } };
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

/**
 * A user strategy's chunk ran in a module instance that had run other chunks before it (as
 * many as this worker was given, which depends on --workers). Its last run is run again in a
 * fresh instance of the module: state kept in the module between runs (a counter that grows
 * over hundreds of runs, which the checks before the campaign can miss) shows as a different
 * end, and the campaign stops with the strategy's fault instead of printing numbers that
 * depend on the number of workers.
 */
async function sameInFreshInstance(job: RunsJob, last: { seed: number; outcome: RunOutcome }): Promise<void> {
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

/**
 * Re-run a failing seed, shrink it, check it replays to the same trace, explain it, and
 * render the evidence file.
 */
function buildEvidence(job: EvidenceJob, strategy: Strategy): EvidenceResult {
  const scenario = scenarioOf(job);
  beatRun(0);
  const id = parseRunId(job.run);
  let values: number[] = [];
  // Traced, so the report can name the unshrunk run by the hash `trace --run` prints for it.
  const originalTimeline = new Timeline();
  const original = runById(scenario, strategy, id, job.pilot, { inspect: (w) => (values = w.choices.log.values), trace: originalTimeline });
  const originalTraceSha256 = traceHash(originalTimeline);
  const start: RunSpec = { scenario, strategy, seed: id.seed, window: id.window, windowWrites: job.pilot.windowWrites, disabled: new Set(), values };
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

export { breakKey };
