import type { Scenario } from '../scenario/model.js';
import type { Strategy } from '../strategies/api.js';
import { runOnce } from '../sim/run.js';
import type { RunOutcome } from '../sim/outcome.js';

/** How many failing seeds each strategy's summary lists, for `quotarace trace`. */
const FAILING_SEEDS_KEPT = 5;

/** Per-strategy totals, aggregated as runs stream in (nothing per run is kept). */
export interface StrategySummary {
  name: string;
  runs: number;
  /** Fraction of runs whose final quota is what the user asked for. */
  quotaCorrect: number;
  /** VMs that moved over VMs that had to move, over all runs. */
  migrationsSucceeded: number;
  /** Fraction of runs that settled before the horizon. */
  settled: number;
  /** Means per run. */
  targetPodsRejectedByQuota: number;
  conflicts: number;
  editsRefused: number;
  agentRestarts: number;
  /** Drain time in seconds over the runs where every drain finished; null if none did. */
  drainSeconds: { mean: number; max: number } | null;
  /** Runs where a drain never finished. */
  drainsUnfinished: number;
  /** The first seeds whose run failed (quota wrong or a VM not moved), for `quotarace trace`. */
  failingSeeds: number[];
}

export class StrategyTally {
  private runs = 0;
  private quotaOk = 0;
  private moved = 0;
  private mustMove = 0;
  private settled = 0;
  private rejected = 0;
  private conflicts = 0;
  private refused = 0;
  private restarts = 0;
  private drainSum = 0;
  private drainMax = 0;
  private drainRuns = 0;
  private drainUnfinished = 0;
  private readonly failing: number[] = [];

  constructor(readonly name: string) {}

  add(o: RunOutcome): void {
    this.runs++;
    if (o.quotaCorrect) this.quotaOk++;
    this.moved += o.moved;
    this.mustMove += o.mustMove;
    if (o.settled) this.settled++;
    const c = o.counters;
    this.rejected += c.targetPodsRejectedByQuota;
    this.conflicts += c.conflicts;
    this.refused += c.editsRefused;
    this.restarts += c.agentRestarts;
    if (c.drainMs >= 0) {
      this.drainRuns++;
      this.drainSum += c.drainMs;
      this.drainMax = Math.max(this.drainMax, c.drainMs);
    }
    if (c.drainMs < 0 && o.mustMove > 0 && o.moved < o.mustMove) this.drainUnfinished++;
    if ((!o.quotaCorrect || o.moved < o.mustMove) && this.failing.length < FAILING_SEEDS_KEPT) this.failing.push(o.seed);
  }

  summary(): StrategySummary {
    const n = Math.max(1, this.runs);
    const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
    return {
      name: this.name,
      runs: this.runs,
      quotaCorrect: r4(this.quotaOk / n),
      migrationsSucceeded: this.mustMove === 0 ? 1 : r4(this.moved / this.mustMove),
      settled: r4(this.settled / n),
      targetPodsRejectedByQuota: r4(this.rejected / n),
      conflicts: r4(this.conflicts / n),
      editsRefused: r4(this.refused / n),
      agentRestarts: r4(this.restarts / n),
      drainSeconds: this.drainRuns ? { mean: r4(this.drainSum / this.drainRuns / 1000), max: this.drainMax / 1000 } : null,
      drainsUnfinished: this.drainUnfinished,
      failingSeeds: this.failing.slice(),
    };
  }
}

export interface ScenarioSummary {
  name: string;
  file: string;
  runs: number;
  seed: number;
  strategies: StrategySummary[];
}

/**
 * Run a scenario's campaign: for every strategy, runs seeded seed, seed+1, ...; the same
 * seeds for every strategy, so they are compared on the same action times and latencies.
 */
export function runCampaign(scenario: Scenario, strategies: readonly Strategy[], runs: number, seed: number): ScenarioSummary {
  const summaries: StrategySummary[] = [];
  for (const strategy of strategies) {
    const tally = new StrategyTally(strategy.name);
    for (let i = 0; i < runs; i++) tally.add(runOnce(scenario, strategy, seed + i));
    summaries.push(tally.summary());
  }
  return { name: scenario.name, file: scenario.file, runs, seed, strategies: summaries };
}
