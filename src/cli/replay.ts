import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { isStrategyPath, resolveStrategy, StrategyLoadError } from '../strategies/loader.js';
import { readInputFile } from '../report/files.js';
import { allowedModules, checkModuleFromData } from './merge.js';
import { runSandboxed } from './sandboxed.js';
import { failureKind, failed } from '../sim/outcome.js';
import { parseEvidence, type Evidence } from '../explore/evidence.js';
import { replayRun } from '../explore/shrink.js';
import { explain } from '../report/explain.js';
import { formatOutcome } from '../report/outcome.js';
import { Timeline } from '../report/timeline.js';
import { InputError } from '../scenario/errors.js';
import { createHash } from 'node:crypto';
import { EXIT_FIXED, EXIT_OK, UsageError, type Io } from './io.js';
import { load, loadNamedBy } from './plans.js';
import { traceHeader } from './trace.js';

/** `quotarace replay <evidence>` from parsed arguments. */
export async function cmdReplay(args: Record<string, unknown>, io: Io): Promise<number> {
  if (Array.isArray(args.strategy)) throw new UsageError('--strategy expects one strategy name');
  if (isMainThread) {
    // Which module will run? Said out loud, refused outside the working tree unless allowed,
    // and run only in a sandbox (the whole replay is).
    const file = String(args.evidence);
    const { ev, scenarioPath } = readEvidence(file, args.scenario as string | undefined);
    let module: string | undefined;
    if (args.strategy !== undefined && isStrategyPath(String(args.strategy))) module = resolve(String(args.strategy));
    else if (args.strategy === undefined && ev.strategyModule) {
      module = resolve(dirname(scenarioPath), ev.strategyModule);
      checkModuleFromData(module, file, allowedModules(args), io);
    }
    if (module) {
      if (!existsSync(module)) throw new StrategyLoadError(`no strategy module at ${module}`);
      return runSandboxed(args, io, [module], `replay of ${file}`);
    }
  }
  return replayEvidence(String(args.evidence), { scenario: args.scenario as string | undefined, strategy: args.strategy as string | undefined, expectFixed: Boolean(args['expect-fixed']) }, io);
}

/**
 * `quotarace replay <evidence>`: re-execute a saved failure against the current code and
 * the scenario it names (which must hash the same), print its timeline and explanation,
 * and exit 1 when it no longer fails: a fixed bug shows as fixed.
 */
export interface ReplayOptions {
  readonly scenario?: string;
  readonly strategy?: string;
  /** Invert the exit code: 0 when the run no longer fails (a regression check that a fix holds). */
  readonly expectFixed?: boolean;
}

/** Read, parse and locate an evidence file and its scenario; bad input says where. */
function readEvidence(file: string, scenarioOverride: string | undefined): { ev: Evidence; scenarioPath: string } {
  const r = readInputFile(file);
  if ('error' in r) throw new InputError([{ file, line: 0, col: 0, field: '', message: r.error }]);
  const ev = parseEvidence(r.text);
  if ('error' in ev) throw new InputError([{ file, line: ev.line, col: 1, field: '', message: ev.error }]);
  const candidates = scenarioOverride ? [scenarioOverride] : [ev.scenarioFile, join(dirname(file), ev.scenarioFile)];
  const scenarioPath = candidates.find((p) => existsSync(p));
  if (!scenarioPath) {
    throw new InputError([{ file, line: 3, col: 1, field: 'scenario-file', message: `the scenario ${ev.scenarioFile} is not there; pass --scenario <file>` }]);
  }
  return { ev, scenarioPath };
}

export async function replayEvidence(file: string, opts: ReplayOptions, io: Io): Promise<number> {
  const { ev, scenarioPath } = readEvidence(file, opts.scenario);
  const scenario = opts.scenario !== undefined ? load(scenarioPath) : loadNamedBy(scenarioPath, file, 'scenario-file');
  if (scenario.hash !== ev.scenarioSha256) {
    throw new InputError([
      { file, line: 4, col: 1, field: 'scenario-sha256', message: `${scenarioPath} has changed since this evidence was saved (sha256 ${scenario.hash.slice(0, 12)}…, evidence has ${ev.scenarioSha256.slice(0, 12)}…): the interleaving belongs to the old scenario` },
    ]);
  }
  const strategy = opts.strategy
    ? await resolveStrategy(opts.strategy)
    : ev.strategyModule
      ? await resolveStrategy(ev.strategyModule, dirname(scenarioPath))
      : await resolveStrategy(ev.strategy);
  const timeline = new Timeline();
  // The shrunk horizon is where the recorded strategy's story was over; another strategy is
  // judged on the whole scenario, as `run` would judge it.
  const otherStrategy = strategy.name !== ev.strategy;
  const horizonMs = otherStrategy ? scenario.horizonMs : ev.horizonMs;
  const { outcome } = replayRun(
    { scenario, strategy, seed: ev.seed, window: ev.windowMs, windowWrites: ev.windowWrites, disabled: new Set(ev.disabledActions), values: ev.choices, horizonMs },
    { strict: false },
    timeline,
  );
  const trace = timeline.format();
  const sameTrace = createHash('sha256').update(trace).digest('hex') === ev.traceSha256;
  io.out(
    [
      traceHeader(scenario, strategy.name, `${ev.run ? `run ${ev.run}  ` : ''}seed ${ev.seed}  selector ${ev.selector}  window ${ev.windowMs}ms  ${ev.choices.length} choices`, horizonMs),
      ev.disabledActions.length ? `actions left out by shrinking: ${ev.disabledActions.join(', ')}` : '',
      '',
      trace,
      '',
      formatOutcome(outcome),
      '',
      'explanation:',
      ...explain(timeline.entries, outcome, timeline.uidNames).map((l) => `  ${l}`),
      '',
      sameTrace
        ? 'trace: identical to the one recorded in the evidence'
        : strategy.name !== ev.strategy
          ? `trace: differs from the recorded one (replayed against ${strategy.name}; recorded with ${ev.strategy})`
          : 'trace: DIFFERS from the one recorded in the evidence (the code changed since it was saved)',
    ].join('\n'),
  );
  // An unsettled example (evidence for the `settled` metric) fails while it hits the horizon busy.
  const recordedUnsettled = ev.failure.split('; ').includes('unsettled');
  if (recordedUnsettled ? outcome.settled : !failed(outcome)) {
    io.out(`no longer fails: the recorded failure "${ev.failure}" did not happen`);
    return opts.expectFixed ? EXIT_OK : EXIT_FIXED;
  }
  const kind = [failureKind(outcome), ...(recordedUnsettled && !outcome.settled ? ['unsettled'] : [])].filter(Boolean).join('; ');
  const recorded = ev.failure.split('; ').map((p) => p.split(' ')[0]).join(' ');
  const now = kind.split('; ').map((p) => p.split(' ')[0]).join(' ');
  io.out(recorded === now ? `still fails: ${kind}` : `fails differently: ${kind} (recorded: ${ev.failure})`);
  return opts.expectFixed ? EXIT_FIXED : EXIT_OK;
}
