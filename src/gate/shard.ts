import type { CampaignOptions, StrategyTally } from '../explore/campaign.js';

/** A shard's results: its share of every scenario's runs, before evidence. `merge` reads these. */
export interface ResultsFile {
  readonly format: 'quotarace-results-v1';
  readonly shard: { readonly index: number; readonly count: number };
  readonly scenarios: ReadonlyArray<{
    readonly file: string;
    readonly sha256: string;
    /** This scenario's campaign options (its own runs and seed unless overridden). */
    readonly options: CampaignOptions;
    readonly strategies: readonly string[];
    readonly range: { readonly from: number; readonly to: number };
    readonly tallies: readonly StrategyTally[];
  }>;
}

/** "2/5" → { index: 2, count: 5 }. */
export function parseShard(text: string): { index: number; count: number } | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return count >= 1 && index >= 1 && index <= count ? { index, count } : undefined;
}

/** Shard i of n runs a contiguous share of the seeds; the shares tile [seed, seed + runs). */
export function shardRange(seed: number, runs: number, shard: { index: number; count: number }): { from: number; to: number } {
  const i = shard.index - 1;
  return { from: seed + Math.floor((runs * i) / shard.count), to: seed + Math.floor((runs * (i + 1)) / shard.count) };
}
