import { join } from 'node:path';
import { tallyScenario } from '../explore/campaign.js';
import { finishScenario } from '../explore/finish.js';
import { moduleSha256IfThere, TOOL } from '../explore/provenance.js';
import { parseShard, RESULTS_FORMAT, shardRange, type ResultsFile } from '../gate/shard.js';
import { writeFileAtomic } from '../report/files.js';
import { isStrategyPath, strategyRef, StrategyLoadError } from '../strategies/loader.js';
import { EXIT_OK, UsageError, type Io } from './io.js';
import { campaignOptions, loadPlans, makePool } from './plans.js';
import { allowedModules } from './merge.js';
import { Progress } from './progress.js';
import type { ReportsLock } from './reports-lock.js';
import { checkRunOutputs, RESULTS_MARKER, conclude, publish, runMeta, sandboxOf, type Finished } from './publish.js';
import { readCampaignMark, replacesNote } from '../report/campaign-mark.js';

/** `quotarace run`: every scenario's campaign (or one shard's share of it). */
export async function cmdRun(args: Record<string, unknown>, io: Io): Promise<number> {
  const shard = args.shard === undefined ? undefined : parseShard(String(args.shard));
  if (args.shard !== undefined && !shard) throw new UsageError(`--shard expects i/n with 1 <= i <= n, got ${String(args.shard)}`);
  const pool = makePool(args);
  const progress = Progress.auto(args.progress as boolean | undefined);
  const reportsDir = String(args.reports);
  let lock: ReportsLock | undefined;
  try {
    const plans = await loadPlans(args.scenarios as string[], args.strategy as string[] | undefined, (s) => campaignOptions(args, s), pool, allowedModules(args));
    if (shard && plans.some((p) => p.opts.mode === 'exhaustive')) throw new UsageError('--shard splits seeds; --explore exhaustive has none to split');
    const resultsFile = shard ? String(args.results ?? join(reportsDir, `results-shard-${shard.index}-of-${shard.count}.json`)) : undefined;
    lock = checkRunOutputs(reportsDir, plans, shard ? { results: resultsFile } : { junit: args.junit as string | undefined }, !shard);
    if (shard) {
      // Each module's bytes as they were bundled for this run (loadPlans just did), for `merge` to compare.
      const modules = moduleHashes(plans.flatMap((p) => p.strategies.map((st) => strategyRef(st))));
      const scenarios = [];
      for (const p of plans) {
        const range = shardRange(p.opts.seed, p.opts.runs, shard);
        const tallies = await tallyScenario(p.s, p.text, p.strategies, p.opts, pool, range, progress.scenario(`${p.s.name} shard ${shard.index}/${shard.count}`, p.strategies.map((st) => st.name)));
        scenarios.push({ file: p.s.file, sha256: p.s.hash, options: p.opts, strategies: p.strategies.map((s) => strategyRef(s)), range, tallies });
      }
      progress.clear();
      const file = resultsFile!;
      const results: ResultsFile = { format: RESULTS_FORMAT, tool: TOOL, shard, chosen: args.strategy !== undefined, modules, scenarios };
      writeFileAtomic(file, JSON.stringify(results) + '\n', RESULTS_MARKER);
      if (args.json) io.out(JSON.stringify({ shard, results: file, scenarios: scenarios.map((s) => ({ file: s.file, from: s.range.from, to: s.range.to })) }, null, 2));
      else io.out(`shard ${shard.index}/${shard.count}: ${plans.length} scenario(s) written to ${file}; combine every shard with: quotarace merge <results files>`);
      return EXIT_OK;
    }
    // Read before this run overwrites the index; said after the run's summary line (tables only: --json prints JSON alone).
    const note = replacesNote(reportsDir, readCampaignMark(reportsDir), { ...runMeta(plans, args.strategy !== undefined, undefined, sandboxOf(args)), reports: plans.map((p) => `${p.s.name}.html`) });
    const done: Finished[] = [];
    for (const p of plans) {
      const phases = progress.scenario(p.s.name, p.strategies.map((st) => st.name));
      const tallies = await tallyScenario(p.s, p.text, p.strategies, p.opts, pool, { from: p.opts.seed, to: p.opts.seed + p.opts.runs }, phases);
      const result = await finishScenario(p.s, p.text, p.strategies, tallies, p.opts, pool, reportsDir, phases);
      progress.clear();
      done.push(await publish(p, result, reportsDir, args, io, args.strategy !== undefined, plans));
    }
    const code = conclude(done, plans, args, io);
    if (note && !args.json) io.out(note);
    return code;
  } finally {
    progress.clear();
    await pool.close();
    lock?.release();
  }
}

/** Strategy module path → sha256 of its bytes, in the order first named. */
function moduleHashes(refs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ref of refs) {
    if (!isStrategyPath(ref) || ref in out) continue;
    const sha = moduleSha256IfThere(ref);
    if (sha === undefined) throw new StrategyLoadError(`${ref}: cannot read the strategy module to record its hash`);
    out[ref] = sha;
  }
  return out;
}
