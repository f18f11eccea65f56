import { z } from 'zod';
import type { CampaignOptions, StrategyTally } from '../explore/campaign.js';
import { count, tallyShape } from '../explore/tally-shape.js';
import { MAX_LATENCY_POINT } from '../explore/run-id.js';

/** The results format this build writes and merges. v1 files (no tool or module hashes) are refused. */
export const RESULTS_FORMAT = 'quotarace-results-v2';

/**
 * A shard's results: its share of every scenario's runs, before evidence. `merge` reads these.
 * It records what shapes them beyond the scenarios and options: the tool that ran them, and
 * each strategy module's content hash, so that `merge` refuses another build or an edited module.
 */
export interface ResultsFile {
  readonly format: typeof RESULTS_FORMAT;
  /** The tool that ran the shard: "quotarace <version>". */
  readonly tool: string;
  readonly shard: { readonly index: number; readonly count: number };
  /** Each strategy module the shard ran (its absolute path, as `strategies` names it) → sha256 of its bytes. */
  readonly modules: Readonly<Record<string, string>>;
  /** Strategies were chosen with --strategy: the gate leaves out expectations of the others, as the unsharded run does. */
  readonly chosen?: boolean;
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
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(text.trim());
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return count >= 1 && count <= MAX_SHARDS && index >= 1 && index <= count ? { index, count } : undefined;
}

/** Shard i of n runs a contiguous share of the seeds; the shares tile [seed, seed + runs). */
export function shardRange(seed: number, runs: number, shard: { index: number; count: number }): { from: number; to: number } {
  const i = shard.index - 1;
  return { from: seed + Math.floor((runs * i) / shard.count), to: seed + Math.floor((runs * (i + 1)) / shard.count) };
}

/** At most this many shards: a matrix wider than this is a typo (and would cost memory, not time). */
export const MAX_SHARDS = 10_000;

const tally = tallyShape('refuse');
const pilot = z
  .object({ windowWrites: z.array(count).max(100_000), actors: z.array(z.string().max(1000)).max(100_000), orderChoices: count, steps: count })
  .strict();
const fault = z
  .object({ strategy: z.string(), detail: z.string(), seed: count.optional(), step: count.optional(), scenario: z.string().optional(), run: z.string().optional(), message: z.string() })
  .strict();
const options = z
  .object({
    runs: z.number().int().min(1).max(1_000_000_000),
    seed: z.number().int().min(0).max(2 ** 48),
    mode: z.enum(['random', 'pct', 'exhaustive']),
    depth: z.number().int().min(1).max(100),
    maxRuns: z.number().int().min(1).max(10_000_000),
    delays: z.number().int().min(0).max(1000).optional(),
    reduction: z.literal('none').optional(),
    latencyPoints: z.number().int().min(2).max(MAX_LATENCY_POINT + 1).optional(),
    window: z.number().int().min(0).max(86_400_000),
    evidenceLimit: z.number().int().min(0).max(100),
    shrinkBudget: z.number().int().min(0).max(1_000_000),
  })
  .strict();

/** A results file as `merge` accepts it: every field checked, every count a non-negative integer. */
export const resultsSchema = z
  .object({
    format: z.literal(RESULTS_FORMAT),
    tool: z.string().regex(/^quotarace [!-~]{1,100}$/, 'expected "quotarace <version>"'),
    modules: z.record(z.string().min(1).max(4096), z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 in hex')).refine((m) => Object.keys(m).length <= 1000, { message: 'at most 1000 modules' }),
    shard: z.object({ index: z.number().int().min(1), count: z.number().int().min(1).max(MAX_SHARDS) }).strict().refine((s) => s.index <= s.count, { message: 'expected index <= count' }),
    chosen: z.boolean().optional(),
    scenarios: z
      .array(
        z
          .object({
            file: z.string().min(1).max(4096),
            sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 in hex'),
            options,
            strategies: z.array(z.string().min(1).max(4096)).min(1).max(1000),
            range: z.object({ from: count, to: count }).strict().refine((r) => r.from <= r.to, { message: 'expected from <= to' }),
            tallies: z
              .array(z.object({ strategy: z.string().max(4096), tally, fault: fault.optional(), pilot: pilot.optional(), exhaustive: z.object({ complete: z.boolean(), runs: count, pruned: count, reduction: z.literal('none').optional(), delays: z.number().int().min(0).max(1000).optional(), delaysComplete: z.number().int().min(-1).max(1000).optional(), latencyPoints: z.number().int().min(2).max(MAX_LATENCY_POINT + 1).optional(), incompletePoints: z.array(z.number().int().min(0).max(MAX_LATENCY_POINT)).max(MAX_LATENCY_POINT + 1).optional(), pointsDelaysComplete: z.array(z.number().int().min(-1).max(1000)).max(MAX_LATENCY_POINT + 1).optional() }).strict().optional() }).strict())
              .max(1000),
          })
          .strict(),
      )
      .max(10_000),
  })
  .strict();
