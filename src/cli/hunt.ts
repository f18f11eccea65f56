import { join } from 'node:path';
import { parseDuration } from '../scenario/duration.js';
import { unsupportedKnobs } from '../hunt/capabilities.js';
import { HuntFault } from '../hunt/evaluate.js';
import { checkHuntOutputs, huntName, writeFound } from '../hunt/output.js';
import { search } from '../hunt/search.js';
import { shrinkScenario } from '../hunt/shrink-scenario.js';
import { size } from '../hunt/genome.js';
import { loadSpace } from '../hunt/space-file.js';
import { DEFAULT_SPACE, describeSpace } from '../hunt/space.js';
import { publish, type Finished } from './publish.js';
import { writeFileAtomic } from '../report/files.js';
import { indexReport, REPORT_MARKER } from '../report/html.js';
import { EXIT_FAILED, EXIT_OK, intArg, LIMITS, UsageError, type Io } from './io.js';
import { defaultWorkers } from './cpus.js';
import { makePool, resolveCliStrategy } from './plans.js';
import { Progress } from './progress.js';

/** The default budget: interleavings (deterministic); `--budget 10m` is wall time instead. */
/** Failures a hunt saw but did not count, said beside "nothing counted failed": a --kind typo must not read as "nothing failed". */
function passedOverNote(passed: ReadonlyMap<string, number>, want: readonly string[] | undefined, baseline: string | undefined): string {
  const runs = [...passed.values()].reduce((a, b) => a + b, 0);
  const kinds = [...passed.keys()];
  const shown = kinds.slice(0, 3).map((k) => `"${k}"`).join(', ');
  const why = [want !== undefined ? `not of a kind containing ${want.map((w) => `"${w}"`).join(' and ')}` : '', baseline ? `in scenarios where ${baseline} fails too` : ''].filter(Boolean).join(', or ');
  return `${runs.toLocaleString('en-US')} failing interleaving${runs === 1 ? '' : 's'} of ${kinds.length} other kind${kinds.length === 1 ? '' : 's'} were not counted, ${why}: ${shown}${kinds.length > 3 ? ', …' : ''}`;
}

export const DEFAULT_BUDGET_RUNS = 20_000;
const DEFAULT_SHRINK = 200;

/** "--budget 5000" (interleavings) or "--budget 10m" (wall clock). */
export function parseBudget(v: unknown): { runs: number } | { ms: number } {
  if (v === undefined) return { runs: DEFAULT_BUDGET_RUNS };
  const s = String(v).trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= LIMITS.maxRuns * 100) return { runs: n };
  } else {
    const ms = parseDuration(s);
    if (ms !== undefined && ms > 0 && ms <= 7 * 24 * 3600_000) return { ms };
  }
  throw new UsageError(`--budget expects a number of interleavings (1 to ${(LIMITS.maxRuns * 100).toLocaleString('en-US')}) or a wall-clock duration such as 90s or 10m, got ${String(v)}`);
}

/** `quotarace hunt`: search the scenario space for the smallest scenario that breaks a strategy. */
export async function cmdHunt(args: Record<string, unknown>, io: Io): Promise<number> {
  const budget = parseBudget(args.budget);
  const seed = intArg('seed', args.seed, 0, LIMITS.seed) ?? 1;
  const kinds = intArg('kinds', args.kinds, 1, 50) ?? 1;
  const shrinkBudget = intArg('shrink', args.shrink, 0, 100_000) ?? DEFAULT_SHRINK;
  const want = args.kind === undefined ? undefined : (Array.isArray(args.kind) ? args.kind : [args.kind]).map(String);
  if (Array.isArray(args.strategy)) throw new UsageError('--strategy: hunt takes one strategy');
  if (Array.isArray(args.baseline)) throw new UsageError('--baseline: hunt takes one baseline');
  const space = args.space === undefined ? DEFAULT_SPACE : loadSpace(String(args.space));
  const out = String(args.out ?? join('reports', 'hunt'));
  const pool = makePool({ ...args, workers: args.workers ?? defaultWorkers() });
  const progress = Progress.auto(args.progress as boolean | undefined);
  try {
    const strategy = await resolveCliStrategy(String(args.strategy), process.cwd(), pool);
    const baseline = args.baseline === undefined ? undefined : await resolveCliStrategy(String(args.baseline), process.cwd(), pool);
    if (baseline && baseline.name === strategy.name) throw new UsageError(`--baseline ${String(args.baseline)}: the baseline must be another strategy than the one on trial`);
    const name = huntName(strategy.name, seed, baseline?.name);
    checkHuntOutputs(out, name);
    const off = unsupportedKnobs();
    const file = join(out, `${name}.yaml`);
    const started = Date.now();
    const deadline = 'ms' in budget ? started + budget.ms : undefined;
    const budgetRuns = 'runs' in budget ? budget.runs : LIMITS.maxRuns * 100;
    const budgetMs = 'ms' in budget ? budget.ms : 0;
    const label = (s: number, r: number, k: readonly string[]) => `hunt ${strategy.name}${baseline ? ` vs ${baseline.name}` : ''}: ${s} scenarios, ${r.toLocaleString('en-US')} runs, ${k.length} kind${k.length === 1 ? '' : 's'}`;
    const result = await search(
      {
        onFirst: () => io.err(`(wall time to the first failure: ${((Date.now() - started) / 1000).toFixed(1)} s)`),
        strategy, ...(baseline ? { baseline } : {}), space, off, seed, budgetRuns, kinds, ...(want !== undefined ? { want } : {}), ...(deadline !== undefined ? { timeUp: () => Date.now() >= deadline } : {}), name, file,
        progress: (p) => {
          if (deadline !== undefined) progress.update(label(p.scenarios, p.runs, p.kinds), Math.min(Date.now() - started, budgetMs), budgetMs);
          else progress.update(label(p.scenarios, p.runs, p.kinds), p.runs, budgetRuns);
        },
      },
      pool,
    );
    progress.clear();
    const searched =
      `Searched ${result.scenarios.toLocaleString('en-US')} scenarios (${result.generations} generation${result.generations === 1 ? '' : 's'}), ${result.runs.toLocaleString('en-US')} interleavings, seed ${seed}` +
      (want !== undefined ? `, counting only failures of a kind containing ${want.map((w) => `"${w}"`).join(' and ')}` : '') +
      (baseline ? `, counting only scenarios in which ${baseline.name} passes every run (its interleavings included)` : '') + '.';
    const spaceLines = describeSpace(space, off);
    if (!result.found.length) {
      const why = result.stoppedBy === 'time' ? `the wall-clock budget (${String(args.budget)}) ran out` : `the budget of ${budgetRuns.toLocaleString('en-US')} interleavings was spent`;
      io.out(`hunt ${strategy.name}: ${result.passedOver.size ? `nothing counted failed (${passedOverNote(result.passedOver, want, baseline?.name)})` : 'nothing failed'}; ${why}.\n${searched}\nThe space searched:\n${spaceLines.map((l) => `  - ${l}`).join('\n')}`);
      return EXIT_OK;
    }
    let code = EXIT_OK;
    const written: Finished[] = [];
    for (const [i, f] of result.found.entries()) {
      const before = size(f.genome);
      io.out(`hunt ${strategy.name}${baseline ? ` (${baseline.name} passes)` : ''}: "${f.kind}" in scenario ${(f.scenario + 1).toLocaleString('en-US')} (generation ${f.generation}, run ${f.run}; ${f.runsSpent.toLocaleString('en-US')} interleavings spent by the end of that generation)`);
      const shrunk = await shrinkScenario(f.genome, f.kind, f.run, { strategy, ...(baseline ? { baseline } : {}), space, off, name: i === 0 ? name : `${name}-${i + 1}`, file, budget: shrinkBudget, progress: (st, tried) => progress.update(`shrinking: ${st} steps, ${tried} candidates`, tried, shrinkBudget) }, pool);
      progress.clear();
      const after = size(shrunk.genome);
      io.out(`shrunk in ${shrunk.steps} steps (${shrunk.candidates} candidates tried): VMs ${before[0]} → ${after[0]}, actions ${before[1]} → ${after[1]}, namespaces ${before[2]} → ${after[2]}, nodes ${before[3]} → ${after[3]}`);
      const n = i === 0 ? name : `${name}-${i + 1}`;
      if (i > 0) checkHuntOutputs(out, n);
      const w = await writeFound(shrunk.genome, { kind: f.kind, run: shrunk.run }, { strategy, ...(baseline ? { baseline } : {}), space, off, name: n, out, searched, seed }, pool);
      const finished = await publish(w.plan, w.result, out, args, io, false);
      io.out(`scenario: ${w.file} (re-run it with: ${w.command})`);
      written.push(finished);
      // Each report links to index.html ("all scenarios"): this hunt's finds, so the link resolves.
      writeFileAtomic(join(out, 'index.html'), indexReport(written), REPORT_MARKER);
      code = EXIT_FAILED;
    }
    io.out(`${searched}\nThe space searched:\n${spaceLines.map((l) => `  - ${l}`).join('\n')}`);
    return code;
  } catch (e) {
    if (e instanceof HuntFault) {
      io.err(`ERROR ${e.message}`);
      return EXIT_FAILED;
    }
    throw e;
  } finally {
    progress.clear();
    await pool.close();
  }
}
