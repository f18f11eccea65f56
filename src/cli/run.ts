import { join } from 'node:path';
import { finishScenario, tallyScenario } from '../explore/campaign.js';
import { parseShard, shardRange, type ResultsFile } from '../gate/shard.js';
import { writeFileAtomic } from '../report/files.js';
import { strategyRef } from '../strategies/loader.js';
import { EXIT_OK, UsageError, type Io } from './io.js';
import { campaignOptions, loadPlans, makePool } from './plans.js';
import { allowedModules } from './merge.js';
import { Progress } from './progress.js';
import type { ReportsLock } from '../report/lock.js';
import { checkRunOutputs, RESULTS_MARKER, conclude, publish, type Finished } from './publish.js';

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
      const scenarios = [];
      for (const p of plans) {
        const range = shardRange(p.opts.seed, p.opts.runs, shard);
        const tallies = await tallyScenario(p.s, p.text, p.strategies, p.opts, pool, range, progress.scenario(`${p.s.name} shard ${shard.index}/${shard.count}`, p.strategies.map((st) => st.name)));
        scenarios.push({ file: p.s.file, sha256: p.s.hash, options: p.opts, strategies: p.strategies.map((s) => strategyRef(s)), range, tallies });
      }
      progress.clear();
      const file = resultsFile!;
      const results: ResultsFile = { format: 'quotarace-results-v1', shard, chosen: args.strategy !== undefined, scenarios };
      writeFileAtomic(file, JSON.stringify(results) + '\n', RESULTS_MARKER);
      if (args.json) io.out(JSON.stringify({ shard, results: file, scenarios: scenarios.map((s) => ({ file: s.file, from: s.range.from, to: s.range.to })) }, null, 2));
      else io.out(`shard ${shard.index}/${shard.count}: ${plans.length} scenario(s) written to ${file}; combine every shard with: quotarace merge <results files>`);
      return EXIT_OK;
    }
    const done: Finished[] = [];
    for (const p of plans) {
      const tallies = await tallyScenario(p.s, p.text, p.strategies, p.opts, pool, { from: p.opts.seed, to: p.opts.seed + p.opts.runs }, progress.scenario(p.s.name, p.strategies.map((st) => st.name)));
      progress.clear();
      const result = await finishScenario(p.s, p.text, p.strategies, tallies, p.opts, pool, reportsDir);
      done.push(await publish(p, result, reportsDir, args, io, args.strategy !== undefined, plans));
    }
    return conclude(done, plans, args, io);
  } finally {
    progress.clear();
    await pool.close();
    lock?.release();
  }
}
