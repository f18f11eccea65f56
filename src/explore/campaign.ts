import { join } from 'node:path';
import type { Scenario } from '../scenario/model.js';
import type { Strategy } from '../strategies/api.js';
import { explore } from './exhaustive.js';
import type { EvidenceJob, EvidenceResult, ExploreMode, JobBase, RunsJob } from './jobs.js';
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
  runs: number;
  stepsBefore: number;
  stepsAfter: number;
  deterministic: boolean;
  determinism: string;
}

export interface StrategyResult extends StrategySummary {
  exploration: Exploration;
  evidence: EvidenceFile[];
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

/**
 * A scenario's campaign: for every strategy, the same seeds (or the same exhaustive
 * space), aggregated in seed order whatever the number of workers; then each distinct
 * failure's first run is shrunk and explained into an evidence file.
 */
export async function runScenario(
  scenario: Scenario,
  scenarioText: string,
  strategies: readonly Strategy[],
  opts: CampaignOptions,
  pool: WorkerPool,
  reportsDir: string,
): Promise<{ summary: ScenarioSummary; files: EvidenceOut[] }> {
  const results: StrategyResult[] = [];
  const files: EvidenceOut[] = [];
  for (const strategy of strategies) {
    const pilot: Pilot = runPilot(scenario, strategy, opts.window);
    const base: JobBase = {
      scenarioText,
      scenarioFile: scenario.file,
      strategy: strategy.name,
      mode: opts.mode,
      depth: opts.depth,
      window: opts.window,
      pilot,
    };
    let tally: TallyState = emptyTally();
    let exploration: Exploration = { selector: 'random' };
    const evidenceJobs: EvidenceJob[] = [];
    const evidenceNames: string[] = [];
    if (opts.mode === 'exhaustive') {
      const r = explore(scenario, strategy, pilot, opts.window, opts.maxRuns, opts.seed);
      for (const o of r.outcomes) addRun(tally, o);
      const total = r.runs.toLocaleString('en-US');
      exploration = {
        selector: 'exhaustive',
        complete: r.complete,
        interleavings: r.runs,
        pruned: r.pruned,
        summary: `${r.complete ? 'complete' : `incomplete (stopped at --max-runs ${opts.maxRuns})`}: ${total} distinct interleavings, ${r.failures.length} failures (${r.pruned} duplicate states pruned)`,
      };
      const seen = new Set<string>();
      r.failures.forEach((f, i) => {
        const sig = JSON.stringify([f.outcome.quotaCorrect, f.outcome.stuck, f.outcome.violation?.invariant]);
        if (seen.has(sig) || evidenceJobs.length >= opts.evidenceLimit) return;
        seen.add(sig);
        const runs = r.failures.filter((g) => JSON.stringify([g.outcome.quotaCorrect, g.outcome.stuck, g.outcome.violation?.invariant]) === sig).length;
        evidenceJobs.push({ ...base, type: 'evidence', seed: opts.seed, prefix: f.prefix, alsoFailing: `${runs} of ${r.runs} interleavings fail this way`, shrinkBudget: opts.shrinkBudget });
        evidenceNames.push(`exhaustive-${i + 1}`);
      });
    } else {
      const chunk = Math.max(1, Math.ceil(opts.runs / Math.max(1, pool.size * 4)));
      const jobs: RunsJob[] = [];
      for (let from = opts.seed; from < opts.seed + opts.runs; from += chunk) {
        jobs.push({ ...base, type: 'runs', from, to: Math.min(opts.seed + opts.runs, from + chunk) });
      }
      for (const t of await pool.run<TallyState>(jobs)) tally = mergeTally(tally, t);
      if (opts.mode === 'pct') {
        const n = pilot.actors.length;
        const k = pilot.orderChoices;
        const missBound = pctMissBound(n, k, opts.depth, opts.runs);
        exploration = {
          selector: 'pct',
          depth: opts.depth,
          actors: n,
          choices: k,
          missBound,
          guarantee: `PCT depth ${opts.depth} over n=${n} actors and k=${k} scheduling choices: a bug of depth ${opts.depth} is missed with probability at most (1 − 1/(n·k^${opts.depth - 1}))^${opts.runs} = ${missBound.toPrecision(4)}`,
        };
      }
      for (const g of tally.groups.slice(0, opts.evidenceLimit)) {
        evidenceJobs.push({ ...base, type: 'evidence', seed: g.firstSeed, alsoFailing: `${g.runs} of ${opts.runs} runs fail this way, the first at seed ${g.firstSeed}`, shrinkBudget: opts.shrinkBudget });
        evidenceNames.push(`${opts.mode === 'pct' ? `pct-d${opts.depth}` : 'random'}-seed-${g.firstSeed}`);
      }
    }
    const evidence: EvidenceFile[] = [];
    const built = await pool.run<EvidenceResult>(evidenceJobs);
    built.forEach((e, i) => {
      const path = join(reportsDir, scenario.name, strategy.name, `${evidenceNames[i]}.evidence`);
      files.push({ path, text: e.text });
      evidence.push({
        path,
        failure: e.signature,
        runs: 0,
        stepsBefore: e.originalSteps,
        stepsAfter: e.shrunkSteps,
        deterministic: e.deterministic,
        determinism: e.determinismDetail,
      });
    });
    const summary = summarize(strategy.name, tally);
    if (opts.mode === 'exhaustive') summary.failingSeeds = [];
    evidence.forEach((ev, i) => (ev.runs = opts.mode === 'exhaustive' ? 0 : (tally.groups[i]?.runs ?? 0)));
    results.push({ ...summary, exploration, evidence });
  }
  return {
    summary: { name: scenario.name, file: scenario.file, runs: opts.mode === 'exhaustive' ? results[0]?.runs ?? 0 : opts.runs, seed: opts.seed, explore: opts.mode, strategies: results },
    files,
  };
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
