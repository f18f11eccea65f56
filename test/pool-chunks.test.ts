import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinChunks, DEFAULT_CAMPAIGN, runPlain, tallyScenario, type CampaignOptions } from '../src/explore/campaign.js';
import { WorkerPool } from '../src/explore/pool.js';
import { summarize } from '../src/explore/tally.js';
import { loadScenario } from '../src/scenario/load.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * How a built-in's campaign is cut into jobs and scheduled (the pilot in this thread, the
 * determinism checks beside the first chunks, chunks that shrink towards the end) sets its
 * speed only: the numbers are those of the runs one after another, for any pool size.
 */
const FILE = 'scenarios/7-tiny-agent-restart.yaml';
// Worker threads run the built code (dist/): in `npm test`, which builds first.
const BUILT = existsSync(fileURLToPath(new URL('../dist/cli/worker.js', import.meta.url)));

const pools: WorkerPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('a built-in strategy on the worker pool', () => {
  it('cuts a campaign into chunks that cover its seeds once, in order, and shrink to 4 runs towards its end', () => {
    for (const [from, to, workers] of <Array<[number, number, number]>>[
      [1, 601, 2],
      [5, 142, 3],
      [1, 20_001, 2],
      [7, 10, 2],
      [3, 3, 2],
      [1, 101, 0],
    ]) {
      const chunks = builtinChunks(from, to, workers);
      let at = from;
      for (const [i, c] of chunks.entries()) {
        expect(c.from).toBe(at);
        const size = c.to - c.from;
        // 4 to 64 runs; only the last may be shorter, what is left of the seeds.
        expect(size).toBeLessThanOrEqual(64);
        expect(size).toBeGreaterThanOrEqual(i < chunks.length - 1 ? 4 : 1);
        if (i > 0) expect(size).toBeLessThanOrEqual(chunks[i - 1]!.to - chunks[i - 1]!.from);
        at = c.to;
      }
      expect(at).toBe(Math.max(from, to));
    }
    // A long campaign: large chunks first, 4-run ones to finish, so no worker waits long for the last.
    const long = builtinChunks(1, 601, 2).map((c) => c.to - c.from);
    expect(long[0]).toBe(64);
    expect(Math.max(...long.slice(-4))).toBeLessThanOrEqual(4);
    expect(long.length).toBeLessThan(40);
  });

  it.skipIf(!BUILT)('tallies exactly the runs one after another, for 1, 2 and 3 workers and a range that is no multiple of any chunk', async () => {
    const scenario = loadScenario(FILE, (n) => builtinStrategy(n) !== undefined);
    const text = readFileSync(FILE, 'utf8');
    const strategies = [builtinStrategy('pre-fix')!];
    const [from, to] = [5, 5 + 137];
    const plain = runPlain(scenario, strategies, to - from, from);
    for (const [mode, sizes] of [
      ['random', [1, 2, 3]],
      ['pct', [1, 2]],
    ] as const) {
      const opts: CampaignOptions = { ...DEFAULT_CAMPAIGN, mode, runs: to - from, seed: from, evidenceLimit: 0 };
      const seen: string[] = [];
      for (const size of sizes) {
        const pool = new WorkerPool(size);
        pools.push(pool);
        const tallies = await tallyScenario(scenario, text, strategies, opts, pool, { from, to });
        expect(tallies.map((t) => t.fault)).toEqual([undefined]);
        if (mode === 'random') expect(tallies.map((t) => summarize(t.strategy, t.tally))).toEqual(plain);
        seen.push(JSON.stringify(tallies));
        await pool.close();
      }
      for (const s of seen) expect(s).toBe(seen[0]);
    }
  }, 120_000);
});
