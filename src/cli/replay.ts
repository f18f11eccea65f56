import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { isStrategyPath, resolveStrategy, strategyRef, StrategyLoadError } from '../strategies/loader.js';
import { readInputFile } from '../base/input-file.js';
import { allowedModules, checkModuleFromData } from './merge.js';
import { runSandboxed } from './sandboxed.js';
import { failureKind, failed } from '../sim/outcome.js';
import { checkEvidenceFits, parseEvidence, type Evidence, type ParsedEvidence } from '../explore/evidence.js';
import { signatureOf } from '../explore/evidence-job.js';
import { moduleSha256IfThere, shortHash, TOOL } from '../explore/provenance.js';
import { replayRun } from '../explore/shrink.js';
import { explain } from '../report/explain.js';
import { formatOutcome } from '../report/outcome.js';
import { Timeline, traceHash } from '../sim/timeline.js';
import type { Scenario } from '../scenario/model.js';
import type { RunOutcome } from '../sim/outcome.js';
import type { Strategy } from '../strategies/api.js';
import { InputError } from '../scenario/errors.js';
import { EXIT_FIXED, EXIT_OK, UsageError, type Io } from './io.js';
import { load, loadNamedBy } from './plans.js';
import { traceHeader } from './trace.js';

/** `quotarace replay <evidence>` from parsed arguments. */
export async function cmdReplay(args: Record<string, unknown>, io: Io): Promise<number> {
  if (Array.isArray(args.strategy)) throw new UsageError('--strategy expects one strategy name');
  if (isMainThread) {
    // Which modules will run? The recorded strategy's (replayed first, to check the recorded
    // run) and --strategy's: said out loud, refused outside the working tree unless allowed,
    // and run only in a sandbox (the whole replay is). An edited file is refused before any runs.
    const file = String(args.evidence);
    const { ev, scenarioPath } = readEvidence(file, args.scenario as string | undefined);
    const modules: string[] = [];
    if (ev.strategyModule) {
      const recorded = resolve(dirname(scenarioPath), ev.strategyModule);
      if (!existsSync(recorded)) {
        throw new InputError([{ file, line: ev.lineOf['strategy-module']!, col: 1, field: 'strategy-module', message: `no module at ${recorded}: replay runs the recorded strategy first, to check that this file is the run it recorded` }]);
      }
      checkModuleFromData(recorded, file, allowedModules(args), io);
      modules.push(recorded);
    }
    if (args.strategy !== undefined && isStrategyPath(String(args.strategy))) {
      const other = resolve(String(args.strategy));
      if (!existsSync(other)) throw new StrategyLoadError(`no strategy module at ${other}`);
      if (!modules.includes(other)) modules.push(other);
    }
    if (modules.length) return runSandboxed(args, io, modules, `replay of ${file}`);
  }
  return replayEvidence(String(args.evidence), { scenario: args.scenario as string | undefined, strategy: args.strategy as string | undefined, expectFixed: Boolean(args['expect-fixed']) }, io);
}

/** How `replay` judges: against which scenario file and strategy, and which exit code a fix gets. */
export interface ReplayOptions {
  readonly scenario?: string;
  readonly strategy?: string;
  /** Invert the exit code: 0 when the run no longer fails (a regression check that a fix holds). */
  readonly expectFixed?: boolean;
}

const refuse = (file: string, ev: ParsedEvidence, field: string, message: string): InputError => new InputError([{ file, line: ev.lineOf[field] ?? 0, col: 1, field, message, whole: true }]);

/**
 * Read, parse and locate an evidence file and its scenario; bad input says where. A v2 file
 * whose lines no longer hash to its `evidence-sha256` was edited: refused here, before anything runs.
 */
function readEvidence(file: string, scenarioOverride: string | undefined): { ev: ParsedEvidence; scenarioPath: string } {
  const r = readInputFile(file);
  if ('error' in r) throw new InputError([{ file, line: 0, col: 0, field: '', message: r.error }]);
  const ev = parseEvidence(r.text);
  if ('error' in ev) throw new InputError([{ file, line: ev.line, col: 1, field: '', message: ev.error }]);
  if (ev.integrity && ev.integrity.actual !== ev.integrity.recorded) {
    throw refuse(
      file,
      ev,
      'evidence-sha256',
      `the file was edited since quotarace wrote it (its lines hash to ${shortHash(ev.integrity.actual)}, it records ${shortHash(ev.integrity.recorded)}); replay refuses to judge an edited file: restore it, or run the scenario again for new evidence`,
    );
  }
  const candidates = scenarioOverride ? [scenarioOverride] : [ev.scenarioFile, join(dirname(file), ev.scenarioFile)];
  const scenarioPath = candidates.find((p) => existsSync(p));
  if (!scenarioPath) {
    throw refuse(file, ev, 'scenario-file', `the scenario ${ev.scenarioFile} is not there; pass --scenario <file>`);
  }
  return { ev, scenarioPath };
}

interface Replayed {
  readonly timeline: Timeline;
  readonly outcome: RunOutcome;
  readonly hash: string;
}

function replayWith(scenario: Scenario, strategy: Strategy, ev: ParsedEvidence, horizonMs: number): Replayed {
  const timeline = new Timeline();
  const { outcome } = replayRun(
    // An exhaustive run's picks are choices in its log (Selector.enumeratesPicks), not a shuffle's draws.
    { scenario, strategy, seed: ev.seed, window: ev.windowMs, windowWrites: ev.windowWrites, disabled: new Set(ev.disabledActions), values: ev.choices, horizonMs, enumeratesPicks: ev.selector === 'exhaustive' },
    { strict: false },
    timeline,
  );
  return { timeline, outcome, hash: traceHash(timeline) };
}

/** An unsettled example (evidence for the `settled` metric) says so on its failure line. */
const recordsUnsettled = (ev: Evidence): boolean => ev.failure.split('; ').includes('unsettled');

/**
 * The recorded run, replayed with the recorded strategy, must print the trace the evidence
 * records and fail as it says: otherwise this file is not (or no longer) the run quotarace
 * recorded, and nothing replayed from it can be judged. The refusal says what changed.
 */
function vouch(file: string, ev: ParsedEvidence, recorded: Strategy, run: Replayed, scenarioPath: string): void {
  if (run.hash === ev.traceSha256) {
    const failure = signatureOf(run.outcome, recordsUnsettled(ev));
    if (failure === ev.failure) return;
    throw refuse(file, ev, 'failure', `the recorded run ends "${failure}", the file says "${ev.failure.slice(0, 200)}": the file was edited`);
  }
  const causes: string[] = [];
  if (ev.tool && ev.tool !== TOOL) causes.push(`it was written by ${ev.tool}, this is ${TOOL}`);
  if (ev.strategyModule && ev.strategySha256) {
    const now = moduleSha256IfThere(resolve(dirname(scenarioPath), ev.strategyModule));
    if (now !== ev.strategySha256) {
      causes.push(
        `the strategy module ${ev.strategyModule} changed (sha256 ${now ? shortHash(now) : 'unreadable'} now, ${shortHash(ev.strategySha256)} recorded; to check a fix against this failure, keep the module as recorded and pass the fix with --strategy)`,
      );
    }
  }
  if (recorded.name !== ev.strategy) causes.push(`the recorded strategy is now named ${recorded.name}, the file says ${ev.strategy}`);
  const why = causes.length
    ? `the code changed since the evidence was saved: ${causes.join('; ')}`
    : ev.version === 1
      ? 'the file was edited or the code changed since it was saved (a v1 evidence file records no evidence-sha256, tool or module hash to tell which)'
      : ev.determinism.startsWith('MISMATCH')
        ? `the run is not deterministic (the file says so: ${ev.determinism.slice(0, 200)})`
        : `nothing it records about the code differs (${[TOOL, ...(ev.strategySha256 ? ['the same module bytes'] : [])].join(', ')}): the file was edited and its evidence-sha256 recomputed, or the code changed under the same version (a development build, or a file the strategy module imports), or the strategy is not deterministic`;
  throw refuse(
    file,
    ev,
    'trace-sha256',
    `the recorded run, replayed with ${ev.strategy}, prints another trace (sha256 ${shortHash(run.hash)}; the file records ${shortHash(ev.traceSha256)}): ${why}. replay refuses to judge a run it cannot reproduce: run the scenario again and commit the new evidence`,
  );
}

/**
 * `quotarace replay <evidence>`: re-execute a saved failure against the current code and
 * the scenario it names (which must hash the same). The recorded run, replayed with the
 * recorded strategy, must reproduce its recorded trace, or nothing is judged (exit 2). Then
 * the recorded strategy or --strategy's is judged: its timeline and explanation printed, exit 1
 * when it no longer fails (0 with --expect-fixed).
 */
export async function replayEvidence(file: string, opts: ReplayOptions, io: Io): Promise<number> {
  const { ev, scenarioPath } = readEvidence(file, opts.scenario);
  const scenario = opts.scenario !== undefined ? load(scenarioPath) : loadNamedBy(scenarioPath, file, 'scenario-file');
  if (scenario.name !== ev.scenario) {
    throw refuse(file, ev, 'scenario', `${scenarioPath} is the scenario "${scenario.name}", not "${ev.scenario}", whose run this evidence records: replay it against that scenario's file`);
  }
  if (scenario.hash !== ev.scenarioSha256) {
    throw refuse(file, ev, 'scenario-sha256', `${scenarioPath} has changed since this evidence was saved (sha256 ${shortHash(scenario.hash)}, evidence has ${shortHash(ev.scenarioSha256)}): the interleaving belongs to the old scenario`);
  }
  const misfit = checkEvidenceFits(ev, scenario);
  if (misfit) throw new InputError([{ file, line: misfit.line, col: 1, field: '', message: misfit.error }]);
  // First the recorded run with the recorded strategy: is this file the run quotarace recorded?
  if (!ev.traceSha256) {
    throw refuse(file, ev, 'choices', 'this file records no trace-sha256, so replay cannot check that it is the run quotarace recorded; run the scenario again for new evidence');
  }
  const recorded = ev.strategyModule ? await resolveStrategy(ev.strategyModule, dirname(scenarioPath)) : await resolveStrategy(ev.strategy);
  const original = replayWith(scenario, recorded, ev, ev.horizonMs);
  vouch(file, ev, recorded, original, scenarioPath);
  // Then the strategy judged: the recorded one, or --strategy's. The shrunk horizon is where the
  // recorded strategy's story was over; another strategy is judged on the whole scenario, as `run` would judge it.
  const strategy = opts.strategy ? await resolveStrategy(opts.strategy) : recorded;
  const otherStrategy = strategyRef(strategy) !== strategyRef(recorded);
  const horizonMs = otherStrategy ? scenario.horizonMs : ev.horizonMs;
  const { timeline, outcome, hash } = otherStrategy ? replayWith(scenario, strategy, ev, horizonMs) : original;
  io.out(
    [
      traceHeader(scenario, strategy.name, `${ev.run ? `run ${ev.run}  ` : ''}seed ${ev.seed}  selector ${ev.selector}  window ${ev.windowMs}ms  ${ev.choices.length} choices`, horizonMs),
      // The hash the report states for this run (traceHash: sha256 of the whole trace below).
      `trace sha256 ${hash}`,
      ev.disabledActions.length ? `actions left out by shrinking: ${ev.disabledActions.join(', ')}` : '',
      '',
      timeline.format(),
      '',
      formatOutcome(outcome),
      '',
      'explanation:',
      ...explain(timeline.entries, outcome, timeline.uidNames).map((l) => `  ${l}`),
      '',
      ...(otherStrategy
        ? [`recorded run: replayed with ${ev.strategy}, identical to the trace recorded in the evidence (sha256 ${original.hash})`, `trace: sha256 ${hash}, replayed against ${strategy.name} (recorded with ${ev.strategy})`]
        : [`trace: identical to the one recorded in the evidence (sha256 ${hash})`]),
    ].join('\n'),
  );
  const recordedUnsettled = recordsUnsettled(ev);
  if (recordedUnsettled ? outcome.settled : !failed(outcome)) {
    io.out(`no longer fails: the recorded failure "${ev.failure}" did not happen`);
    return opts.expectFixed ? EXIT_OK : EXIT_FIXED;
  }
  const kind = [failureKind(outcome), ...(recordedUnsettled && !outcome.settled ? ['unsettled'] : [])].filter(Boolean).join('; ');
  const recordedKind = ev.failure.split('; ').map((p) => p.split(' ')[0]).join(' ');
  const now = kind.split('; ').map((p) => p.split(' ')[0]).join(' ');
  io.out(recordedKind === now ? `still fails: ${kind}` : `fails differently: ${kind} (recorded: ${ev.failure})`);
  return opts.expectFixed ? EXIT_FIXED : EXIT_OK;
}
