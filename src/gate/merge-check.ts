import { campaignRunId } from '../explore/jobs.js';
import { shortHash } from '../explore/provenance.js';
import { formatRunId, parseRunId } from '../explore/run-id.js';
import { isStrategyPath } from '../strategies/loader.js';
import type { ResultsFile } from './shard.js';

/**
 * Whether a set of results files can be merged into one campaign's results: written by one
 * build (this one), of the same scenarios, strategy modules and options, each shard's tallies
 * counting exactly its seeds, naming only runs it ran, and the shards tiling the campaign.
 * Everything is checked before any module is loaded or any evidence is shrunk.
 */

/** What is wrong, and where: the results file and the field. */
export interface ShardProblem {
  readonly file: string;
  readonly field: string;
  readonly message: string;
}

/** The merging process: its own tool, and the strategy modules' bytes as they are now. */
export interface MergeHere {
  readonly tool: string;
  /** sha256 of a module file's bytes now; undefined when it cannot be read. */
  moduleSha256(path: string): string | undefined;
}

type Scenario = ResultsFile['scenarios'][number];
type Tally = Scenario['tallies'][number];

const rangeText = (r: { from: number; to: number }) => `[${r.from}, ${r.to})`;

/** The first problem with the set, or undefined when the shards make one campaign. */
export function shardSetProblem(files: readonly string[], shards: readonly ResultsFile[], here: MergeHere): ShardProblem | undefined {
  const first = shards[0]!;
  const name0 = files[0]!;
  // Another build first: the rest of what it wrote may mean something else.
  for (const [i, sh] of shards.entries()) {
    if (sh.tool !== first.tool) return { file: files[i]!, field: 'tool', message: `written by ${sh.tool}, ${name0} by ${first.tool} (another build): merge shards that one build ran` };
  }
  if (first.tool !== here.tool) {
    return { file: name0, field: 'tool', message: `the shards were written by ${first.tool}, this is ${here.tool} (another build): merge with the build that ran the shards, or run them again with this one` };
  }
  for (const [i, sh] of shards.entries()) {
    const p = ownProblem(files[i]!, sh);
    if (p) return p;
  }
  const count = first.shard.count;
  const seen = new Map<number, string>();
  for (const [i, sh] of shards.entries()) {
    const file = files[i]!;
    if (sh.shard.count !== count) return { file, field: 'shard', message: `shard ${sh.shard.index}/${sh.shard.count}, ${name0} is one of ${count}` };
    if (seen.has(sh.shard.index)) return { file, field: 'shard', message: `shard ${sh.shard.index}/${count} is given twice (also ${seen.get(sh.shard.index)})` };
    seen.set(sh.shard.index, file);
    const p = sameCampaign(file, sh, name0, first);
    if (p) return p;
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) {
    const list = `${missing.slice(0, 20).map((i) => `${i}/${count}`).join(', ')}${missing.length > 20 ? ` and ${missing.length - 20} more` : ''}`;
    return { file: name0, field: 'shard', message: `missing shard${missing.length > 1 ? 's' : ''} ${list}` };
  }
  const ordered = shards.map((sh, i) => ({ sh, file: files[i]! })).sort((a, b) => a.sh.shard.index - b.sh.shard.index);
  // The shards must tile each scenario's seeds exactly, as `run --shard` cut them.
  for (const [j, entry] of first.scenarios.entries()) {
    const campaign = { from: entry.options.seed, to: entry.options.seed + entry.options.runs };
    let at = campaign.from;
    for (const { sh, file } of ordered) {
      const part = sh.scenarios[j]!;
      if (part.range.from !== at) {
        return { file, field: `scenarios.${j}.range`, message: `the shards' seed ranges of ${entry.file} do not tile the campaign ${rangeText(campaign)}: shard ${sh.shard.index}/${count} starts at ${part.range.from}, expected ${at}` };
      }
      at = part.range.to;
    }
    if (at !== campaign.to) return { file: ordered[ordered.length - 1]!.file, field: `scenarios.${j}.range`, message: `the shards' seed ranges of ${entry.file} end at ${at}, the campaign ${rangeText(campaign)} at ${campaign.to}` };
  }
  // The modules as they are now: the merge shrinks evidence with them.
  for (const [path, sha] of Object.entries(first.modules)) {
    const now = here.moduleSha256(path);
    if (now === undefined) return { file: name0, field: 'modules', message: `the strategy module ${path} the shards ran is not there (or cannot be read)` };
    if (now !== sha) return { file: name0, field: 'modules', message: `the strategy module ${path} changed since the shards ran (sha256 ${shortHash(now)} now, ${shortHash(sha)} in the shards): its evidence would come from other code; run the shards again` };
  }
  return undefined;
}

/** One results file on its own: its modules listed with their hashes, its tallies counting its own seeds and naming only its own runs. */
function ownProblem(file: string, sh: ResultsFile): ShardProblem | undefined {
  const refs = new Set(sh.scenarios.flatMap((s) => s.strategies).filter(isStrategyPath));
  for (const ref of refs) if (!(ref in sh.modules)) return { file, field: 'modules', message: `no content hash for the strategy module ${ref} it ran` };
  for (const path of Object.keys(sh.modules)) if (!refs.has(path)) return { file, field: 'modules', message: `a hash for ${path}, which no scenario in the file ran` };
  for (const [j, s] of sh.scenarios.entries()) {
    const at = `scenarios.${j}`;
    const mode = s.options.mode;
    if (mode === 'exhaustive') return { file, field: `${at}.options.mode`, message: 'an exhaustive exploration has no seeds to split and is never sharded' };
    const explorer = { mode, depth: s.options.depth, window: s.options.window };
    if (s.tallies.length !== s.strategies.length) return { file, field: `${at}.tallies`, message: `${s.tallies.length} tallies for ${s.strategies.length} strategies of ${s.file}` };
    const names = new Set<string>();
    for (const [k, t] of s.tallies.entries()) {
      const where = `${at}.tallies.${k}`;
      if (names.has(t.strategy)) return { file, field: where, message: `a second tally for ${t.strategy} on ${s.file}` };
      names.add(t.strategy);
      const seeds = s.range.to - s.range.from;
      // A strategy that faulted has no numbers, only its fault.
      const runs = t.fault ? 0 : seeds;
      if (t.tally.runs !== runs) {
        const why = t.fault ? 'it faulted, so it has no runs' : `its seed range ${rangeText(s.range)} holds ${seeds}`;
        return { file, field: where, message: `${t.strategy} on ${s.file} counts ${t.tally.runs} runs, but ${why}` };
      }
      // The counts the table shows and the per-run bits the statistics use must be the same runs.
      const ones = t.tally.quotaBits.split('').filter((c) => c === '1').length;
      if (ones !== t.tally.quotaOk) return { file, field: where, message: `${t.strategy} on ${s.file} counts ${t.tally.quotaOk} runs with a correct quota, its per-run bits ${ones}` };
      const grouped = t.tally.groups.reduce((n, g) => n + g.runs, 0);
      if (grouped > t.tally.runs || t.tally.groups.some((g) => g.runs < 1)) return { file, field: where, message: `${t.strategy} on ${s.file} groups ${grouped} failing runs of ${t.tally.runs}` };
      const p = runIdProblem(s, t, explorer);
      if (p) return { file, field: where, message: p };
    }
  }
  return undefined;
}

/** A run id the tally names that this shard did not run, described; undefined when all are its own. */
function runIdProblem(s: Scenario, t: Tally, explorer: Parameters<typeof campaignRunId>[0]): string | undefined {
  const ids = [...t.tally.failing, ...t.tally.groups.map((g) => g.firstRun), ...Object.values(t.tally.firstBreaking)];
  const example = formatRunId(campaignRunId(explorer, s.range.from));
  for (const text of ids) {
    let id;
    try {
      id = parseRunId(text);
    } catch {
      return `${t.strategy} on ${s.file} names "${text.slice(0, 60)}", which is not a run id (its runs are named like ${example})`;
    }
    if (formatRunId(campaignRunId(explorer, id.seed)) !== text) return `${t.strategy} on ${s.file} names run ${text.slice(0, 60)}, which is not a run of this campaign (its runs are named like ${example})`;
    if (id.seed < s.range.from || id.seed >= s.range.to) {
      return `${t.strategy} on ${s.file} names run ${text}, outside the runs of this shard (seeds ${rangeText(s.range)} of the campaign ${rangeText({ from: s.options.seed, to: s.options.seed + s.options.runs })})`;
    }
  }
  return undefined;
}

/** Does `sh` belong to the same campaign as the first file? The first difference, named. */
function sameCampaign(file: string, sh: ResultsFile, name0: string, first: ResultsFile): ShardProblem | undefined {
  const other = (field: string, mine: unknown, theirs: unknown): ShardProblem => ({
    file,
    field,
    message: `was run with other ${field.split('.').pop()}: ${show(mine)}, ${name0} has ${show(theirs)}`,
  });
  if (Boolean(sh.chosen) !== Boolean(first.chosen)) return { file, field: 'chosen', message: `${sh.chosen ? 'ran' : 'did not run'} with --strategy, ${name0} ${first.chosen ? 'did' : 'did not'}` };
  if (sh.scenarios.length !== first.scenarios.length) return { file, field: 'scenarios', message: `was run with other scenarios: ${sh.scenarios.length}, ${name0} has ${first.scenarios.length}` };
  for (const [j, x] of sh.scenarios.entries()) {
    const y = first.scenarios[j]!;
    const at = `scenarios.${j}`;
    if (x.file !== y.file) return other(`${at}.file`, x.file, y.file);
    if (x.sha256 !== y.sha256) return { file, field: `${at}.sha256`, message: `was run with another version of ${x.file} (sha256 ${shortHash(x.sha256)}, ${name0} has ${shortHash(y.sha256)})` };
    for (const k of Object.keys(y.options) as Array<keyof typeof y.options>) if (x.options[k] !== y.options[k]) return other(`${at}.options.${k}`, x.options[k], y.options[k]);
    if (JSON.stringify(x.strategies) !== JSON.stringify(y.strategies)) return other(`${at}.strategies`, x.strategies, y.strategies);
    for (const [k, t] of x.tallies.entries()) {
      const u = y.tallies[k]!;
      if (t.strategy !== u.strategy) return other(`${at}.tallies.${k}.strategy`, t.strategy, u.strategy);
      // The pilot is a function of the scenario, the strategy and the window: another one is other code.
      if (t.pilot && u.pilot && JSON.stringify(t.pilot) !== JSON.stringify(u.pilot)) {
        return { file, field: `${at}.tallies.${k}.pilot`, message: `${t.strategy}'s pilot run on ${x.file} differs from ${name0}'s: the strategy's code differs between the shards` };
      }
    }
  }
  for (const [path, sha] of Object.entries(sh.modules)) {
    const theirs = first.modules[path];
    if (theirs !== sha) return { file, field: 'modules', message: `the strategy module ${path} had sha256 ${shortHash(sha)} here, ${theirs ? shortHash(theirs) : 'none'} in ${name0}: it was edited between the shards` };
  }
  return undefined;
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
