import yargs, { type Argv } from 'yargs';
import { DEFAULT_CAMPAIGN } from '../explore/campaign.js';
import { badInputExit, EXIT_BAD_INPUT, EXIT_OK, processIo, UsageError, type Io } from './io.js';
import { cmdK8sJob, k8sJobOptions } from './k8s-job.js';
import { cmdMerge } from './merge.js';
import { cmdReplay } from './replay.js';
import { cmdRun } from './run.js';
import { cmdTable } from './table.js';
import { cmdTrace } from './trace.js';

export type { Io } from './io.js';
export { load } from './plans.js';

/** The command line: parse, then dispatch to one module per command (run, merge, trace, replay, table). */
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
        .option('reports', { type: 'string', default: 'reports', describe: 'where reports and evidence go' })
        .option('evidence', { type: 'boolean', default: true, describe: 'save evidence of failures (--no-evidence: only count)' })
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON document instead of tables' })
        .option('junit', { type: 'string', describe: 'also write JUnit XML here (one test case per scenario × strategy × expectation)' })
        .option('shard', { type: 'string', describe: 'i/n: run only this shard\'s share of the runs and write a results file for `merge`' })
        .option('results', { type: 'string', describe: 'with --shard: where the results file goes (default reports/results-shard-i-of-n.json)' })
        .option('progress', { type: 'boolean', describe: 'progress bar on stderr (default: on a terminal, outside CI)' }),
    )
    .command('merge <results..>', 'combine shard results into the same totals, reports and gate as one unsharded run', (y) =>
      y
        .positional('results', { type: 'string', array: true, demandOption: true })
        .option('workers', { type: 'number', describe: "worker threads (default: the machine's cores)" })
        .option('reports', { type: 'string', default: 'reports', describe: 'where reports and evidence go' })
        .option('json', { type: 'boolean', default: false, describe: 'print one JSON document instead of tables' })
        .option('junit', { type: 'string', describe: 'also write JUnit XML here' }),
    )
    .command('k8s-job <scenarios..>', 'print a Kubernetes Indexed Job that runs the campaign in --shards pods, and the Job that merges them', k8sJobOptions)
    .command('trace <scenario>', 'print one run as a timeline', (y) =>
      y
        .positional('scenario', { type: 'string', demandOption: true })
        .option('strategy', { type: 'string', demandOption: true, describe: 'strategy name or module path' })
        .option('run', { type: 'string', describe: 'the run id, as listed under failing runs (random:N, pct:dD:N, exhaustive:N:branches)' })
        .option('seed', { type: 'number', describe: 'shorthand for --run random:N' })
        .option('window', { type: 'number', describe: `with --seed: ms within which events count as concurrent (default ${DEFAULT_CAMPAIGN.window})` }),
    )
    .command('replay <evidence>', 're-run a saved failure: print its timeline and explanation; exit 1 if it no longer fails', (y) =>
      y
        .positional('evidence', { type: 'string', demandOption: true })
        .option('scenario', { type: 'string', describe: 'the scenario file, if it moved since the evidence was saved' })
        .option('strategy', { type: 'string', describe: "replay the same interleaving against another strategy (default: the evidence's)" })
        .option('expect-fixed', { type: 'boolean', default: false, describe: 'for CI: exit 0 if the run no longer fails, 1 if it still does' }),
    )
    .command('table <scenarios..>', 'print the strategies × scenarios table (quota correct / migrations succeeded) as Markdown', (y) =>
      y
        .positional('scenarios', { type: 'string', array: true, demandOption: true })
        .option('workers', { type: 'number', describe: "worker threads (default: the machine's cores)" })
        .option('update', { type: 'string', describe: 'replace the generated table between the markers in this Markdown file' }),
    )
    .demandCommand(1, 'expected a command: run, trace, replay, merge or table')
    .strict()
    .help()
    .version(false)
    .exitProcess(false);
}

const COMMANDS: Record<string, (args: Record<string, unknown>, io: Io) => Promise<number>> = {
  run: cmdRun,
  merge: cmdMerge,
  'k8s-job': cmdK8sJob,
  table: cmdTable,
  trace: cmdTrace,
  replay: cmdReplay,
};

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
    const run = COMMANDS[command];
    if (!run) throw new UsageError(`unknown command "${command}"`);
    return await run(args, io);
  } catch (e) {
    const code = badInputExit(e, io);
    if (code !== undefined) return code;
    throw e;
  }
}
