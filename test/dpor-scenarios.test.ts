import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { explore, type Reduction } from '../src/explore/exhaustive.js';
import { runPilot } from '../src/explore/pilot.js';
import { loadScenario } from '../src/scenario/load.js';
import { failureKind } from '../src/sim/outcome.js';
import { stateKey } from '../src/sim/state.js';
import type { World } from '../src/cluster/world.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * DPOR against the search without reduction on scenarios whose order choices matter: complete
 * both, the same end states and failure kinds; against the full search with DPOR's keying (every
 * option tried), the same states. In `npm test` (complete searches take seconds each).
 */
describe('DPOR reaches what the unreduced search reaches', () => {
  const search = (file: string, name: string, reduction: Reduction, dependent?: () => boolean) => {
    const scenario = loadScenario(resolve(__dirname, '../scenarios', file), () => true);
    const strategy = builtinStrategy(name)!;
    const states = new Set<string>();
    const keyOf = (w: World) => {
      const k = stateKey(w);
      states.add(k);
      return k;
    };
    const r = explore(scenario, strategy, runPilot(scenario, strategy, 0), 0, 20_000, scenario.seed, keyOf, undefined, { reduction, verify: true, ...(dependent ? { dependent } : {}) });
    return { r, states, ends: new Set(r.outcomes.map((o) => o.fingerprint)), kinds: new Set(r.failures.map((f) => failureKind(f.outcome))) };
  };
  const cases: Array<[string, string]> = [
    ['8-edit-during-migration.yaml', 'pre-fix'],
    ['12-agent-rollout-during-migration.yaml', 'v1.4.2'],
  ];
  for (const [file, name] of cases) {
    it(`${file}, ${name}: the same end states and failure kinds, fewer runs`, () => {
      const none = search(file, name, 'none');
      const dpor = search(file, name, 'dpor');
      const full = search(file, name, 'dpor', () => true);
      console.log(`${file} ${name}: without reduction ${none.r.runs} runs + ${none.r.pruned} pruned; DPOR ${dpor.r.runs} + ${dpor.r.pruned}; ${dpor.ends.size} end states, kinds: ${[...dpor.kinds].join(' | ') || 'none'}`);
      expect(none.r.complete && dpor.r.complete && full.r.complete).toBe(true);
      expect([...dpor.ends].sort()).toEqual([...none.ends].sort());
      expect([...dpor.kinds].sort()).toEqual([...none.kinds].sort());
      expect(dpor.states).toEqual(full.states);
      expect(dpor.r.runs + dpor.r.pruned).toBeLessThan(none.r.runs + none.r.pruned);
    });
  }

  it('a relation that lets every step commute misses states on scenario 12', () => {
    const full = search('12-agent-rollout-during-migration.yaml', 'pre-fix', 'dpor', () => true);
    const wrong = search('12-agent-rollout-during-migration.yaml', 'pre-fix', 'dpor', () => false);
    expect([...full.states].filter((k) => !wrong.states.has(k)).length).toBeGreaterThan(0);
  });
});
