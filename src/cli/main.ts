import { availableParallelism } from 'node:os';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { DEFAULT_CAMPAIGN, runScenario, type CampaignOptions, type ScenarioSummary } from '../explore/campaign.js';
import type { ExploreMode } from '../explore/jobs.js';
import { WorkerPool } from '../explore/pool.js';
import { EVIDENCE_HEADER } from '../explore/evidence.js';
import { writeFileAtomic, NotOurFile } from '../report/files.js';
import { formatTable } from '../report/table.js';
import { Timeline } from '../report/timeline.js';
import { formatOutcome } from '../report/outcome.js';
import { InputError, formatProblem } from '../scenario/errors.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import { runOnce } from '../sim/run.js';
import type { Strategy } from '../strategies/api.js';
import { BUILTIN_STRATEGIES, builtinStrategy } from '../strategies/builtin.js';
import { replayEvidence } from './replay.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
};

/** Exit codes: 0 done, 1 a replayed failure no longer fails, 2 bad input (file, flag, name). */
export const EXIT_OK = 0;
export const EXIT_FIXED = 1;
export const EXIT_BAD_INPUT = 2;

export class UsageError extends Error {}

function parser(argv: readonly string[]): Argv {
  return yargs([...argv])
    .scriptName('quotarace')
    .usage('$0 <command> [options]')
    .command('run <scenarios..>', 'run scenarios (files, or folders of .yaml files) against strategies; save shrunk evidence of each distinct failure', (y) =>
      y
        .positional('scenarios', { type: 'string', array: true, demandOption: true, describe: 'scenario files or folders' })
        .option('runs', { type: 'number', describe: "interleavings per strategy (default: the scenario's runs)" })
        .option('seed', { type: 'number', describe: "seed of the first run (default: the scenario's seed)" })
        .option('strategy', { type: 'string', array: true, nargs: 1, describe: "a strategy to run; repeatable (default: the scenario's, or every built-in)" })
        .option('explore', { choices: ['random', 'pct', 'exhaustive'] as const, default: 'random' as const, describe: 'how interleavings are chosen' })
        .option('depth', { type: 'number', default: DEFAULT_CAMPAIGN.depth, describe: 'PCT: the bug depth d' })
        .option('max-runs', { type: 'number', default: DEFAULT_CAMPAIGN.maxRuns, describe: 'exhaustive: stop after this many runs' })
        .option('window', { type: 'number', describe: `ms within which events count as concurrent (default ${DEFAULT_CAMPAIGN.window}; 0 with --explore exhaustive)` })
        .option('workers', { type: 'number', describe: "worker threads (default: the machine's cores)" })
        .option('reports', { type: 'string', default: 'reports', describe: 'where evidence files go' })
        .option('evidence', { type: 'boolean', default: true, describe: 'save evidence of failures (--no-evidence: only count)' })
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON document instead of tables' }),
    )
    .command('trace <scenario>', 'print one run as a timeline', (y) =>
      y
        .positional('scenario', { type: 'string', demandOption: true })
        .option('strategy', { type: 'string', demandOption: true, describe: 'strategy name' })
        .option('seed', { type: 'number', demandOption: true, describe: "the run's seed (tables list failing seeds)" })
        .option('window', { type: 'number', default: DEFAULT_CAMPAIGN.window, describe: 'ms within which events count as concurrent' }),
    )
    .command('replay <evidence>', 're-run a saved failure: print its timeline and explanation; exit 1 if it no longer fails', (y) =>
      y
        .positional('evidence', { type: 'string', demandOption: true })
        .option('scenario', { type: 'string', describe: 'the scenario file, if it moved since the evidence was saved' })
        .option('strategy', { type: 'string', describe: "replay the same interleaving against another strategy (default: the evidence's)" })
        .option('expect-fixed', { type: 'boolean', default: false, describe: 'for CI: exit 0 if the run no longer fails, 1 if it still does' }),
    )
    .demandCommand(1, 'expected a command: run, trace or replay')
    .strict()
    .help()
    .version(false)
    .exitProcess(false);
}

/** `quotarace` command line; returns the exit code (never throws for bad input). */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let args: Record<string, unknown>;
  let helpShown = false;
  try {
    args = await new Promise<Record<string, unknown>>((resolve, reject) => {
      parser(argv).parse([...argv], {}, (err, parsed, output) => {
        if (output) {
          helpShown = !err;
          (err ? io.err : io.out)(output);
        }
        if (err) reject(new UsageError(err.message));
        else resolve(parsed as Record<string, unknown>);
      });
    });
  } catch (e) {
    if (e instanceof UsageError) return EXIT_BAD_INPUT;
    throw e;
  }
  if (helpShown) return EXIT_OK;
  try {
    const command = String((args._ as unknown[])[0]);
    if (command === 'run') return await cmdRun(args, io);
    if (command === 'trace') return cmdTrace(args, io);
    if (command === 'replay') {
      if (Array.isArray(args.strategy)) throw new UsageError('--strategy expects one strategy name');
      return replayEvidence(String(args.evidence), { scenario: args.scenario as string | undefined, strategy: args.strategy as string | undefined, expectFixed: Boolean(args['expect-fixed']) }, io);
    }
    throw new UsageError(`unknown command "${command}"`);
  } catch (e) {
    if (e instanceof InputError) {
      io.err(e.problems.map(formatProblem).join('\n'));
      return EXIT_BAD_INPUT;
    }
    if (e instanceof UsageError || e instanceof NotOurFile) {
      io.err(`quotarace: ${e.message}`);
      return EXIT_BAD_INPUT;
    }
    throw e;
  }
}

function scenarioFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new InputError([{ file: p, line: 0, col: 0, field: '', message: 'no such file or folder' }]);
    }
    if (isDir) {
      const files = readdirSync(p).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
      if (files.length === 0) throw new InputError([{ file: p, line: 0, col: 0, field: '', message: 'folder has no .yaml scenario' }]);
      out.push(...files.map((f) => join(p, f)));
    } else out.push(p);
  }
  return out;
}

export function strategyByName(name: string): Strategy {
  const s = builtinStrategy(name);
  if (!s) throw new UsageError(`unknown strategy "${name}" (built-in: ${BUILTIN_STRATEGIES.map((b) => b.name).join(', ')})`);
  return s;
}

function resolveStrategies(scenario: Scenario, names: readonly string[] | undefined): Strategy[] {
  const wanted = names ?? scenario.strategies;
  return wanted ? wanted.map(strategyByName) : [...BUILTIN_STRATEGIES];
}

function intArg(name: string, v: unknown, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new UsageError(`--${name} expects one integer >= ${min}, got ${Array.isArray(v) ? v.join(' ') : String(v)}`);
  return v;
}

export function load(file: string): Scenario {
  return loadScenario(file, (n) => builtinStrategy(n) !== undefined);
}

async function cmdRun(args: Record<string, unknown>, io: Io): Promise<number> {
  const runs = intArg('runs', args.runs, 1);
  const seed = intArg('seed', args.seed, 0);
  const depth = intArg('depth', args.depth, 1)!;
  const maxRuns = intArg('max-runs', args['max-runs'], 1)!;
  const mode = args.explore as ExploreMode;
  const window = intArg('window', args.window, 0) ?? (mode === 'exhaustive' ? 0 : DEFAULT_CAMPAIGN.window);
  const workers = intArg('workers', args.workers, 1) ?? availableParallelism();
  // Validate every file before running any, so a typo in the last one costs no time.
  const problems: InputError[] = [];
  const loaded: Array<{ s: Scenario; text: string }> = [];
  for (const f of scenarioFiles(args.scenarios as string[])) {
    try {
      loaded.push({ s: load(f), text: readFileSync(f, 'utf8') });
    } catch (e) {
      if (e instanceof InputError) problems.push(e);
      else throw e;
    }
  }
  if (problems.length) throw new InputError(problems.flatMap((p) => p.problems));
  const plans = loaded.map(({ s, text }) => ({ s, text, strategies: resolveStrategies(s, args.strategy as string[] | undefined) }));
  const pool = new WorkerPool(workers);
  const results: ScenarioSummary[] = [];
  try {
    for (const { s, text, strategies } of plans) {
      const opts: CampaignOptions = {
        ...DEFAULT_CAMPAIGN,
        runs: runs ?? s.runs,
        seed: seed ?? s.seed,
        mode,
        depth,
        maxRuns,
        window,
        evidenceLimit: args.evidence ? DEFAULT_CAMPAIGN.evidenceLimit : 0,
      };
      const { summary, files } = await runScenario(s, text, strategies, opts, pool, String(args.reports));
      for (const f of files) writeFileAtomic(f.path, f.text, EVIDENCE_HEADER);
      results.push(summary);
      if (!args.json) io.out(formatTable(summary) + '\n');
    }
  } finally {
    await pool.close();
  }
  if (args.json) io.out(JSON.stringify({ scenarios: results }, null, 2));
  return EXIT_OK;
}

function cmdTrace(args: Record<string, unknown>, io: Io): number {
  const scenario = load(String(args.scenario));
  if (Array.isArray(args.strategy)) throw new UsageError('--strategy expects one strategy name');
  const strategy = strategyByName(String(args.strategy));
  const seed = intArg('seed', args.seed, 0)!;
  const window = intArg('window', args.window, 0)!;
  const timeline = new Timeline();
  const outcome = runOnce(scenario, strategy, seed, { trace: timeline, window });
  io.out([traceHeader(scenario, strategy.name, `seed ${seed}  window ${window}ms`), '', timeline.format(), '', formatOutcome(outcome)].join('\n'));
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
