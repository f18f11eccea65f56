import { readFileSync } from 'node:fs';
import { finishScenario, type StrategyTally } from '../explore/campaign.js';
import { emptyTally, mergeTally } from '../explore/tally.js';
import { MAX_SHARDS, resultsSchema, type ResultsFile } from '../gate/shard.js';
import { readInputFile } from '../report/files.js';
import { InputError, zodIssueMessage } from '../scenario/errors.js';
import { isStrategyPath } from '../strategies/loader.js';
import { allowDataModule } from '../strategies/trust.js';
import { UsageError, type Io } from './io.js';
import { loadNamedBy, makePool, resolveCliStrategy, type Plan } from './plans.js';
import type { ReportsLock } from '../report/lock.js';
import { checkRunOutputs, conclude, publish, type Finished } from './publish.js';

/** Where in a JSON text a field path sits: the line of its key's first occurrence (good enough to find it). */
function jsonLine(text: string, path: readonly (string | number)[]): number {
  const key = [...path].reverse().find((p) => typeof p === 'string');
  if (key === undefined) return 1;
  const at = text.indexOf(`"${key}"`);
  return at < 0 ? 1 : text.slice(0, at).split('\n').length;
}

/** Read and check a results file: a regular file, JSON, the results schema. */
export function readResults(file: string): ResultsFile {
  const r = readInputFile(file);
  if ('error' in r) throw new InputError([{ file, line: 0, col: 0, field: '', message: r.error }]);
  let doc: unknown;
  try {
    doc = JSON.parse(r.text);
  } catch (e) {
    throw new InputError([{ file, line: 0, col: 0, field: '', message: `not a results file: not JSON (${describe(e)})` }]);
  }
  if (doc === null || typeof doc !== 'object' || (doc as { format?: unknown }).format !== 'quotarace-results-v1') {
    throw new InputError([{ file, line: 1, col: 1, field: 'format', message: 'expected a quotarace results file (a JSON object with "format": "quotarace-results-v1", written by run --shard)' }]);
  }
  const parsed = resultsSchema.safeParse(doc);
  if (!parsed.success) {
    throw new InputError(
      parsed.error.issues.slice(0, 10).map((i) => ({ file, line: jsonLine(r.text, i.path), col: 1, field: i.path.map(String).join('.'), message: zodIssueMessage(i) })),
    );
  }
  return parsed.data as ResultsFile;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]!.slice(0, 200) : String(e);
}

export { insideWorkingTree } from '../strategies/trust.js';

/**
 * A strategy module named by data (a results or evidence file): loading it runs its code,
 * so it needs --allow-module (trust.ts), and is said out loud. Returns its real path.
 */
export function checkModuleFromData(module: string, from: string, allowed: readonly string[], io: Io): string {
  const real = allowDataModule(module, from, allowed);
  io.err(`quotarace: loading the strategy module ${real} (named in ${from}), in the sandbox`);
  return real;
}

export function allowedModules(args: Record<string, unknown>): string[] {
  const a = args['allow-module'];
  const list = a === undefined ? [] : (Array.isArray(a) ? a : [a]).map(String);
  // An empty one would be the current folder: everything in it allowed by an unset variable.
  if (list.some((p) => p.trim() === '')) throw new UsageError('--allow-module needs a path, got an empty string');
  return list;
}

/** `quotarace merge`: shard results combined into the same totals, evidence, reports and gate as one unsharded run. */
export async function cmdMerge(args: Record<string, unknown>, io: Io): Promise<number> {
  const files = args.results as string[];
  if (files.length > MAX_SHARDS) throw new UsageError(`at most ${MAX_SHARDS} results files`);
  const shards: ResultsFile[] = files.map(readResults);
  const count = shards[0]!.shard.count;
  const seen = new Set<number>();
  for (const [i, sh] of shards.entries()) {
    if (sh.shard.count !== count) throw new UsageError(`${files[i]} is shard ${sh.shard.index}/${sh.shard.count}, the others are of ${count}`);
    if (seen.has(sh.shard.index)) throw new UsageError(`shard ${sh.shard.index}/${count} is given twice`);
    const sameRun =
      sh.scenarios.length === shards[0]!.scenarios.length &&
      Boolean(sh.chosen) === Boolean(shards[0]!.chosen) &&
      sh.scenarios.every((x, j) => {
        const y = shards[0]!.scenarios[j]!;
        return x.file === y.file && x.sha256 === y.sha256 && JSON.stringify(x.options) === JSON.stringify(y.options) && JSON.stringify(x.strategies) === JSON.stringify(y.strategies);
      });
    if (!sameRun) throw new UsageError(`${files[i]} was run with other scenarios, scenario contents, strategies or options than ${files[0]}`);
    seen.add(sh.shard.index);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) throw new UsageError(`missing shard${missing.length > 1 ? 's' : ''} ${missing.slice(0, 20).map((i) => `${i}/${count}`).join(', ')}${missing.length > 20 ? ` and ${missing.length - 20} more` : ''}`);
  shards.sort((a, b) => a.shard.index - b.shard.index);
  // The shards must tile each scenario's seeds exactly, as `run --shard` cut them.
  for (const [j, entry] of shards[0]!.scenarios.entries()) {
    let at = entry.options.seed;
    for (const sh of shards) {
      const part = sh.scenarios[j]!;
      if (part.range.from !== at) throw new UsageError(`the shards' seed ranges of ${entry.file} do not tile [${entry.options.seed}, ${entry.options.seed + entry.options.runs}) (shard ${sh.shard.index} starts at ${part.range.from}, expected ${at})`);
      at = part.range.to;
    }
    if (entry.options.mode !== 'exhaustive' && at !== entry.options.seed + entry.options.runs) throw new UsageError(`the shards' seed ranges of ${entry.file} end at ${at}, expected ${entry.options.seed + entry.options.runs}`);
  }
  const allowed = allowedModules(args);
  for (const ref of new Set(shards[0]!.scenarios.flatMap((e) => e.strategies))) if (isStrategyPath(ref)) checkModuleFromData(ref, files[0]!, allowed, io);
  const pool = makePool(args);
  const reportsDir = String(args.reports);
  const plans: Plan[] = [];
  const done: Finished[] = [];
  let lock: ReportsLock | undefined;
  try {
    const loaded: Array<{ plan: Plan; entry: ResultsFile['scenarios'][number]; i: number }> = [];
    for (const [i, entry] of shards[0]!.scenarios.entries()) {
      const s = loadNamedBy(entry.file, files[0]!, 'scenarios.file');
      if (s.hash !== entry.sha256) throw new UsageError(`${entry.file} changed since the shards ran (sha256 ${s.hash.slice(0, 12)}…, shards have ${entry.sha256.slice(0, 12)}…)`);
      const strategies = [];
      for (const r of entry.strategies) strategies.push(await resolveCliStrategy(r, process.cwd(), pool));
      const plan: Plan = { s, text: readFileSync(entry.file, 'utf8'), strategies, opts: entry.options };
      loaded.push({ plan, entry, i });
    }
    // Every output checked before any evidence is shrunk.
    lock = checkRunOutputs(reportsDir, loaded.map((l) => l.plan), { junit: args.junit as string | undefined }, true);
    for (const { plan, entry, i } of loaded) {
      plans.push(plan);
      const tallies: StrategyTally[] = plan.strategies.map((st) => {
        let tally = emptyTally();
        let pilot: StrategyTally['pilot'];
        let fault: StrategyTally['fault'];
        for (const sh of shards) {
          const part = sh.scenarios[i];
          if (!part || part.file !== entry.file) throw new UsageError(`the shards ran different scenarios (${part?.file ?? 'none'} vs ${entry.file})`);
          const t = part.tallies.find((x) => x.strategy === st.name);
          if (!t) throw new UsageError(`a shard has no results for ${entry.file} / ${st.name}`);
          fault ??= t.fault;
          tally = mergeTally(tally, t.tally);
          pilot ??= t.pilot; // every shard ran the same pilot
        }
        return fault ? { strategy: st.name, tally: emptyTally(), fault } : { strategy: st.name, tally, ...(pilot ? { pilot } : {}) };
      });
      const result = await finishScenario(plan.s, plan.text, plan.strategies, tallies, plan.opts, pool, reportsDir);
      done.push(await publish(plan, result, reportsDir, args, io, Boolean(shards[0]!.chosen), loaded.map((l) => l.plan)));
    }
    return conclude(done, plans, args, io);
  } finally {
    await pool.close();
    lock?.release();
  }
}
