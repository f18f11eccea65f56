import { readInputFile } from '../base/input-file.js';
import { replaceFile } from '../report/files.js';
import { InputError } from '../scenario/errors.js';
import { tallyScenario } from '../explore/campaign.js';
import { summarize, type StrategySummary } from '../explore/tally.js';
import { MATRIX_END, MATRIX_START, spliceMatrix, strategyMatrix } from '../report/matrix.js';
import type { Strategy } from '../strategies/api.js';
import { BUILTIN_STRATEGIES } from '../strategies/builtin.js';
import { EXIT_OK, UsageError, type Io } from './io.js';
import { allowedModules } from './merge.js';
import { campaignOptions, loadPlans, makePool } from './plans.js';

/**
 * Every built-in strategy (plus the scenario's own modules) on every scenario: the README's
 * table. With --strategy (names or module paths, as `run` takes them), those strategies only.
 */
export async function cmdTable(args: Record<string, unknown>, io: Io): Promise<number> {
  const pool = makePool(args);
  const chosen = args.strategy as string[] | undefined;
  const all = new Map<string, Strategy>();
  if (!chosen) for (const b of BUILTIN_STRATEGIES) all.set(b.name, b);
  const columns: Array<{ name: string; runs: number; results: Map<string, StrategySummary | string> }> = [];
  // The file to update is read and checked before any run: a typo must not cost the table.
  const file = args.update === undefined ? undefined : String(args.update);
  const doc = file === undefined ? undefined : readUpdated(file);
  try {
    const plans = await loadPlans(args.scenarios as string[], chosen, (s) => ({ ...campaignOptions({ ...args, explore: 'random' }, s), evidenceLimit: 0 }), pool, allowedModules(args));
    for (const p of plans) {
      const strategies = chosen ? p.strategies : [...BUILTIN_STRATEGIES, ...p.strategies.filter((s) => !BUILTIN_STRATEGIES.includes(s))];
      for (const s of strategies) all.set(s.name, s);
      const tallies = await tallyScenario(p.s, p.text, strategies, p.opts, pool, { from: p.opts.seed, to: p.opts.seed + p.opts.runs });
      columns.push({ name: p.s.name, runs: p.opts.runs, results: new Map(tallies.map((t) => [t.strategy, t.fault ? t.fault.message : summarize(t.strategy, t.tally)])) });
    }
  } finally {
    await pool.close();
  }
  const table = strategyMatrix([...all.values()], columns);
  if (file !== undefined && doc !== undefined) {
    const next = spliceMatrix(doc, table)!;
    if (next !== doc) replaceFile(file, next);
    io.out(`${file}: strategy table ${next === doc ? 'unchanged' : 'updated'}`);
  } else io.out(table);
  return EXIT_OK;
}

/** The Markdown file `--update` names: readable, with the generated table's markers. */
function readUpdated(file: string): string {
  const r = readInputFile(file);
  if ('error' in r) throw new InputError([{ file, line: 0, col: 0, field: '', message: r.error }]);
  if (spliceMatrix(r.text, '') === undefined) throw new UsageError(`${file} has no generated-table markers (${MATRIX_START} … ${MATRIX_END})`);
  return r.text;
}
