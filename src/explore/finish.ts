import { join } from 'node:path';
import { significant } from '../base/digits.js';
import type { Scenario } from '../scenario/model.js';
import type { Metric } from '../sim/outcome.js';
import { DEFAULT_WINDOW_MS } from '../sim/run.js';
import type { Strategy } from '../strategies/api.js';
import { jobBase, prepareStrategy, type CampaignOptions, type CampaignProgress, type EvidenceFile, type EvidenceOut, type Exploration, type FailureReport, type ScenarioResult, type StrategyResult, type StrategyTally } from './campaign.js';
import type { EvidenceResult, RecordedRun } from './evidence-job.js';
import { coverageSummary } from './exhaustive.js';
import type { EvidenceJob, FaultResult } from './jobs.js';
import { pctMissBound, pctRunsFor } from './pct-bound.js';
import type { WorkerPool } from './pool.js';
import { parseRunId, runIdFileName } from './run-id.js';
import { emptyTally, summarize, type TallyState } from './tally.js';

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
  progress?: CampaignProgress,
): Promise<ScenarioResult> {
  const results: StrategyResult[] = [];
  const files: EvidenceOut[] = [];
  const bits = new Map<string, { quota: string; move: string }>();
  const failures: FailureReport[] = [];
  const recorded = new Map<string, RecordedRun>();
  for (const strategy of strategies) {
    const st = tallies.find((t) => t.strategy === strategy.name);
    if (!st) throw new Error(`no results for strategy ${strategy.name}`);
    if (st.fault) {
      results.push(errorRow(strategy.name, st.fault.message));
      continue;
    }
    let pilot = st.pilot;
    if (!pilot) {
      const prepared = await prepareStrategy(scenario, scenarioText, strategy, opts.window, pool);
      if ('fault' in prepared) {
        results.push(errorRow(strategy.name, prepared.fault.message));
        continue;
      }
      pilot = prepared.pilot;
    }
    const base = jobBase(scenario, scenarioText, strategy, pilot);
    const tally = st.tally;
    bits.set(strategy.name, { quota: tally.quotaBits, move: tally.moveBits });
    let exploration: Exploration = { selector: 'random' };
    const evidenceJobs: EvidenceJob[] = [];
    const names: string[] = [];
    const groupRuns: number[] = [];
    const jobBreaks: Metric[][] = [];
    const x = st.exhaustive;
    if (x) {
      const fails = tally.groups.reduce((n, g) => n + g.runs, 0);
      exploration = {
        selector: 'exhaustive',
        complete: x.complete,
        interleavings: x.runs,
        pruned: x.pruned,
        summary: coverageSummary(x, opts.maxRuns, fails),
        ...(x.complete ? {} : { maxRuns: opts.maxRuns }),
        ...(x.reduction ? { reduction: x.reduction } : {}),
        ...(x.delays !== undefined ? { delays: x.delays, delaysComplete: x.delaysComplete } : {}),
        ...(x.latencyPoints ? { latencyPoints: x.latencyPoints } : {}),
        ...(x.incompletePoints ? { incompletePoints: [...x.incompletePoints] } : {}),
        ...(x.pointsDelaysComplete ? { pointsDelaysComplete: [...x.pointsDelaysComplete] } : {}),
      };
    } else if (opts.mode === 'pct') {
      const n = pilot.actors.length;
      const k = pilot.orderChoices;
      const d = opts.depth;
      const missBound = pctMissBound(n, k, d, tally.runs);
      const need = pctRunsFor(n, k, d);
      exploration = {
        selector: 'pct',
        depth: d,
        actors: n,
        choices: k,
        missBound,
        runsFor5Percent: need,
        guarantee:
          `PCT depth ${d}, n=${n} actors, k=${k} scheduling choices (k from the pilot run): a heuristic bound, not a guarantee: ` +
          `a bug of depth ${d} is missed with probability at most (1 − 1/(n·k^${d - 1}))^${tally.runs} = ${significant(missBound, 4, [0, 1])}, ` +
          `assuming k bounds every run's scheduling choices and the bug needs only ${d - 1} ordering constraint${d === 2 ? '' : 's'} (latencies and window times stay random, so runs differ in more than their order); ` +
          (need === null ? 'no feasible number of runs brings it under 5%' : `${need.toLocaleString('en-US')} runs would bring it under 5%`),
      };
    }
    // One evidence file per failure kind, at most evidenceLimit; the first kind breaking each
    // metric is always among them, so the gate can quote a run that breaks *that* metric.
    const groups = tally.groups;
    const settledRun = settledExample(scenario, strategy.name, tally);
    const room = Math.max(0, opts.evidenceLimit - (settledRun ? 1 : 0));
    const required = new Set<number>();
    for (const m of ['quota', 'migrations', 'invariants'] as const) {
      const i = groups.findIndex((g) => g.breaks.includes(m));
      if (i >= 0) required.add(i);
    }
    const chosen = [...required].sort((a, b) => a - b).slice(0, room);
    for (let i = 0; i < groups.length && chosen.length < room; i++) if (!chosen.includes(i)) chosen.push(i);
    chosen.sort((a, b) => a - b);
    chosen.forEach((gi) => {
      const g = groups[gi]!;
      const alsoFailing = x ? `${g.runs} of ${x.runs} interleavings fail this way` : `${g.runs} of ${tally.runs} runs fail this way, the first is run ${g.firstRun}`;
      evidenceJobs.push({ ...base, type: 'evidence', run: g.firstRun, alsoFailing, shrinkBudget: opts.shrinkBudget });
      names.push(x ? `exhaustive-${gi + 1}` : evidenceName(g.firstRun));
      groupRuns.push(g.runs);
      jobBreaks.push(g.breaks.slice());
    });
    if (settledRun && opts.evidenceLimit > 0) {
      const unsettled = tally.runs - tally.settled;
      evidenceJobs.push({ ...base, type: 'evidence', run: settledRun, metric: 'settled', alsoFailing: `${unsettled} of ${tally.runs} runs hit the horizon still busy, the first is run ${settledRun}`, shrinkBudget: opts.shrinkBudget });
      names.push(`${x ? 'exhaustive' : evidenceName(settledRun)}-unsettled`);
      groupRuns.push(0);
      jobBreaks.push(['settled']);
    }
    const evidence: EvidenceFile[] = [];
    if (evidenceJobs.length) progress?.evidence?.(strategy.name, 0, evidenceJobs.length);
    const built = await pool.run<EvidenceResult | FaultResult>(evidenceJobs, progress?.evidence && ((d, t) => progress.evidence!(strategy.name, d, t)));
    const kept: number[] = [];
    let evidenceFault: string | undefined;
    built.forEach((e, i) => {
      if ('fault' in e) {
        evidenceFault ??= `evidence of run ${evidenceJobs[i]!.run}: ${e.fault.message}`;
        return;
      }
      kept.push(i);
      const path = join(reportsDir, scenario.name, strategy.name, `${names[i]}.evidence`);
      files.push({ path, text: e.text });
      recorded.set(path, e.recorded);
      evidence.push({ path, run: evidenceJobs[i]!.run, breaks: jobBreaks[i]!, failure: e.signature, runs: groupRuns[i]!, stepsBefore: e.originalSteps, stepsAfter: e.shrunkSteps, deterministic: e.deterministic, determinism: e.determinismDetail, traceSha256: e.recorded.traceSha256 });
    });
    // The most telling failure: the kind that most runs share (an unsettled example is no failure kind).
    let best = -1;
    kept.forEach((i, j) => {
      if (evidenceJobs[i]!.metric === 'settled') return;
      if (best < 0 || groupRuns[i]! > groupRuns[kept[best]!]!) best = j;
    });
    if (best >= 0) {
      const e = built[kept[best]!] as EvidenceResult;
      failures.push({ strategy: strategy.name, evidencePath: evidence[best]!.path, run: evidence[best]!.run, failure: e.signature, runs: evidence[best]!.runs, recorded: e.recorded });
    }
    const summary = summarize(strategy.name, tally);
    // Evidence that could not be written is never dropped in silence: the strategy's row is an error.
    if (evidenceFault) results.push(errorRow(strategy.name, evidenceFault, exploration));
    else results.push({ ...summary, exploration, evidence });
  }
  const runs = opts.mode === 'exhaustive' ? (results.find((r) => !r.error)?.runs ?? 0) : opts.runs;
  return { summary: { name: scenario.name, file: scenario.file, runs, seed: opts.seed, explore: opts.mode, strategies: results }, files, bits, failures, recorded };
}

/** An evidence file's name for a random or PCT run: as before run ids, random-seed-N / pct-dD-seed-N. */
function evidenceName(run: string): string {
  const id = parseRunId(run);
  if (id.explorer === 'exhaustive') return runIdFileName(id);
  const w = id.window !== DEFAULT_WINDOW_MS ? `-w${id.window}` : '';
  return `${id.explorer === 'pct' ? `pct-d${id.depth}` : 'random'}${w}-seed-${id.seed}`;
}

/**
 * The unsettled run to save evidence of: only when the scenario expects a minimum `settled`
 * rate of this strategy that the runs miss (so the gate quotes it), and some run hit the
 * horizon still busy.
 */
function settledExample(scenario: Scenario, strategy: string, tally: TallyState): string | undefined {
  const run = tally.firstBreaking.settled;
  if (!run) return undefined;
  const rate = tally.settled / Math.max(1, tally.runs);
  return scenario.expect.some((e) => e.strategy === strategy && e.metric === 'settled' && ((e.min !== undefined && rate < e.min) || (e.max !== undefined && rate > e.max))) ? run : undefined;
}

/** A strategy's row when it failed: no counts, only the error (the report and gate show it as such). */
function errorRow(name: string, error: string, exploration: Exploration = { selector: 'random' }): StrategyResult {
  return { ...summarize(name, emptyTally()), exploration, evidence: [], error };
}
