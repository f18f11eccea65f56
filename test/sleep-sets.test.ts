import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { explore } from '../src/explore/exhaustive.js';
import { runPilot } from '../src/explore/pilot.js';
import { independent, type StepFootprint } from '../src/explore/sleep.js';
import { loadScenario } from '../src/scenario/load.js';
import { failureKind } from '../src/sim/outcome.js';
import { stateKey } from '../src/sim/state.js';
import type { World } from '../src/cluster/world.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

const fp = (reads: string[], writes: string[], global = false): StepFootprint => ({ reads: new Set(reads), writes: new Set(writes), global });

describe('the step dependency relation', () => {
  it('steps on disjoint objects, caches and queues commute; a write depends on what the other reads or writes', () => {
    expect(independent(fp(['Pod/a/x'], ['Pod', 'Pod/a/x']), fp(['ResourceQuota/a/q'], ['queue:rq']))).toBe(true);
    // A list of a kind reads every write of it; two writes of a kind reach each watcher in order.
    expect(independent(fp(['Pod'], []), fp([], ['Pod', 'Pod/a/y']))).toBe(false);
    expect(independent(fp([], ['Pod', 'Pod/a/x']), fp([], ['Pod', 'Pod/a/y']))).toBe(false);
    // A cache read against the delivery into that cache, in either argument order.
    expect(independent(fp(['cache:harvester/ResourceQuota'], []), fp([], ['cache:harvester/ResourceQuota']))).toBe(false);
    expect(independent(fp([], ['cache:harvester/ResourceQuota']), fp(['cache:harvester/ResourceQuota'], []))).toBe(false);
    // Reads alone never conflict; a global step conflicts with everything.
    expect(independent(fp(['Pod'], []), fp(['Pod'], []))).toBe(true);
    expect(independent(fp([], [], true), fp([], []))).toBe(false);
  });
});

/**
 * Sleep sets are sound: the reduced search meets the same states at its choice points and
 * reaches the same end states and failure kinds as the search without them (both complete),
 * starting fewer runs. A relation that lets every step commute misses states, so the
 * comparison can fail. (Scenario 7's few end states are decided by the restart's timing,
 * which sleep sets do not reduce; even that wrong relation reaches all four of them.)
 */
describe('sleep sets reach what the search without them reaches', () => {
  const search = (file: string, name: string, options: Parameters<typeof explore>[8]) => {
    const scenario = loadScenario(resolve(__dirname, '../scenarios', file), () => true);
    const strategy = builtinStrategy(name)!;
    // Every state met at a choice point: sleep sets skip transitions, never states (Godefroid 1996).
    const states = new Set<string>();
    const keyOf = (w: World) => {
      const k = stateKey(w);
      states.add(k);
      return k;
    };
    const r = explore(scenario, strategy, runPilot(scenario, strategy, 0), 0, 20_000, scenario.seed, keyOf, undefined, options);
    return { r, states, ends: new Set(r.outcomes.map((o) => o.fingerprint)), kinds: new Set(r.failures.map((f) => failureKind(f.outcome))) };
  };
  const cases: Array<[string, string]> = [
    ['2-normal-migration.yaml', 'pre-fix'],
    // v1.4.2 on scenario 7 passes too (2,379-odd states, 124 runs; measured, 43 s): left out for time.
    ['7-tiny-agent-restart.yaml', 'pre-fix'],
  ];
  for (const [file, name] of cases) {
    it(`${file}, ${name}: the same states, end states and failure kinds, fewer runs started`, () => {
      const off = search(file, name, { sleepSets: false });
      const on = search(file, name, { sleepSets: true });
      console.log(`${file} ${name}: without ${off.r.runs} runs + ${off.r.pruned} pruned; with sleep sets ${on.r.runs} + ${on.r.pruned} pruned + ${on.r.reordered} reorderings; ${on.ends.size} end states, kinds: ${[...on.kinds].join(' | ') || 'none'}`);
      expect(off.r.complete && on.r.complete).toBe(true);
      expect([...on.ends].sort()).toEqual([...off.ends].sort());
      expect([...on.kinds].sort()).toEqual([...off.kinds].sort());
      expect(on.states.size).toBe(off.states.size);
      expect([...off.states].filter((k) => !on.states.has(k))).toEqual([]);
      expect(on.r.runs + on.r.pruned + on.r.reordered!).toBeLessThan(off.r.runs + off.r.pruned);
    });
  }

  it('a relation that lets every step commute misses states (the comparison can fail)', () => {
    const off = search('7-tiny-agent-restart.yaml', 'pre-fix', { sleepSets: false });
    const wrong = search('7-tiny-agent-restart.yaml', 'pre-fix', { sleepSets: true, independent: () => true });
    const missed = [...off.states].filter((k) => !wrong.states.has(k));
    console.log(`every step commuting: ${wrong.states.size} of ${off.states.size} states, ${wrong.ends.size} of ${off.ends.size} end states`);
    expect(missed.length).toBeGreaterThan(0);
  });
});
