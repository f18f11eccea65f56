import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { finishScenario, type StrategyTally } from '../explore/campaign.js';
import { WorkerPool } from '../explore/pool.js';
import { emptyTally, mergeTally } from '../explore/tally.js';
import type { ResultsFile } from '../gate/shard.js';
import { checkOutputs } from '../report/files.js';
import { InputError } from '../scenario/errors.js';
import { resolveStrategy } from '../strategies/loader.js';
import { intArg, UsageError, type Io } from './io.js';
import { load, type Plan } from './plans.js';
import { conclude, publish, type Finished } from './publish.js';

/** `quotarace merge`: shard results combined into the same totals, evidence, reports and gate as one unsharded run. */
export async function cmdMerge(args: Record<string, unknown>, io: Io): Promise<number> {
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
      const plan: Plan = { s, text: readFileSync(entry.file, 'utf8'), strategies: await Promise.all(entry.strategies.map((r) => resolveStrategy(r))), opts };
      plans.push(plan);
      const tallies = plan.strategies.map((st) => {
        let tally = emptyTally();
        let pilot: StrategyTally['pilot'];
        for (const sh of shards) {
          const part = sh.scenarios[i];
          if (!part || part.file !== entry.file) throw new UsageError(`the shards ran different scenarios (${part?.file ?? 'none'} vs ${entry.file})`);
          const t = part.tallies.find((x) => x.strategy === st.name);
          if (!t) throw new UsageError(`a shard has no results for ${entry.file} / ${st.name}`);
          tally = mergeTally(tally, t.tally);
          pilot ??= t.pilot; // every shard ran the same pilot
        }
        return { strategy: st.name, tally, ...(pilot ? { pilot } : {}) };
      });
      const result = await finishScenario(s, plan.text, plan.strategies, tallies, opts, pool, reportsDir);
      done.push(await publish(plan, result, reportsDir, args, io, false, shards[0]!.scenarios.map((e) => ({ s: load(e.file), text: '', strategies: [], opts: e.options }))));
    }
    return conclude(done, plans, args, io);
  } finally {
    await pool.close();
  }
}
