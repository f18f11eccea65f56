import { mergeTally, emptyTally, type TallyState } from '../explore/tally.js';
import type { FaultResult, PrepareResult, RunsJob, PrepareJob } from '../explore/jobs.js';
import type { WorkerPool } from '../explore/pool.js';
import { DEFAULT_CAMPAIGN } from '../explore/campaign.js';
import { bundleOf, loadFaultOf, strategyRef } from '../strategies/loader.js';
import { StrategyFault } from '../strategies/fault.js';
import type { Strategy } from '../strategies/api.js';
import { parseScenario } from '../scenario/load.js';

/** One generated scenario's short campaign: its tally over every explorer, in a fixed order. */
export interface Evaluated {
  readonly tally: TallyState;
  readonly runs: number;
}

export interface CampaignShape {
  readonly runs: number;
  readonly explorers: readonly ('random' | 'pct')[];
}

/** A strategy that misbehaved during the hunt: reported as such (exit 1), not as a failure of the scenario. */
export class HuntFault extends Error {}

/**
 * Campaigns for a batch of scenario texts, through the existing explorers on the worker
 * pool: a prepare job each (the determinism check and the pilot), then one runs job per
 * scenario and explorer. The pool returns results in job order, so the batch's tallies are
 * the same for any number of workers.
 */
export async function evaluateBatch(texts: readonly string[], file: string, strategy: Strategy, shape: CampaignShape, pool: WorkerPool): Promise<Evaluated[]> {
  const fault = loadFaultOf(strategy);
  if (fault !== undefined) throw new HuntFault(new StrategyFault(strategy.name, fault).message);
  const ref = strategyRef(strategy);
  const bundle = bundleOf(ref);
  const seeds = texts.map((t) => parseScenario(t, file, () => true));
  const base = (text: string, name: string) => ({ scenarioText: text, scenarioFile: file, strategy: ref, strategyName: strategy.name, scenarioName: name, ...(bundle ? { bundle } : {}) });
  const window = DEFAULT_CAMPAIGN.window;
  const prepared = await pool.run<PrepareResult>(texts.map((t, i): PrepareJob => ({ ...base(t, seeds[i]!.name), type: 'prepare', window })));
  const jobs: RunsJob[] = [];
  prepared.forEach((p, i) => {
    if ('fault' in p) throw new HuntFault(p.fault.message);
    for (const mode of shape.explorers) jobs.push({ ...base(texts[i]!, seeds[i]!.name), pilot: p.pilot, type: 'runs', mode, depth: DEFAULT_CAMPAIGN.depth, window, from: seeds[i]!.seed, to: seeds[i]!.seed + shape.runs });
  });
  const results = await pool.run<TallyState | FaultResult>(jobs);
  const out: Evaluated[] = [];
  for (let i = 0; i < texts.length; i++) {
    let tally = emptyTally();
    for (let e = 0; e < shape.explorers.length; e++) {
      const r = results[i * shape.explorers.length + e]!;
      if ('fault' in r) throw new HuntFault(r.fault.message);
      tally = mergeTally(tally, r);
    }
    out.push({ tally, runs: tally.runs });
  }
  return out;
}
