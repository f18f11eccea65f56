import { readFileSync } from 'node:fs';
import type { StrategyTally } from '../explore/campaign.js';
import { finishScenario } from '../explore/finish.js';
import { emptyTally, mergeTally } from '../explore/tally.js';
import { moduleSha256IfThere, TOOL } from '../explore/provenance.js';
import { shardSetProblem } from '../gate/merge-check.js';
import { MAX_SHARDS, RESULTS_FORMAT, resultsSchema, type ResultsFile } from '../gate/shard.js';
import { readInputFile } from '../base/input-file.js';
import { InputError, zodIssueMessage } from '../scenario/errors.js';
import { isStrategyPath } from '../strategies/loader.js';
import { allowDataModule } from '../strategies/trust.js';
import { UsageError, type Io } from './io.js';
import { loadNamedBy, makePool, resolveCliStrategy, type CampaignPlan } from './plans.js';
import type { ReportsLock } from './reports-lock.js';
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
  const format = doc !== null && typeof doc === 'object' ? (doc as { format?: unknown }).format : undefined;
  if (typeof format === 'string' && /^quotarace-results-v\d+$/.test(format) && format !== RESULTS_FORMAT) {
    throw new InputError([{ file, line: 1, col: 1, field: 'format', message: `${format} was written by another version of quotarace (this one merges ${RESULTS_FORMAT}, which records the tool and each strategy module's hash): run the shards again with this version` }]);
  }
  if (format !== RESULTS_FORMAT) {
    throw new InputError([{ file, line: 1, col: 1, field: 'format', message: `expected a quotarace results file (a JSON object with "format": "${RESULTS_FORMAT}", written by run --shard)` }]);
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
  const problem = shardSetProblem(files, shards, { tool: TOOL, moduleSha256: moduleSha256IfThere });
  if (problem) throw new InputError([{ file: problem.file, line: 0, col: 0, field: problem.field, message: problem.message }]);
  shards.sort((a, b) => a.shard.index - b.shard.index);
  const allowed = allowedModules(args);
  for (const ref of new Set(shards[0]!.scenarios.flatMap((e) => e.strategies))) if (isStrategyPath(ref)) checkModuleFromData(ref, files[0]!, allowed, io);
  const pool = makePool(args);
  const reportsDir = String(args.reports);
  const plans: CampaignPlan[] = [];
  const done: Finished[] = [];
  let lock: ReportsLock | undefined;
  try {
    const loaded: Array<{ plan: CampaignPlan; entry: ResultsFile['scenarios'][number]; i: number }> = [];
    for (const [i, entry] of shards[0]!.scenarios.entries()) {
      const s = loadNamedBy(entry.file, files[0]!, 'scenarios.file');
      if (s.hash !== entry.sha256) throw new UsageError(`${entry.file} changed since the shards ran (sha256 ${s.hash.slice(0, 12)}…, shards have ${entry.sha256.slice(0, 12)}…)`);
      const strategies = [];
      for (const r of entry.strategies) strategies.push(await resolveCliStrategy(r, process.cwd(), pool));
      const plan: CampaignPlan = { s, text: readFileSync(entry.file, 'utf8'), strategies, opts: entry.options };
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
      done.push(await publish(plan, result, reportsDir, args, io, Boolean(shards[0]!.chosen), loaded.map((l) => l.plan), shards[0]!.shard.count));
    }
    return conclude(done, plans, args, io);
  } finally {
    await pool.close();
    lock?.release();
  }
}
