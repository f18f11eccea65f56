import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { DEFAULT_CAMPAIGN, tallyScenario, type CampaignOptions, type ScenarioResult } from '../explore/campaign.js';
import { finishScenario } from '../explore/finish.js';
import { parseRunId } from '../explore/run-id.js';
import type { WorkerPool } from '../explore/pool.js';
import { checkOutputs, NotOurFile, OutputError, writeFileAtomic } from '../report/files.js';
import { REPORT_MARKER } from '../report/html.js';
import { isStrategyPath, strategyRef } from '../strategies/loader.js';
import type { Strategy } from '../strategies/api.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import { builtinStrategy } from '../strategies/builtin.js';
import { toScenario, toYaml, type Genome } from './genome.js';
import type { Knob, Space } from './space.js';

/** The first line of every scenario file the hunt writes: it never overwrites a file without it. */
export const HUNT_MARKER = '# quotarace hunt:';

/** A scenario name from the strategy's (and the baseline's) and the seed's: lowercase letters, digits and dashes. */
export function huntName(strategy: string, seed: number, baseline?: string): string {
  const slug = (x: string) => x.toLowerCase().replace(/\.(ts|mts|js|mjs)$/, '').replace(/^.*[/\\]/, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'strategy';
  return `hunt-${slug(strategy).slice(0, 40)}${baseline !== undefined ? `-vs-${slug(baseline).slice(0, 40)}` : ''}-seed-${seed}`;
}

/** The hunt's outputs at fixed paths: refused before any simulation if quotarace did not write them. */
export function checkHuntOutputs(out: string, name: string): void {
  checkOutputs(out, []);
  mustStartWith(join(out, `${name}.yaml`), HUNT_MARKER);
  mustStartWith(join(out, `${name}.html`), REPORT_MARKER);
  mustStartWith(join(out, 'index.html'), REPORT_MARKER);
}

function mustStartWith(path: string, marker: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  if (!st.isFile()) throw new OutputError(`${path}: exists and is not a regular file; not writing there`);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(marker.length);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n > 0 && !buf.subarray(0, n).toString('utf8').startsWith(marker)) throw new NotOurFile(`${path} exists and was not written by quotarace; not overwriting it (checked before the hunt)`);
  } finally {
    closeSync(fd);
  }
}

/** A baseline's `expect:` bounds: it passed every run of the hunt's campaign. */
export const PASSES_ALL = { quotaCorrect: 1, migrationsSucceeded: 1, invariantViolations: { max: 0 } } as const;

/** The `expect:` bounds that the found failure kind breaks for the strategy. */
export function expectFor(kind: string): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  if (kind.includes('quota ')) e.quotaCorrect = 1;
  if (kind.includes('stuck')) e.migrationsSucceeded = 1;
  if (kind.includes('invariant ')) e.invariantViolations = { max: 0 };
  return e;
}

export interface Written {
  readonly file: string;
  readonly command: string;
  /** The scenario's campaign, as `quotarace run` plans it: the CLI publishes it (reports, evidence). */
  readonly plan: { readonly s: Scenario; readonly text: string; readonly strategies: Strategy[]; readonly opts: CampaignOptions };
  readonly result: ScenarioResult;
}

/**
 * Write the shrunk scenario as a real scenario file (loaded back through the scenario
 * loader), then run it through `quotarace run`'s own path: the campaign and the evidence
 * shrinker on the interleaving; the caller publishes the result (evidence files, HTML report) in `out`.
 */
export async function writeFound(
  g: Genome,
  found: { kind: string; run: string },
  o: { strategy: Strategy; baseline?: Strategy; space: Space; off: ReadonlySet<Knob>; name: string; out: string; searched: string; seed: number },
  pool: WorkerPool,
): Promise<Written> {
  const file = join(o.out, `${o.name}.yaml`);
  const entry = (st: Strategy) => {
    const ref = strategyRef(st);
    return isStrategyPath(ref) ? relative(dirname(file), ref) || ref : st.name;
  };
  const b = o.baseline;
  const mode = parseRunId(found.run).explorer === 'pct' ? 'pct' : 'random';
  const command = `quotarace run ${file}${mode === 'pct' ? ' --explore pct' : ''}`;
  const description =
    `Found by quotarace hunt --strategy ${o.strategy.name}${b ? ` --baseline ${b.name}` : ''} --seed ${o.seed}, then shrunk: ${o.strategy.name} fails with "${found.kind}" ` +
    `(run ${found.run} of this scenario's ${mode} campaign; \`${command}\` shows it)${b ? `, and ${b.name} passes every run of the same campaign` : ''}. ${o.searched}`;
  const expect = { [o.strategy.name]: expectFor(found.kind), ...(b ? { [b.name]: PASSES_ALL } : {}) };
  const obj = toScenario(g, o.name, o.off, { description, strategies: [entry(o.strategy), ...(b ? [entry(b)] : [])], runs: o.space.campaign.runs, horizon: o.space.horizon, expect });
  const head = b
    ? `${HUNT_MARKER} the smallest scenario found in which ${o.strategy.name} fails (${found.kind}) and ${b.name} does not.\n# The expect: lines fail for ${o.strategy.name} and hold for ${b.name}: what a fix must achieve, and what ${b.name} already does.\n`
    : `${HUNT_MARKER} the smallest scenario found in which ${o.strategy.name} fails (${found.kind}).\n# The expect: lines fail for ${o.strategy.name}: they state what a fix must achieve.\n`;
  const text = toYaml(obj, head);
  writeFileAtomic(file, text, HUNT_MARKER);
  const s = loadScenario(file, (n) => builtinStrategy(n) !== undefined);
  const plan: Written['plan'] = { s, text, strategies: [o.strategy, ...(b ? [b] : [])], opts: { ...DEFAULT_CAMPAIGN, runs: s.runs, seed: s.seed, mode } };
  const range = { from: s.seed, to: s.seed + s.runs };
  const tallies = await tallyScenario(s, text, plan.strategies, plan.opts, pool, range);
  const result = await finishScenario(s, text, plan.strategies, tallies, plan.opts, pool, o.out);
  return { file, command, plan, result };
}
