import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import exactDelta from '../scenarios/strategies/exact-delta.js';
import { RandomSelector, type ChoiceLog } from '../src/kernel/choice.js';
import { runPilot } from '../src/explore/pilot.js';
import { replayRun } from '../src/explore/shrink.js';
import { Timeline } from '../src/sim/timeline.js';
import { loadScenario } from '../src/scenario/load.js';
import { DEFAULT_WINDOW_MS, runOnce } from '../src/sim/run.js';
import type { Strategy } from '../src/strategies/api.js';
import { BUILTIN_STRATEGIES, builtinStrategy } from '../src/strategies/builtin.js';

/**
 * The replay contract: a run is its choice log. For every bundled scenario, every built-in
 * strategy (and scenario 9's strategy module), and several seeds, a run with a random
 * selector, replayed strictly from its log, prints the same timeline and ends the same way.
 */
const SEEDS = [1, 2, 3, 4, 5];
const FILES = readdirSync('scenarios')
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const MODULES: Record<string, Strategy> = { './strategies/exact-delta.ts': exactDelta };

function strategiesOf(refs: readonly string[] | undefined): Strategy[] {
  const extra = (refs ?? []).flatMap((r) => (MODULES[r] ? [MODULES[r]] : []));
  return [...BUILTIN_STRATEGIES, ...extra];
}

describe('replay contract: a strict replay of a logged random run prints the same trace', () => {
  it('covers every bundled scenario', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(9);
  });

  for (const file of FILES) {
    const scenario = loadScenario(`scenarios/${file}`, (n) => builtinStrategy(n) !== undefined);
    for (const strategy of strategiesOf(scenario.strategies)) {
      it(`${file} × ${strategy.name}`, () => {
        const window = DEFAULT_WINDOW_MS;
        const windowWrites = runPilot(scenario, strategy, window).windowWrites;
        let choices = 0;
        for (const seed of SEEDS) {
          const original = new Timeline();
          let log: ChoiceLog | undefined;
          // A selector seeded apart from the world's seed: the log alone must carry the run.
          const outcome = runOnce(scenario, strategy, seed, {
            selector: new RandomSelector(seed * 7919 + 13),
            window,
            windowWrites,
            trace: original,
            inspect: (w) => (log = w.choices.log),
          });
          const values = log!.values.slice();
          const sizes = log!.sizes.slice();
          choices += values.length;
          const again = new Timeline();
          const replayed = replayRun(
            { scenario, strategy, seed, window, windowWrites, disabled: new Set(), values },
            { strict: true, sizes },
            again,
          );
          const text = original.format();
          expect(text.length).toBeGreaterThan(0);
          expect(again.format(), `seed ${seed}: the replayed trace differs`).toBe(text);
          expect(again.entries.map((e) => e.step)).toEqual(original.entries.map((e) => e.step));
          expect(replayed.log.values).toEqual(values);
          expect(replayed.log.sizes).toEqual(sizes);
          expect(JSON.stringify(replayed.outcome)).toBe(JSON.stringify(outcome));
        }
        // The runs made choices, so a replay that ignored its log would be caught.
        expect(choices).toBeGreaterThan(0);
      });
    }
  }
});
