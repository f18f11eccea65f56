import { availableParallelism } from 'node:os';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { MATRIX_END, MATRIX_START, spliceMatrix, strategyMatrix } from '../report/matrix.js';
import { summarize, type StrategySummary } from '../explore/tally.js';
import { join, resolve } from 'node:path';
import { isStrategyPath, loadStrategyFile, strategyRef, StrategyLoadError } from '../strategies/loader.js';
import { StrategyFault } from '../strategies/fault.js';
import { runPilot } from '../explore/pilot.js';
import type { RunOutcome } from '../sim/outcome.js';
import yargs, { type Argv } from 'yargs';
import { DEFAULT_CAMPAIGN, finishScenario, tallyScenario, type CampaignOptions, type ScenarioResult, type ScenarioSummary } from '../explore/campaign.js';
import { emptyTally, mergeTally } from '../explore/tally.js';
import { checkExpectations } from '../gate/expect.js';
import { junitXml } from '../gate/junit.js';
import { parseShard, shardRange, type ResultsFile } from '../gate/shard.js';
import { stepSummary } from '../gate/step-summary.js';
import { indexReport, REPORT_MARKER, scenarioReport, type ExpectationOutcome } from '../report/html.js';
import { Progress } from './progress.js';
import type { ExploreMode } from '../explore/jobs.js';
import { WorkerPool } from '../explore/pool.js';
import { EVIDENCE_HEADER } from '../explore/evidence.js';
import { checkOutputs, writeFileAtomic, NotOurFile } from '../report/files.js';
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

/** Exit codes: 0 done; 1 an expectation failed (run, merge) or a replayed failure no longer fails; 2 bad input. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
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
    if (command === 'merge') return await cmdMerge(args, io);
    if (command === 'table') return await cmdTable(args, io);
    if (command === 'trace') return await cmdTrace(args, io);
    if (command === 'replay') {
      if (Array.isArray(args.strategy)) throw new UsageError('--strategy expects one strategy name');
      return await replayEvidence(String(args.evidence), { scenario: args.scenario as string | undefined, strategy: args.strategy as string | undefined, expectFixed: Boolean(args['expect-fixed']) }, io);
    }
    throw new UsageError(`unknown command "${command}"`);
  } catch (e) {
    if (e instanceof InputError) {
      io.err(e.problems.map(formatProblem).join('\n'));
      return EXIT_BAD_INPUT;
    }
    if (e instanceof UsageError || e instanceof NotOurFile || e instanceof StrategyLoadError) {
      io.err(`quotarace: ${e.message}`);
      return EXIT_BAD_INPUT;
    }
    throw e;
  }
}

/** A path as one shell word. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
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

/** A built-in's name, or a path to a strategy module (relative to the working directory). */
export async function strategyByName(ref: string): Promise<Strategy> {
  if (isStrategyPath(ref)) {
    const abs = resolve(ref);
    if (!existsSync(abs)) throw new UsageError(`no strategy module at ${ref}`);
    return loadStrategyFile(abs);
  }
  const s = builtinStrategy(ref);
  if (!s) throw new UsageError(`unknown strategy "${ref}" (built-in: ${BUILTIN_STRATEGIES.map((b) => b.name).join(', ')}; or a path to a .ts/.js module)`);
  return s;
}

async function resolveStrategies(scenario: Scenario, names: readonly string[] | undefined): Promise<Strategy[]> {
  if (names) return Promise.all(names.map(strategyByName));
  if (scenario.strategies) return Promise.all(scenario.strategies.map((r) => (isStrategyPath(r) ? loadStrategyFile(r) : strategyByName(r))));
  return [...BUILTIN_STRATEGIES];
}

function intArg(name: string, v: unknown, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new UsageError(`--${name} expects one integer >= ${min}, got ${Array.isArray(v) ? v.join(' ') : String(v)}`);
  return v;
}

export function load(file: string): Scenario {
  return loadScenario(file, (n) => builtinStrategy(n) !== undefined);
}

interface Plan {
  readonly s: Scenario;
  readonly text: string;
  readonly strategies: Strategy[];
  readonly opts: CampaignOptions;
}

async function loadPlans(paths: readonly string[], strategyNames: string[] | undefined, make: (s: Scenario) => CampaignOptions): Promise<Plan[]> {
  // Validate every file before running any, so a typo in the last one costs no time.
  const problems: InputError[] = [];
  const loaded: Array<{ s: Scenario; text: string }> = [];
  for (const f of scenarioFiles(paths)) {
    try {
      loaded.push({ s: load(f), text: readFileSync(f, 'utf8') });
    } catch (e) {
      if (e instanceof InputError) problems.push(e);
      else throw e;
    }
  }
  if (problems.length) throw new InputError(problems.flatMap((p) => p.problems));
  const plans: Plan[] = [];
  for (const { s, text } of loaded) plans.push({ s, text, strategies: await resolveStrategies(s, strategyNames), opts: make(s) });
  return plans;
}

function campaignOptions(args: Record<string, unknown>, s: Scenario | undefined): CampaignOptions {
  const mode = args.explore as ExploreMode;
  return {
    ...DEFAULT_CAMPAIGN,
    runs: intArg('runs', args.runs, 1) ?? s?.runs ?? 100,
    seed: intArg('seed', args.seed, 0) ?? s?.seed ?? 1,
    mode,
    depth: intArg('depth', args.depth, 1)!,
    maxRuns: intArg('max-runs', args['max-runs'], 1)!,
    window: intArg('window', args.window, 0) ?? (mode === 'exhaustive' ? 0 : DEFAULT_CAMPAIGN.window),
    evidenceLimit: args.evidence === false ? 0 : DEFAULT_CAMPAIGN.evidenceLimit,
  };
}

interface Finished {
  readonly summary: ScenarioSummary;
  readonly expectations: readonly ExpectationOutcome[];
  readonly href: string;
}

/** Evidence, the scenario's HTML report, its table; the expectations checked. */
async function publish(plan: Plan, result: ScenarioResult, reportsDir: string, json: boolean, io: Io, chosen: boolean): Promise<Finished> {
  for (const f of result.files) writeFileAtomic(f.path, f.text, EVIDENCE_HEADER);
  const expectations = checkExpectations(plan.s, result.summary, chosen);
  const html = await scenarioReport({
    scenario: plan.s,
    summary: result.summary,
    bits: result.bits,
    failures: result.failures.map((f) => ({ ...f, replay: `npx quotarace replay ${shellQuote(f.evidencePath)}` })),
    expectations,
  });
  const href = `${plan.s.name}.html`;
  writeFileAtomic(join(reportsDir, href), html, REPORT_MARKER);
  if (!json) io.out(formatTable(result.summary) + '\n');
  return { summary: result.summary, expectations, href };
}

/** After every scenario: the index, JUnit, the GitHub step summary, the gate's verdict. */
function conclude(done: readonly Finished[], plans: readonly Plan[], args: Record<string, unknown>, io: Io): number {
  const reportsDir = String(args.reports);
  writeFileAtomic(join(reportsDir, 'index.html'), indexReport(done), REPORT_MARKER);
  if (args.json) io.out(JSON.stringify({ scenarios: done.map((d) => d.summary) }, null, 2));
  const suites = done.map((d, i) => ({ name: d.summary.name, file: plans[i]!.s.file, expectations: d.expectations }));
  if (args.junit) writeFileAtomic(String(args.junit), junitXml(suites), '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="quotarace"');
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, stepSummary(done));
  const broken = done.flatMap((d) => d.summary.strategies.filter((s) => s.error).map((s) => s.error!));
  for (const b of broken) io.err(`ERROR ${b}`);
  const failed = done.flatMap((d) => d.expectations.filter((e) => !e.passed));
  for (const e of failed) io.err(`FAIL ${e.scenario} / ${e.strategy}: ${e.name}: ${e.message}`);
  if (broken.length) {
    io.err(`quotarace: ${broken.length} strategy run${broken.length === 1 ? '' : 's'} failed with an error; the other strategies' results stand`);
    return EXIT_FAILED;
  }
  if (failed.length) {
    io.err(`quotarace: ${failed.length} expectation${failed.length === 1 ? '' : 's'} not met`);
    return EXIT_FAILED;
  }
  return EXIT_OK;
}

async function cmdRun(args: Record<string, unknown>, io: Io): Promise<number> {
  const workers = intArg('workers', args.workers, 1) ?? availableParallelism();
  const shard = args.shard === undefined ? undefined : parseShard(String(args.shard));
  if (args.shard !== undefined && !shard) throw new UsageError(`--shard expects i/n with 1 <= i <= n, got ${String(args.shard)}`);
  const plans = await loadPlans(args.scenarios as string[], args.strategy as string[] | undefined, (s) => campaignOptions(args, s));
  if (shard && plans.some((p) => p.opts.mode === 'exhaustive')) throw new UsageError('--shard splits seeds; --explore exhaustive has none to split');
  checkOutputs(String(args.reports), [args.junit as string | undefined, args.results as string | undefined]);
  const pool = new WorkerPool(workers);
  const progress = Progress.auto(args.progress as boolean | undefined);
  const reportsDir = String(args.reports);
  try {
    if (shard) {
      const scenarios = [];
      for (const p of plans) {
        const range = shardRange(p.opts.seed, p.opts.runs, shard);
        const tallies = await tallyScenario(p.s, p.text, p.strategies, p.opts, pool, range, (d, t) => progress.update(`${p.s.name} shard ${shard.index}/${shard.count}`, d, t));
        scenarios.push({ file: p.s.file, sha256: p.s.hash, options: p.opts, strategies: p.strategies.map((s) => strategyRef(s)), range, tallies });
      }
      progress.clear();
      const file = String(args.results ?? join(reportsDir, `results-shard-${shard.index}-of-${shard.count}.json`));
      const results: ResultsFile = { format: 'quotarace-results-v1', shard, scenarios };
      writeFileAtomic(file, JSON.stringify(results) + '\n', '{"format":"quotarace-results-v1"');
      if (args.json) io.out(JSON.stringify({ shard, results: file, scenarios: scenarios.map((s) => ({ file: s.file, from: s.range.from, to: s.range.to })) }, null, 2));
      else io.out(`shard ${shard.index}/${shard.count}: ${plans.length} scenario(s) written to ${file}; combine every shard with: quotarace merge <results files>`);
      return EXIT_OK;
    }
    const done: Finished[] = [];
    for (const p of plans) {
      const tallies = await tallyScenario(p.s, p.text, p.strategies, p.opts, pool, { from: p.opts.seed, to: p.opts.seed + p.opts.runs }, (d, t) => progress.update(p.s.name, d, t));
      progress.clear();
      const result = await finishScenario(p.s, p.text, p.strategies, tallies, p.opts, pool, reportsDir);
      done.push(await publish(p, result, reportsDir, Boolean(args.json), io, args.strategy !== undefined));
    }
    return conclude(done, plans, args, io);
  } finally {
    progress.clear();
    await pool.close();
  }
}

/** Every built-in strategy (plus the scenario's own modules) on every scenario: the README's table. */
async function cmdTable(args: Record<string, unknown>, io: Io): Promise<number> {
  const plans = await loadPlans(args.scenarios as string[], undefined, (s) => ({ ...campaignOptions({ ...args, explore: 'random' }, s), evidenceLimit: 0 }));
  const pool = new WorkerPool(intArg('workers', args.workers, 1) ?? availableParallelism());
  const all = new Map<string, Strategy>();
  for (const b of BUILTIN_STRATEGIES) all.set(b.name, b);
  const columns: Array<{ name: string; runs: number; results: Map<string, StrategySummary | string> }> = [];
  try {
    for (const p of plans) {
      const strategies = [...BUILTIN_STRATEGIES, ...p.strategies.filter((s) => !BUILTIN_STRATEGIES.includes(s))];
      for (const s of strategies) all.set(s.name, s);
      const tallies = await tallyScenario(p.s, p.text, strategies, p.opts, pool, { from: p.opts.seed, to: p.opts.seed + p.opts.runs });
      columns.push({ name: p.s.name, runs: p.opts.runs, results: new Map(tallies.map((t) => [t.strategy, t.fault ? t.fault.message : summarize(t.strategy, t.tally)])) });
    }
  } finally {
    await pool.close();
  }
  const table = strategyMatrix([...all.values()], columns);
  if (args.update) {
    const file = String(args.update);
    const doc = readFileSync(file, 'utf8');
    const next = spliceMatrix(doc, table);
    if (next === undefined) throw new UsageError(`${file} has no generated-table markers (${MATRIX_START} … ${MATRIX_END})`);
    if (next !== doc) writeFileSync(file, next);
    io.out(`${file}: strategy table ${next === doc ? 'unchanged' : 'updated'}`);
  } else io.out(table);
  return EXIT_OK;
}

async function cmdMerge(args: Record<string, unknown>, io: Io): Promise<number> {
  const files = args.results as string[];
  const shards: ResultsFile[] = files.map((f) => {
    let doc: ResultsFile;
    try {
      doc = JSON.parse(readFileSync(f, 'utf8')) as ResultsFile;
    } catch (e) {
      throw new InputError([{ file: f, line: 0, col: 0, field: '', message: `not a readable results file (${(e as Error).message.split('\n')[0]})` }]);
    }
    if (doc.format !== 'quotarace-results-v1') throw new InputError([{ file: f, line: 1, col: 1, field: 'format', message: 'expected a quotarace results file (format "quotarace-results-v1")' }]);
    return doc;
  });
  const count = shards[0]!.shard.count;
  const seen = new Set<number>();
  for (const [i, sh] of shards.entries()) {
    if (sh.shard.count !== count) throw new UsageError(`${files[i]} is shard ${sh.shard.index}/${sh.shard.count}, the others are of ${count}`);
    if (seen.has(sh.shard.index)) throw new UsageError(`shard ${sh.shard.index}/${count} is given twice`);
    const sameRun =
      sh.scenarios.length === shards[0]!.scenarios.length &&
      sh.scenarios.every((x, j) => {
        const y = shards[0]!.scenarios[j]!;
        return x.file === y.file && x.sha256 === y.sha256 && JSON.stringify(x.options) === JSON.stringify(y.options) && JSON.stringify(x.strategies) === JSON.stringify(y.strategies);
      });
    if (!sameRun) throw new UsageError(`${files[i]} was run with other scenarios, scenario contents or options than ${files[0]}`);
    seen.add(sh.shard.index);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) throw new UsageError(`missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')}`);
  shards.sort((a, b) => a.shard.index - b.shard.index);
  checkOutputs(String(args.reports), [args.junit as string | undefined]);
  const workers = intArg('workers', args.workers, 1) ?? availableParallelism();
  const pool = new WorkerPool(workers);
  const reportsDir = String(args.reports);
  const plans: Plan[] = [];
  const done: Finished[] = [];
  try {
    for (const [i, entry] of shards[0]!.scenarios.entries()) {
      const opts = entry.options;
      const s = load(entry.file);
      if (s.hash !== entry.sha256) throw new UsageError(`${entry.file} changed since the shards ran (sha256 ${s.hash.slice(0, 12)}…, shards have ${entry.sha256.slice(0, 12)}…)`);
      const plan: Plan = { s, text: readFileSync(entry.file, 'utf8'), strategies: await Promise.all(entry.strategies.map((r) => strategyByName(r))), opts };
      plans.push(plan);
      const tallies = plan.strategies.map((st) => {
        let tally = emptyTally();
        for (const sh of shards) {
          const part = sh.scenarios[i];
          if (!part || part.file !== entry.file) throw new UsageError(`the shards ran different scenarios (${part?.file ?? 'none'} vs ${entry.file})`);
          const t = part.tallies.find((x) => x.strategy === st.name);
          if (!t) throw new UsageError(`a shard has no results for ${entry.file} / ${st.name}`);
          tally = mergeTally(tally, t.tally);
        }
        return { strategy: st.name, tally };
      });
      const result = await finishScenario(s, plan.text, plan.strategies, tallies, opts, pool, reportsDir);
      done.push(await publish(plan, result, reportsDir, Boolean(args.json), io, false));
    }
    return conclude(done, plans, args, io);
  } finally {
    await pool.close();
  }
}

async function cmdTrace(args: Record<string, unknown>, io: Io): Promise<number> {
  const scenario = load(String(args.scenario));
  if (Array.isArray(args.strategy)) throw new UsageError('--strategy expects one strategy name');
  const strategy = await strategyByName(String(args.strategy));
  const seed = intArg('seed', args.seed, 0)!;
  const window = intArg('window', args.window, 0)!;
  const timeline = new Timeline();
  let outcome: RunOutcome;
  try {
    outcome = runOnce(scenario, strategy, seed, { trace: timeline, window, slots: runPilot(scenario, strategy, window).slots });
  } catch (e) {
    if (e instanceof StrategyFault) {
      io.out(timeline.format());
      io.err(`ERROR ${e.with({ seed, scenario: scenario.name }).describe()}`);
      return EXIT_FAILED;
    }
    throw e;
  }
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
