import yargs, { type Argv } from 'yargs';
import { DEFAULT_CAMPAIGN } from '../explore/campaign.js';
import { badInputExit, EXIT_BAD_INPUT, EXIT_OK, processIo, UsageError, type Io } from './io.js';
import { cmdCheck } from './check.js';
import { commandHelp, isCommand, VERSION } from './help.js';
import { cmdK8sJob, k8sJobOptions } from './k8s-job.js';
import { cmdHunt } from './hunt.js';
import { cmdMerge } from './merge.js';
import { cmdReplay } from './replay.js';
import { cmdRun } from './run.js';
import { cmdTable } from './table.js';
import { cmdTrace } from './trace.js';

export type { Io } from './io.js';
export { load } from './plans.js';

/**
 * A numeric flag: parsed as text, so that `--runs abc` is quoted back as given (not "NaN"),
 * and a flag without its value is refused. intArg() checks the number.
 */
const num = (describe: string, dflt?: number) => ({
  type: 'string' as const,
  requiresArg: true,
  describe,
  ...(dflt === undefined ? {} : { default: dflt as unknown as string }),
  coerce: (v: unknown) => {
    if (Array.isArray(v)) return v; // given twice: intArg says "one integer"
    return typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v;
  },
});

/** The command line: parse, then dispatch to one module per command (run, merge, trace, replay, table, check). */
function parser(argv: readonly string[]): Argv {
  return yargs([...argv])
    .scriptName('quotarace')
    .usage('$0 <command> [options]')
    .command('run <scenarios..>', 'run scenarios (files, or folders of .yaml files) against strategies; save shrunk evidence of each distinct failure', (y) =>
      y
        .positional('scenarios', { type: 'string', array: true, demandOption: true, describe: 'scenario files or folders' })
        .option('runs', num("interleavings per strategy (default: the scenario's runs)"))
        .option('seed', num("seed of the first run (default: the scenario's seed)"))
        .option('strategy', { type: 'string', array: true, nargs: 1, describe: "a strategy to run; repeatable (default: the scenario's, or every built-in)" })
        .option('explore', { choices: ['random', 'pct', 'exhaustive'] as const, default: 'random' as const, describe: 'how interleavings are chosen' })
        .option('depth', num('PCT: the bug depth d', DEFAULT_CAMPAIGN.depth))
        .option('max-runs', num('exhaustive: stop after this many runs', DEFAULT_CAMPAIGN.maxRuns))
        .option('delays', num('exhaustive: only runs of at most this many delays (complete up to K delays)'))
        .option('latency-points', num('exhaustive: search latency points 0 … N−1, each with its own fixed latency per stream (default 1)'))
        .option('reduction', { choices: ['dpor', 'none'] as const, describe: 'exhaustive without --delays: DPOR (default) or none (every option, to cross-check DPOR)' })
        .option('window', num(`ms within which events count as concurrent (default ${DEFAULT_CAMPAIGN.window}; 0 with --explore exhaustive)`))
        .option('workers', num("worker threads (default: the machine's cores)"))
        .option('reports', { type: 'string', default: 'reports', describe: 'where reports and evidence go' })
        .option('evidence', { type: 'boolean', default: true, describe: 'save evidence of failures (--no-evidence: only count)' })
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON document instead of tables' })
        .option('wide', { type: 'boolean', default: false, describe: 'tables with every counter (wider than 120 columns)' })
        .option('junit', { type: 'string', describe: 'also write JUnit XML here (one test case per scenario × strategy × expectation)' })
        .option('shard', { type: 'string', describe: 'i/n: run only this shard\'s share of the runs and write a results file for `merge`' })
        .option('results', { type: 'string', describe: 'with --shard: where the results file goes (default reports/results-shard-i-of-n.json)' })
        .option('progress', { type: 'boolean', describe: 'progress bar on stderr (default: on a terminal, outside CI)' })
        .option('allow-module', { type: 'string', array: true, nargs: 1, describe: "load this strategy module (or the modules in this folder) that a scenario's strategies: names" })
        .option('strategy-timeout', num('seconds without progress before a user strategy is stopped (default 10; env QUOTARACE_STRATEGY_TIMEOUT)'))
        .option('strategy-memory', num("MB of heap for a user strategy's worker (default 1024; env QUOTARACE_STRATEGY_MEMORY)")),
    )
    .command('merge <results..>', 'combine shard results into the same totals, reports and gate as one unsharded run', (y) =>
      y
        .positional('results', { type: 'string', array: true, demandOption: true })
        .option('workers', num("worker threads (default: the machine's cores)"))
        .option('reports', { type: 'string', default: 'reports', describe: 'where reports and evidence go' })
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON document instead of tables' })
        .option('wide', { type: 'boolean', default: false, describe: 'tables with every counter (wider than 120 columns)' })
        .option('junit', { type: 'string', describe: 'also write JUnit XML here' })
        .option('allow-module', { type: 'string', array: true, nargs: 1, describe: 'load this strategy module although it is outside the working tree (the results files name it)' })
        .option('strategy-timeout', num('seconds without progress before a user strategy is stopped (default 10; env QUOTARACE_STRATEGY_TIMEOUT)'))
        .option('strategy-memory', num("MB of heap for a user strategy's worker (default 1024; env QUOTARACE_STRATEGY_MEMORY)")),
    )
    .command('k8s-job <scenarios..>', 'print a Kubernetes Indexed Job that runs the campaign in --shards pods, and the Job that merges them', k8sJobOptions)
    .command('trace <scenario>', 'print one run as a timeline', (y) =>
      y
        .positional('scenario', { type: 'string', demandOption: true })
        .option('strategy', { type: 'string', demandOption: true, describe: 'strategy name or module path' })
        .option('run', { type: 'string', describe: 'the run id, as listed under failing runs (random:N, pct:dD:N, exhaustive:N:branches)' })
        .option('seed', num('shorthand for --run random:N'))
        .option('window', num(`with --seed: ms within which events count as concurrent (default ${DEFAULT_CAMPAIGN.window})`))
        .option('only', { type: 'string', requiresArg: true, describe: 'print only: writes, refusals, notes, or actor=NAME' })
        .option('strategy-timeout', num('seconds without progress before a user strategy is stopped (default 10; env QUOTARACE_STRATEGY_TIMEOUT)'))
        .option('strategy-memory', num("MB of heap for a user strategy's worker (default 1024; env QUOTARACE_STRATEGY_MEMORY)")),
    )
    .command('replay <evidence>', 're-run a saved failure: print its timeline and explanation; exit 1 if it no longer fails', (y) =>
      y
        .positional('evidence', { type: 'string', demandOption: true })
        .option('scenario', { type: 'string', describe: 'the scenario file, if it moved since the evidence was saved' })
        .option('strategy', { type: 'string', describe: "replay the same interleaving against another strategy (default: the evidence's)" })
        .option('expect-fixed', { type: 'boolean', default: false, describe: 'for CI: exit 0 if the run no longer fails, 1 if it still does' })
        .option('allow-module', { type: 'string', array: true, nargs: 1, describe: 'load this strategy module although it is outside the working tree (the evidence names it)' })
        .option('strategy-timeout', num('seconds without progress before a user strategy is stopped (default 10; env QUOTARACE_STRATEGY_TIMEOUT)'))
        .option('strategy-memory', num("MB of heap for a user strategy's worker (default 1024; env QUOTARACE_STRATEGY_MEMORY)")),
    )
    .command('table <scenarios..>', 'print the strategies × scenarios table (quota correct / migrations succeeded) as Markdown', (y) =>
      y
        .positional('scenarios', { type: 'string', array: true, demandOption: true })
        .option('strategy', { type: 'string', array: true, nargs: 1, describe: 'a strategy (built-in name or module path) to tabulate; repeatable (default: every built-in and the scenarios\' own)' })
        .option('workers', num("worker threads (default: the machine's cores)"))
        .option('update', { type: 'string', describe: 'replace the generated table between the markers in this Markdown file' })
        .option('allow-module', { type: 'string', array: true, nargs: 1, describe: "load this strategy module (or the modules in this folder) that a scenario's strategies: names" })
        .option('strategy-timeout', num('seconds without progress before a user strategy is stopped (default 10; env QUOTARACE_STRATEGY_TIMEOUT)'))
        .option('strategy-memory', num("MB of heap for a user strategy's worker (default 1024; env QUOTARACE_STRATEGY_MEMORY)")),
    )
    .command('hunt', 'search the scenario space for the smallest scenario that breaks a strategy', (y) =>
      y
        .option('strategy', { type: 'string', demandOption: true, describe: 'the strategy on trial: a built-in name or a module path' })
        .option('baseline', { type: 'string', requiresArg: true, describe: 'keep only failures in scenarios this strategy passes entirely' })
        .option('budget', { type: 'string', requiresArg: true, describe: 'interleavings to spend (default 20000), or wall time (10m)' })
        .option('seed', num('the search seed (default 1)'))
        .option('space', { type: 'string', requiresArg: true, describe: 'a space file narrowing or widening the default space' })
        .option('out', { type: 'string', requiresArg: true, describe: 'where the scenario, evidence and report go (default reports/hunt)' })
        .option('workers', num("worker threads (default: the machine's cores)"))
        .option('kinds', num('stop after this many distinct failure kinds (default 1)'))
        .option('kind', { type: 'string', array: true, nargs: 1, describe: 'count only failure kinds containing this text; repeat: all of them' })
        .option('shrink', num('scenario candidates the shrinker may try (default 200)'))
        .option('progress', { type: 'boolean', describe: 'progress on stderr (default: on a terminal, outside CI)' })
        .option('strategy-timeout', num('seconds without progress before a user strategy is stopped (default 10; env QUOTARACE_STRATEGY_TIMEOUT)'))
        .option('strategy-memory', num("MB of heap for a user strategy's worker (default 1024; env QUOTARACE_STRATEGY_MEMORY)")),
    )
    .command('check <strategy>', 'type-check a strategy module against the quotarace types, then load it', (y) => y.positional('strategy', { type: 'string', demandOption: true }))
    .demandCommand(1, 'expected a command: run, trace, replay, merge, table, check, k8s-job or hunt')
    .strict()
    .help(false)
    .version(false)
    .exitProcess(false);
}

const COMMANDS: Record<string, (args: Record<string, unknown>, io: Io) => Promise<number>> = {
  run: cmdRun,
  merge: cmdMerge,
  'k8s-job': cmdK8sJob,
  table: cmdTable,
  trace: cmdTrace,
  check: cmdCheck,
  replay: cmdReplay,
  hunt: cmdHunt,
};

/**
 * Ctrl-C and a CI job's SIGTERM keep their default action, on purpose: the process ends at
 * once. A JavaScript handler would run only when this thread is free, and built-in
 * strategies' runs go inline in it (--workers 1, or a single job) for seconds at a time, so
 * Ctrl-C would wait for them. What an interrupted run leaves is made safe beforehand
 * instead: before its first report replaces an earlier one, the folder's index.html and
 * JUnit file say PARTIAL (publish.ts); its lock names a pid that is gone, so the next run
 * takes it over (cli/reports-lock.ts); every file is written to a temporary name and renamed.
 */

/** `quotarace` command line; returns the exit code (never throws for bad input). */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  // --version and -h/--help are answered before parsing, so a help request never runs anything.
  const first = argv.find((a) => !a.startsWith('-'));
  const command = first !== undefined && isCommand(first) ? first : undefined;
  if (argv.includes('--version') || (argv.length === 1 && argv[0] === '-v')) {
    io.out(`quotarace ${VERSION}`);
    return EXIT_OK;
  }
  if (argv.length === 0) {
    io.err('quotarace: expected a command: run, trace, replay, merge, table, check, k8s-job or hunt\nSee: quotarace --help');
    return EXIT_BAD_INPUT;
  }
  // A first word that names no command (a typo, a flag's value before the command): say so, not "unknown option".
  if (first !== undefined && command === undefined && first === argv[0] && first !== 'help') {
    io.err(`quotarace: unknown command "${first}" (commands: ${COMMAND_LIST})\nSee: quotarace --help`);
    return EXIT_BAD_INPUT;
  }
  if (argv.includes('-h') || argv.includes('--help') || (argv[0] === 'help' && argv.length <= 2)) {
    const which = argv[0] === 'help' ? argv[1] : command;
    io.out(commandHelp(which !== undefined && isCommand(which) ? which : undefined));
    return EXIT_OK;
  }
  let args: Record<string, unknown>;
  try {
    args = await new Promise<Record<string, unknown>>((resolve, reject) => {
      parser(argv).parse([...argv], {}, (err, parsed) => {
        if (err) reject(new UsageError(err.message));
        else resolve(parsed as Record<string, unknown>);
      });
    });
  } catch (e) {
    if (e instanceof UsageError) {
      // One or two lines: what was wrong, and where the help is; never the whole help.
      io.err(`quotarace${command ? ` ${command}` : ''}: ${shortUsageError(e.message, command)}\nSee: quotarace ${command ? `${command} ` : ''}--help`);
      return EXIT_BAD_INPUT;
    }
    throw e;
  }
  try {
    const command = String((args._ as unknown[])[0]);
    checkPathFlags(command, args);
    const run = COMMANDS[command];
    if (!run) throw new UsageError(`unknown command "${command}"`);
    return await run({ ...args, $argv: [...argv] }, io);
  } catch (e) {
    const code = badInputExit(e, io);
    if (code !== undefined) return code;
    throw e;
  }
}

/** Per command, its flags naming a file or folder that quotarace writes or reads (merge's `results` is its positional list). */
const PATH_FLAGS: Readonly<Record<string, readonly string[]>> = {
  run: ['reports', 'junit', 'results'],
  merge: ['reports', 'junit'],
  table: ['update'],
  hunt: ['space', 'out'],
  replay: ['scenario'],
};

/**
 * A path flag given twice would reach the command as "a,b", and an empty one (`--junit ''`,
 * an unset CI variable) would be skipped as if absent: both are refused, not guessed.
 */
function checkPathFlags(command: string, args: Record<string, unknown>): void {
  for (const flag of PATH_FLAGS[command] ?? []) {
    const v = args[flag];
    if (Array.isArray(v)) throw new UsageError(`--${flag} is given ${v.length} times; expected one path`);
    if (typeof v === 'string' && v.trim() === '') throw new UsageError(`--${flag} needs a path, got an empty string`);
  }
}

/** A process ending while main() has not returned (process.exit in a module, an unsettled promise) must not say 0. */
export { EXIT_FAILED as EXIT_UNFINISHED } from './io.js';

const COMMAND_LIST = 'run, trace, replay, merge, table, check, k8s-job, hunt';
/** What each command's positional arguments are, for "expected …" when none is given. */
const WHAT: Record<string, string> = {
  run: 'a scenario file or folder',
  trace: 'a scenario file',
  replay: 'an evidence file',
  merge: "the shards' results files",
  table: 'a scenario file or folder',
  check: 'a strategy module',
  'k8s-job': 'a scenario file or folder',
};

/** yargs' messages, made one line: "Unknown argument: bogus" → "unknown option --bogus". */
function shortUsageError(message: string, command: string | undefined): string {
  if (/^Not enough non-option arguments: got 0, need at least \d+$/.test(message)) return command ? `expected ${WHAT[command] ?? 'an argument'}` : `expected a command first: ${COMMAND_LIST}`;
  const unknown = /^Unknown arguments?: (.*)$/.exec(message);
  if (unknown) return `unknown option ${unknown[1]!.split(', ').map((a) => (a.startsWith('-') || /^[a-z][\w-]*$/.test(a) ? `--${a.replace(/^-+/, '')}` : a)).join(', ')}`;
  const missing = /^Not enough arguments following: (.*)$/.exec(message);
  if (missing) return `--${missing[1]} needs a value`;
  const invalid = /^Invalid values?:\s*Argument: (\S+), Given: (.*), Choices: (.*)$/s.exec(message.replace(/\n/g, ' '));
  if (invalid) return `--${invalid[1]} expects one of ${invalid[3]!.trim()}, got ${invalid[2]!.trim()}`;
  return message.replace(/\s*\n\s*/g, '; ');
}
