import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yargs from 'yargs';
import { runCampaign, type ScenarioSummary } from '../explore/campaign.js';
import { formatTable } from '../report/table.js';
import { Timeline } from '../report/timeline.js';
import { InputError, formatProblem } from '../scenario/errors.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import { runOnce } from '../sim/run.js';
import type { Strategy } from '../strategies/api.js';
import { BUILTIN_STRATEGIES, builtinStrategy } from '../strategies/builtin.js';
import { formatOutcome } from '../report/outcome.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
};

/** Exit codes: 0 done, 2 bad input (file, flag, name). */
export const EXIT_OK = 0;
export const EXIT_BAD_INPUT = 2;

class UsageError extends Error {}

/** `quotarace` command line; returns the exit code (never throws for bad input). */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code = EXIT_OK;
  const parser = yargs([...argv])
    .scriptName('quotarace')
    .usage('$0 <command> [options]')
    .command(
      'run <scenarios..>',
      'run every scenario (files, or folders of .yaml files) against its strategies and print a table per scenario',
      (y) =>
        y
          .positional('scenarios', { type: 'string', array: true, demandOption: true, describe: 'scenario files or folders' })
          .option('runs', { type: 'number', describe: 'interleavings per strategy (default: the scenario\'s runs)' })
          .option('seed', { type: 'number', describe: 'seed of the first run (default: the scenario\'s seed)' })
          .option('strategy', { type: 'string', array: true, describe: 'strategies to run (default: the scenario\'s, or every built-in)' })
          .option('json', { type: 'boolean', default: false, describe: 'print one JSON document instead of tables' }),
      (args) => {
        code = cmdRun(args.scenarios as string[], args, io);
      },
    )
    .command(
      'trace <scenario>',
      'print one run as a timeline',
      (y) =>
        y
          .positional('scenario', { type: 'string', demandOption: true })
          .option('strategy', { type: 'string', demandOption: true, describe: 'strategy name' })
          .option('seed', { type: 'number', demandOption: true, describe: 'the run\'s seed (the table lists failing seeds)' }),
      (args) => {
        code = cmdTrace(args.scenario as string, args.strategy, args.seed, io);
      },
    )
    .demandCommand(1, 'expected a command: run or trace')
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  try {
    await parser.parseAsync();
    return code;
  } catch (e) {
    if (e instanceof InputError) {
      io.err(e.problems.map(formatProblem).join('\n'));
      return EXIT_BAD_INPUT;
    }
    if (e instanceof UsageError) {
      io.err(`quotarace: ${e.message}\nRun "quotarace --help" for usage.`);
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

function resolveStrategies(scenario: Scenario, names: readonly string[] | undefined): Strategy[] {
  const wanted = names ?? scenario.strategies;
  if (!wanted) return [...BUILTIN_STRATEGIES];
  return wanted.map((n) => {
    const s = builtinStrategy(n);
    if (!s) throw new UsageError(`unknown strategy "${n}" (built-in: ${BUILTIN_STRATEGIES.map((b) => b.name).join(', ')})`);
    return s;
  });
}

function positiveInt(name: string, v: number | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} expects an integer >= ${min}, got ${v}`);
  return v;
}

function load(file: string): Scenario {
  return loadScenario(file, (n) => builtinStrategy(n) !== undefined);
}

function cmdRun(paths: readonly string[], args: { runs?: number; seed?: number; strategy?: string[]; json: boolean }, io: Io): number {
  const runs = positiveInt('runs', args.runs, 1);
  const seed = positiveInt('seed', args.seed, 0);
  // Validate every file before running any, so a typo in the last one costs no time.
  const problems: InputError[] = [];
  const scenarios: Scenario[] = [];
  for (const f of scenarioFiles(paths)) {
    try {
      scenarios.push(load(f));
    } catch (e) {
      if (e instanceof InputError) problems.push(e);
      else throw e;
    }
  }
  if (problems.length) throw new InputError(problems.flatMap((p) => p.problems));
  const plans = scenarios.map((s) => ({ s, strategies: resolveStrategies(s, args.strategy) }));
  const results: ScenarioSummary[] = [];
  for (const { s, strategies } of plans) {
    const summary = runCampaign(s, strategies, runs ?? s.runs, seed ?? s.seed);
    results.push(summary);
    if (!args.json) io.out(formatTable(summary) + '\n');
  }
  if (args.json) io.out(JSON.stringify({ scenarios: results }, null, 2));
  return EXIT_OK;
}

function cmdTrace(file: string, strategyName: string, seed: number, io: Io): number {
  const scenario = load(file);
  const strategy = builtinStrategy(strategyName);
  if (!strategy) throw new UsageError(`unknown strategy "${strategyName}" (built-in: ${BUILTIN_STRATEGIES.map((b) => b.name).join(', ')})`);
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed expects an integer >= 0, got ${seed}`);
  const timeline = new Timeline();
  const outcome = runOnce(scenario, strategy, seed, { trace: timeline });
  const lat = Object.entries(scenario.latencies)
    .map(([k, r]) => `${k}=[${r.min}ms,${r.max}ms]`)
    .join(' ');
  io.out(
    [
      `scenario ${scenario.name} (${scenario.file}, sha256 ${scenario.hash.slice(0, 12)})`,
      `strategy ${strategy.name}  seed ${seed}  horizon ${scenario.horizonMs / 1000}s`,
      `latencies ${lat}`,
      '',
      timeline.format(),
      '',
      formatOutcome(outcome),
    ].join('\n'),
  );
  return EXIT_OK;
}
