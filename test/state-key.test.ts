import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { explore, fixedDraw } from '../src/explore/exhaustive.js';
import { runPilot } from '../src/explore/pilot.js';
import type { ChoiceKind, Selector } from '../src/kernel/choice.js';
import { Rng } from '../src/kernel/rng.js';
import { loadScenario } from '../src/scenario/load.js';
import { runOnce } from '../src/sim/run.js';
import { stateKey } from '../src/sim/state.js';
import type { World } from '../src/sim/world.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * The state key is what exhaustive exploration prunes on: two runs that reach equal keys
 * must have the same futures. Checked from the outside: random runs over exactly the choice
 * space the exhaustive search enumerates (latencies at the middle of their ranges, window
 * actions placed by write, random order and timing choices) must all end in end states the
 * complete search reached. A key that leaves out state (here: everything but the API
 * objects) prunes branches that lead elsewhere, and random runs find end states it missed.
 */
class SameSpaceRandom implements Selector {
  readonly name = 'same-space-random';
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(`state-key-test/${seed}`);
  }
  choose(kind: ChoiceKind, n: number, stream: string): number {
    // The latency exhaustive exploration fixes for this stream: the same choice space.
    if (kind === 'draw') return fixedDraw(n, stream);
    if (kind === 'placement') return 1;
    return Math.floor(this.rng.float() * n);
  }
}

const scenario = loadScenario(resolve(__dirname, '../scenarios/7-tiny-agent-restart.yaml'), () => true);
const RANDOM_RUNS = 60;
const memo = new Map<string, ReturnType<typeof compute>>();

function endStates(strategyName: string, keyOf: (w: World) => string) {
  const id = `${strategyName}/${keyOf === stateKey ? 'full' : 'reduced'}`;
  let r = memo.get(id);
  if (!r) memo.set(id, (r = compute(strategyName, keyOf)));
  return r;
}

function compute(strategyName: string, keyOf: (w: World) => string) {
  const strategy = builtinStrategy(strategyName)!;
  const pilot = runPilot(scenario, strategy, 0);
  const r = explore(scenario, strategy, pilot, 0, 20_000, scenario.seed, keyOf);
  const reached = new Set(r.outcomes.map((o) => o.fingerprint));
  const missed: number[] = [];
  for (let i = 0; i < RANDOM_RUNS; i++) {
    const o = runOnce(scenario, strategy, scenario.seed, { selector: new SameSpaceRandom(i), window: 0, windowWrites: pilot.windowWrites });
    if (!reached.has(o.fingerprint)) missed.push(i);
  }
  return { result: r, reached, missed };
}

const apiObjectsOnly = (w: World) => stateKey(w, () => false);

describe('the state key is sound (7-tiny-agent-restart, window 0)', () => {
  for (const name of ['pre-fix', 'v1.4.2']) {
    it(`${name}: every random run over the same choice space ends in a state the complete search reached`, () => {
      const { result, missed } = endStates(name, stateKey);
      expect(result.complete).toBe(true);
      expect(missed, `random runs ${missed.join(', ')} ended where the exhaustive search never went`).toEqual([]);
    });
  }

  it('a key reduced to the API objects prunes futures away: random runs end in states it never reached', () => {
    const full = endStates('v1.4.2', stateKey);
    const reduced = endStates('v1.4.2', apiObjectsOnly);
    console.log(`v1.4.2 exhaustive: full key ${full.result.runs} runs, ${full.reached.size} end states; API objects only ${reduced.result.runs} runs, ${reduced.reached.size} end states; ${reduced.missed.length}/${RANDOM_RUNS} random runs outside`);
    expect(reduced.result.complete).toBe(true);
    expect(reduced.result.runs).toBeLessThan(full.result.runs);
    expect(reduced.missed.length).toBeGreaterThan(0);
  });

  it('each stateful component registers its own part', () => {
    const kinds = new Set<string>();
    runOnce(scenario, builtinStrategy('v1.4.2')!, 1, {
      inspect: (w) => {
        for (const p of w.state) kinds.add(p.kind);
      },
    });
    for (const k of ['informer', 'reconciler', 'admission-cache', 'script']) expect(kinds).toContain(k);
  });
});
