import { join } from 'node:path';
import type { Scenario } from '../scenario/model.js';
import type { Strategy } from '../strategies/api.js';
import { explore } from './exhaustive.js';
import type { EvidenceJob, EvidenceResult, ExploreMode, FaultResult, JobBase, RunsJob } from './jobs.js';
import { strategyRef } from '../strategies/loader.js';
import { StrategyFault } from '../strategies/fault.js';
import { firstDifference, Timeline } from '../report/timeline.js';
import { failureKind } from '../sim/outcome.js';
import { runPilot, type Pilot } from './pilot.js';
import type { WorkerPool } from './pool.js';
import { addRun, emptyTally, mergeTally, summarize, type StrategySummary, type TallyState } from './tally.js';
import { DEFAULT_WINDOW_MS, runOnce } from '../sim/run.js';
import { RandomSelector } from '../kernel/choice.js';

export type { StrategySummary } from './tally.js';

export interface CampaignOptions {
  readonly runs: number;
  readonly seed: number;
  readonly mode: ExploreMode;
  /** PCT's bug depth d. */
  readonly depth: number;
  /** Exhaustive: stop after this many runs (complete or not). */
  readonly maxRuns: number;
  readonly window: number;
  /** Distinct failures per strategy that get shrunk evidence (the rest are counted). */
  readonly evidenceLimit: number;
  readonly shrinkBudget: number;
}

export const DEFAULT_CAMPAIGN: Omit<CampaignOptions, 'runs' | 'seed'> = {
  mode: 'random',
  depth: 3,
  maxRuns: 10_000,
  window: DEFAULT_WINDOW_MS,
  evidenceLimit: 10,
  shrinkBudget: 400,
};

export type Exploration =
  | { selector: 'random' }
  | { selector: 'pct'; depth: number; actors: number; choices: number; missBound: number; guarantee: string }
  | { selector: 'exhaustive'; complete: boolean; interleavings: number; pruned: number; summary: string };

export interface EvidenceFile {
  /** reports/<scenario>/<strategy>/<name>.evidence */
  path: string;
  failure: string;
  /** Runs that failed this way. */
  runs: number;
  stepsBefore: number;
  stepsAfter: number;
  deterministic: boolean;
  determinism: string;
}

export interface StrategyResult extends StrategySummary {
  exploration: Exploration;
  evidence: EvidenceFile[];
  /** Set when the strategy misbehaved: what, where (scenario, seed, step). */
  error?: string;
}

export interface ScenarioSummary {
  name: string;
  file: string;
  runs: number;
  seed: number;
  explore: ExploreMode;
  strategies: StrategyResult[];
}

export interface EvidenceOut {
  readonly path: string;
  readonly text: string;
}

/** PCT's guarantee: a depth-d bug is missed with probability at most (1 − 1/(n·k^(d−1)))^runs. */
export function pctMissBound(n: number, k: number, d: number, runs: number): number {
  const p = 1 / (Math.max(1, n) * Math.max(1, k) ** (d - 1));
  return (1 - p) ** runs;
}

/** One strategy's runs, before evidence: what a shard computes and `merge` combines. */
export interface StrategyTally {
  readonly strategy: string;
  readonly tally: TallyState;
  /** The strategy misbehaved (the first fault by seed); no numbers for it. */
  readonly fault?: FaultResult['fault'];
  /** Exhaustive only: the failing runs' branch choices (first of each kind) and the coverage. */
  readonly exhaustive?: { complete: boolean; runs: number; pruned: number; failures: Array<{ prefix: number[]; kind: string; count: number }> };
}

export interface FailureReport {
  readonly strategy: string;
  readonly evidencePath: string;
  readonly failure: string;
  readonly runs: number;
  readonly explanation: readonly string[];
  readonly charts: EvidenceResult['charts'];
}

export interface ScenarioResult {
  readonly summary: ScenarioSummary;
  readonly files: EvidenceOut[];
  readonly bits: Map<string, { quota: string; move: string }>;
  /** The most telling failure of each strategy: its first (largest-first) evidence. */
  readonly failures: FailureReport[];
}

function jobBase(scenario: Scenario, scenarioText: string, strategy: Strategy, opts: CampaignOptions, pilot: Pilot): JobBase {
  return { scenarioText, scenarioFile: scenario.file, strategy: strategyRef(strategy), mode: opts.mode, depth: opts.depth, window: opts.window, pilot };
}

/**
 * Two traced runs of the same seed must print the same timeline: a strategy that reads a
 * clock, Math.random or a global counter is caught before its numbers are believed.
 */
function checkSameTwice(scenario: Scenario, strategy: Strategy, opts: CampaignOptions): void {
  const traced = (): Timeline => {
    const t = new Timeline();
    runOnce(scenario, strategy, scenario.seed, { window: opts.window, trace: t });
    return t;
  };
  const first = traced();
  const diff = firstDifference(first.format(), traced().format());
  if (!diff) return;
  // Timeline lines are its entries, one each: the differing line's entry knows its step.
  throw new StrategyFault(
    strategy.name,
    `is not deterministic: two runs of the same seed differ from trace line ${diff.line} ("${diff.a.trim().slice(0, 100)}" vs "${diff.b.trim().slice(0, 100)}"); a strategy must be a function of what it reads (no clock, Math.random or state kept between calls)`,
    scenario.seed,
    first.entries[diff.line - 1]?.step ?? first.entries.at(-1)?.step,
    scenario.name,
  );
}

/**
 * Phase 1: run the seeds [from, to) of every strategy (the whole campaign, or one shard's
 * share), aggregated in seed order whatever the number of workers.
 */
export async function tallyScenario(
  scenario: Scenario,
  scenarioText: string,
  strategies: readonly Strategy[],
  opts: CampaignOptions,
  pool: WorkerPool,
  range: { from: number; to: number },
  progress?: (done: number, total: number) => void,
): Promise<StrategyTally[]> {
  const out: StrategyTally[] = [];
  for (const strategy of strategies) {
    let pilot: Pilot;
    try {
      checkSameTwice(scenario, strategy, opts);
      pilot = runPilot(scenario, strategy, opts.window);
    } catch (e) {
      if (!(e instanceof StrategyFault)) throw e;
      out.push({ strategy: strategy.name, tally: emptyTally(), fault: e.with({ scenario: scenario.name }).toJSON() });
      continue;
    }
    const base = jobBase(scenario, scenarioText, strategy, opts, pilot);
    if (opts.mode === 'exhaustive') {
      const r = explore(scenario, strategy, pilot, opts.window, opts.maxRuns, opts.seed);
      const tally = emptyTally();
      for (const o of r.outcomes) addRun(tally, o);
      const kinds = new Map<string, { prefix: number[]; kind: string; count: number }>();
      for (const f of r.failures) {
        const k = failureKind(f.outcome);
        const g = kinds.get(k);
        if (g) g.count++;
        else kinds.set(k, { prefix: [...f.prefix], kind: k, count: 1 });
      }
      out.push({ strategy: strategy.name, tally, exhaustive: { complete: r.complete, runs: r.runs, pruned: r.pruned, failures: [...kinds.values()] } });
      continue;
    }
    const chunk = Math.max(1, Math.ceil((range.to - range.from) / Math.max(1, pool.size * 4)));
    const jobs: RunsJob[] = [];
    for (let from = range.from; from < range.to; from += chunk) jobs.push({ ...base, type: 'runs', from, to: Math.min(range.to, from + chunk) });
    let tally = emptyTally();
    let fault: FaultResult['fault'] | undefined;
    for (const t of await pool.run<TallyState | FaultResult>(jobs, progress)) {
      if ('fault' in t) fault ??= t.fault;
      else if (!fault) tally = mergeTally(tally, t);
    }
    out.push(fault ? { strategy: strategy.name, tally: emptyTally(), fault } : { strategy: strategy.name, tally });
  }
  return out;
}

/**
 * Phase 2: from the tallies, the summary; each distinct failure's first run shrunk,
 * explained and rendered as evidence (in parallel, in a fixed order).
 */
export async function finishScenario(
  scenario: Scenario,
  scenarioText: string,
  strategies: readonly Strategy[],
  tallies: readonly StrategyTally[],
  opts: CampaignOptions,
  pool: WorkerPool,
  reportsDir: string,
): Promise<ScenarioResult> {
  const results: StrategyResult[] = [];
  const files: EvidenceOut[] = [];
  const bits = new Map<string, { quota: string; move: string }>();
  const failures: FailureReport[] = [];
  for (const strategy of strategies) {
    const st = tallies.find((t) => t.strategy === strategy.name);
    if (!st) throw new Error(`no results for strategy ${strategy.name}`);
    if (st.fault) {
      results.push({ ...summarize(strategy.name, emptyTally()), exploration: { selector: 'random' }, evidence: [], error: st.fault.message });
      continue;
    }
    const pilot = runPilot(scenario, strategy, opts.window);
    const base = jobBase(scenario, scenarioText, strategy, opts, pilot);
    const tally = st.tally;
    bits.set(strategy.name, { quota: tally.quotaBits, move: tally.moveBits });
    let exploration: Exploration = { selector: 'random' };
    const evidenceJobs: EvidenceJob[] = [];
    const names: string[] = [];
    const groupRuns: number[] = [];
    if (st.exhaustive) {
      const x = st.exhaustive;
      const fails = x.failures.reduce((n, f) => n + f.count, 0);
      exploration = {
        selector: 'exhaustive',
        complete: x.complete,
        interleavings: x.runs,
        pruned: x.pruned,
        summary: `${x.complete ? 'complete' : `incomplete (stopped at --max-runs ${opts.maxRuns})`}: ${x.runs.toLocaleString('en-US')} distinct interleavings, ${fails.toLocaleString('en-US')} failures (${x.pruned.toLocaleString('en-US')} duplicate states pruned)`,
      };
      x.failures.slice(0, opts.evidenceLimit).forEach((f, i) => {
        evidenceJobs.push({ ...base, type: 'evidence', seed: opts.seed, prefix: f.prefix, alsoFailing: `${f.count} of ${x.runs} interleavings fail this way`, shrinkBudget: opts.shrinkBudget });
        names.push(`exhaustive-${i + 1}`);
        groupRuns.push(f.count);
      });
    } else {
      if (opts.mode === 'pct') {
        const n = pilot.actors.length;
        const k = pilot.orderChoices;
        const missBound = pctMissBound(n, k, opts.depth, tally.runs);
        exploration = {
          selector: 'pct',
          depth: opts.depth,
          actors: n,
          choices: k,
          missBound,
          guarantee: `PCT depth ${opts.depth} over n=${n} actors and k=${k} scheduling choices: a bug of depth ${opts.depth} is missed with probability at most (1 − 1/(n·k^${opts.depth - 1}))^${tally.runs} = ${missBound.toPrecision(4)}`,
        };
      }
      for (const g of tally.groups.slice(0, opts.evidenceLimit)) {
        evidenceJobs.push({ ...base, type: 'evidence', seed: g.firstSeed, alsoFailing: `${g.runs} of ${tally.runs} runs fail this way, the first at seed ${g.firstSeed}`, shrinkBudget: opts.shrinkBudget });
        names.push(`${opts.mode === 'pct' ? `pct-d${opts.depth}` : 'random'}-seed-${g.firstSeed}`);
        groupRuns.push(g.runs);
      }
    }
    const evidence: EvidenceFile[] = [];
    const built = await pool.run<EvidenceResult | FaultResult>(evidenceJobs);
    const kept: number[] = [];
    built.forEach((e, i) => {
      if ('fault' in e) return;
      kept.push(i);
      const path = join(reportsDir, scenario.name, strategy.name, `${names[i]}.evidence`);
      files.push({ path, text: e.text });
      evidence.push({ path, failure: e.signature, runs: groupRuns[i]!, stepsBefore: e.originalSteps, stepsAfter: e.shrunkSteps, deterministic: e.deterministic, determinism: e.determinismDetail });
    });
    // The most telling failure: the kind that most runs share.
    let best = -1;
    kept.forEach((i, j) => {
      if (best < 0 || groupRuns[i]! > groupRuns[kept[best]!]!) best = j;
    });
    if (best >= 0) {
      const e = built[kept[best]!] as EvidenceResult;
      failures.push({ strategy: strategy.name, evidencePath: evidence[best]!.path, failure: e.signature, runs: evidence[best]!.runs, explanation: e.explanation, charts: e.charts });
    }
    const summary = summarize(strategy.name, tally);
    if (opts.mode === 'exhaustive') summary.failingSeeds = [];
    results.push({ ...summary, exploration, evidence });
  }
  const runs = opts.mode === 'exhaustive' ? (results.find((r) => !r.error)?.runs ?? 0) : opts.runs;
  return { summary: { name: scenario.name, file: scenario.file, runs, seed: opts.seed, explore: opts.mode, strategies: results }, files, bits, failures };
}

/**
 * The default exploration of one scenario in this thread, without evidence: what tests
 * and benchmarks call. Same numbers as `quotarace run --explore random --no-evidence`.
 */
export function runPlain(scenario: Scenario, strategies: readonly Strategy[], runs: number, seed: number, window = DEFAULT_WINDOW_MS): StrategySummary[] {
  return strategies.map((strategy) => {
    const pilot = runPilot(scenario, strategy, window);
    const t = emptyTally();
    for (let s = seed; s < seed + runs; s++) {
      addRun(t, runOnce(scenario, strategy, s, { selector: new RandomSelector(s), window, slots: pilot.slots }));
    }
    return summarize(strategy.name, t);
  });
}
