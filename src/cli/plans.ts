import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { DescribeResult } from '../explore/jobs.js';
import { sandboxLimits, WorkerPool } from '../explore/pool.js';
import { DEFAULT_CAMPAIGN, type CampaignOptions } from '../explore/campaign.js';
import { MAX_LATENCY_POINT } from '../explore/run-id.js';
import type { ExploreMode } from '../explore/jobs.js';
import { InputError, type InputProblem } from '../scenario/errors.js';
import { fieldPosition, loadScenario, parseScenario, readScenarioText } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import type { Strategy } from '../strategies/api.js';
import { BUILTIN_STRATEGIES, builtinStrategy } from '../strategies/builtin.js';
import { bundleStrategy, isStrategyPath, resolveStrategy, StrategyLoadError, userStrategyStub } from '../strategies/loader.js';
import { allowDataModule } from '../strategies/trust.js';
import { intArg, LIMITS, shellQuote, UsageError } from './io.js';
import { defaultWorkers } from './cpus.js';

/**
 * A folder's scenarios in the order their numbers say (2 before 10), the same on every
 * machine: runs of digits compare as numbers, the rest by UTF-16 code unit (no locale).
 */
export function byNumberedName(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const [x, y] = [pa[i]!, pb[i]!];
    if (x === y) continue;
    const digits = /^\d/.test(x) && /^\d/.test(y);
    if (digits) {
      const [nx, ny] = [BigInt(x), BigInt(y)];
      if (nx !== ny) return nx < ny ? -1 : 1;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Scenarios, their strategies and campaign options, from the command line. */
export function scenarioFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new InputError([{ file: p, line: 0, col: 0, field: '', message: 'no such file or folder' }]);
    }
    if (isDir) {
      const files = readdirSync(p).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort(byNumberedName);
      if (files.length === 0) throw new InputError([{ file: p, line: 0, col: 0, field: '', message: 'folder has no .yaml scenario' }]);
      out.push(...files.map((f) => join(p, f)));
    } else out.push(p);
  }
  return out;
}

/** The pool every command uses: --workers threads, and the sandbox's limits for user strategies. */
export function makePool(args: Record<string, unknown>): WorkerPool {
  const workers = intArg('workers', args.workers, 1, LIMITS.workers) ?? defaultWorkers();
  const limits = sandboxLimits({ timeoutS: numArg('strategy-timeout', args['strategy-timeout']), memoryMb: numArg('strategy-memory', args['strategy-memory']) });
  if (typeof limits === 'string') throw new UsageError(limits);
  return new WorkerPool(workers, limits);
}


function numArg(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new UsageError(`--${name} expects one number, got ${Array.isArray(v) ? v.join(' ') : String(v)}`);
  return v;
}

const described = new Map<string, Strategy>();

/**
 * A strategy as the command line resolves it: a built-in by its name (trusted, runs in this
 * thread), or a module path, bundled here and loaded only in a sandboxed worker, which
 * reports its name and description. A module that cannot compile or is not a strategy is
 * bad input; one that throws, hangs, exits or runs out of memory while loading is a
 * strategy fault (reported, exit 1, the other strategies still run).
 */
export async function resolveCliStrategy(ref: string, baseDir: string, pool: WorkerPool): Promise<Strategy> {
  if (!isStrategyPath(ref)) return resolveStrategy(ref);
  const abs = resolve(baseDir, ref);
  const known = described.get(abs);
  if (known) return known;
  if (!existsSync(abs)) throw new StrategyLoadError(`no strategy module at ${ref}`);
  const bundle = await bundleStrategy(abs);
  const [r] = await pool.run<DescribeResult>([{ type: 'describe', strategy: abs, bundle }]);
  if ('loadError' in r!) throw new StrategyLoadError(r.loadError);
  const s = 'fault' in r! ? userStrategyStub(abs, ref, '', `while loading ${ref}: ${r.fault.detail}`) : userStrategyStub(abs, r!.name, r!.description);
  described.set(abs, s);
  return s;
}

/**
 * The strategies named on the command line, else the scenario's own, else every built-in.
 * A module the scenario names (not the command line) loads only if `allowed` (--allow-module) covers it.
 */
export async function resolveStrategies(scenario: Scenario, names: readonly string[] | undefined, pool: WorkerPool, allowed: readonly string[] = []): Promise<Strategy[]> {
  const list: Strategy[] = [];
  if (names) for (const n of names) list.push(await resolveCliStrategy(n, process.cwd(), pool));
  else if (scenario.strategies) {
    for (const r of scenario.strategies) {
      if (isStrategyPath(r)) allowDataModule(resolve(dirname(scenario.file), r), scenario.file, allowed);
      list.push(await resolveCliStrategy(r, dirname(scenario.file), pool));
    }
  }
  else list.push(...BUILTIN_STRATEGIES);
  const seen = new Set<string>();
  for (const s of list) {
    if (seen.has(s.name)) throw new UsageError(`${scenario.file}: strategy "${s.name}" is given twice${names ? ' (--strategy)' : ' (strategies:)'}; each strategy runs once`);
    seen.add(s.name);
  }
  return list;
}

export function load(file: string): Scenario {
  return loadScenario(file, (n) => builtinStrategy(n) !== undefined);
}

/**
 * A scenario named by a data file (an evidence or results file), not by the user. Its
 * problems are not quoted: the data file could name any file the user can read (a key, a
 * kubeconfig), and a message quoting its values would print them. Said instead: which
 * file, that it does not load, and how to see why.
 */
export function loadNamedBy(file: string, namedBy: string, field: string): Scenario {
  try {
    return load(file);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const n = e.problems.length;
    throw new InputError([{ file: namedBy, line: 0, col: 0, field, message: `names the scenario ${shellQuote(file)}, which is not a valid scenario (${n} problem${n === 1 ? '' : 's'}; not quoted here, as this file chose it: run \`quotarace run ${shellQuote(file)}\` to see them)` }]);
  }
}

/** One scenario of a campaign as the command line chose it: its text, strategies and options (not a reconciler's Plan). */
export interface CampaignPlan {
  readonly s: Scenario;
  readonly text: string;
  readonly strategies: Strategy[];
  readonly opts: CampaignOptions;
}

/**
 * Two scenarios of one name in one run: reports, evidence and the index are filed by scenario
 * name, so the second would overwrite the first's (and its evidence would replay another file).
 */
function sameNames(loaded: ReadonlyArray<{ s: Scenario; text: string }>): void {
  const first = new Map<string, string>();
  const problems: InputProblem[] = [];
  for (const { s, text } of loaded) {
    const other = first.get(s.name);
    if (other === undefined) {
      first.set(s.name, s.file);
      continue;
    }
    const pos = fieldPosition(text, ['name']);
    problems.push({ file: s.file, line: pos.line, col: pos.col, field: 'name', message: `"${s.name}" is also the name of ${other}: reports and evidence are filed by scenario name, so one would overwrite the other; give each scenario a name of its own` });
  }
  if (problems.length) throw new InputError(problems);
}

export async function loadPlans(paths: readonly string[], strategyNames: string[] | undefined, make: (s: Scenario) => CampaignOptions, pool: WorkerPool, allowed: readonly string[] = []): Promise<CampaignPlan[]> {
  // Validate every file before running any, so a typo in the last one costs no time.
  const problems: InputError[] = [];
  const loaded: Array<{ s: Scenario; text: string }> = [];
  for (const f of scenarioFiles(paths)) {
    try {
      // One read: the text the campaign gets is the text that was validated and hashed.
      const text = readScenarioText(f);
      loaded.push({ s: parseScenario(text, f, (n) => builtinStrategy(n) !== undefined), text });
    } catch (e) {
      if (e instanceof InputError) problems.push(e);
      else throw e;
    }
  }
  if (problems.length) throw new InputError(problems.flatMap((p) => p.problems));
  sameNames(loaded);
  const plans: CampaignPlan[] = [];
  // Options first (bad flags are bad input before any module is loaded), then strategies.
  const opts = loaded.map(({ s }) => make(s));
  for (const [i, { s, text }] of loaded.entries()) plans.push({ s, text, strategies: await resolveStrategies(s, strategyNames, pool, allowed), opts: opts[i]! });
  return plans;
}

export function campaignOptions(args: Record<string, unknown>, s: Scenario | undefined): CampaignOptions {
  const mode = args.explore as ExploreMode;
  const runs = intArg('runs', args.runs, 1, LIMITS.runs) ?? s?.runs ?? 100;
  const seed = intArg('seed', args.seed, 0, LIMITS.seed) ?? s?.seed ?? 1;
  const where = s ? `${s.file}: ` : '';
  if (!(Number.isSafeInteger(runs) && runs >= 1 && runs <= LIMITS.runs)) throw new UsageError(`${where}runs ${runs} is out of range: expected 1 to ${LIMITS.runs.toLocaleString('en-US')}`);
  if (!(Number.isSafeInteger(seed) && seed >= 0 && seed <= LIMITS.seed)) throw new UsageError(`${where}seed ${seed} is out of range: expected 0 to 2^48 (${LIMITS.seed}), so that seed + runs stays exact`);
  return {
    ...DEFAULT_CAMPAIGN,
    runs,
    seed,
    mode,
    depth: intArg('depth', args.depth, 1, LIMITS.depth)!,
    maxRuns: intArg('max-runs', args['max-runs'], 1, LIMITS.maxRuns)!,
    ...delaysOption(args, mode),
    ...reductionOption(args, mode),
    ...latencyPointsOption(args, mode),
    window: intArg('window', args.window, 0, LIMITS.window) ?? (mode === 'exhaustive' ? 0 : DEFAULT_CAMPAIGN.window),
    evidenceLimit: args.evidence === false ? 0 : DEFAULT_CAMPAIGN.evidenceLimit,
  };
}

/** --reduction none: the unbounded exhaustive search without DPOR (every option of every choice). */
function reductionOption(args: Record<string, unknown>, mode: ExploreMode): { reduction?: 'none' } {
  const r = args.reduction;
  if (r === undefined) return {};
  if (mode !== 'exhaustive') throw new UsageError('--reduction chooses how an exhaustive search reduces: use it with --explore exhaustive');
  if (args.delays !== undefined) throw new UsageError('--reduction applies to the unbounded exhaustive search: a delay-bounded one (--delays) never reduces');
  return r === 'none' ? { reduction: 'none' } : {};
}

/** --latency-points N: exhaustive searches at latency points 0 … N−1 (exhaustive.ts fixedDraw), each on its own. */
function latencyPointsOption(args: Record<string, unknown>, mode: ExploreMode): { latencyPoints?: number } {
  const n = intArg('latency-points', args['latency-points'], 1, MAX_LATENCY_POINT + 1);
  if (n === undefined) return {};
  if (mode !== 'exhaustive') throw new UsageError('--latency-points chooses the latencies an exhaustive search fixes: use it with --explore exhaustive (random and PCT runs draw every latency)');
  return n > 1 ? { latencyPoints: n } : {};
}

/** --delays K: a delay-bounded exhaustive search (complete up to K delays). */
function delaysOption(args: Record<string, unknown>, mode: ExploreMode): { delays?: number } {
  const delays = intArg('delays', args.delays, 0, 1000);
  if (delays === undefined) return {};
  if (mode !== 'exhaustive') throw new UsageError('--delays bounds an exhaustive search: use it with --explore exhaustive');
  return { delays };
}
