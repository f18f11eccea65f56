import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KINDS } from '../src/cluster/objects.js';
import { explore } from '../src/explore/exhaustive.js';
import { runPilot } from '../src/explore/pilot.js';
import type { ChoiceKind, Selector } from '../src/kernel/choice.js';
import { Rng } from '../src/kernel/rng.js';
import { loadScenario } from '../src/scenario/load.js';
import { runOnce } from '../src/sim/run.js';
import { ABSOLUTE, stateKey } from '../src/sim/state.js';
import type { StatePart, World } from '../src/cluster/world.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * Each part of the state key, in the fast tier (the complete searches of test/state-key.test.ts
 * are slow). Exhaustive exploration prunes a choice point whose key it has seen: a part left
 * out of the key merges states whose futures differ. Checked on the public behaviour only,
 * `stateKey(world, include)` and `explore(...)`, not on how the key is spelled.
 *
 * Keys are taken without canonicalisation (ABSOLUTE: resourceVersions and UIDs as issued), which
 * merges states on purpose and has its own tests (test/state-key.test.ts): here the question is
 * only which parts the key holds.
 *
 * The API objects and the kernel's pending events are largely mirrored by the informers'
 * caches and pending deliveries, so on the scenarios here no pruning decision depends on
 * them alone: for those two parts the test is that the key tells apart two choice points
 * that differ only there (with the other parts left out through `include`).
 */
const scenario = loadScenario(resolve(__dirname, '../scenarios/7-tiny-agent-restart.yaml'), () => true);
const v142 = builtinStrategy('v1.4.2')!;
const preFix = builtinStrategy('pre-fix')!;

/** The kernel's pending events, as `include` sees them (a part of its own kind). */
const KERNEL = 'kernel';

interface Point {
  /** The API objects, and each kind of part's state (the kernel's pending events included), read here, not through the key. */
  readonly api: string;
  readonly parts: ReadonlyMap<string, string>;
  /** The key when only the API objects are kept, and when only they and one kind of part are. */
  readonly apiKey: string;
  readonly keyWith: ReadonlyMap<string, string>;
}

/** A random run over the exhaustive search's choice space that records every scheduling choice point. */
/** Points are kept as hashes: the texts of a longer scenario's choice points do not fit in memory. */
const h = (text: string): string => createHash('sha1').update(text).digest('base64');

class Recording implements Selector {
  readonly name = 'recording';
  readonly points: Point[] = [];
  world: World | undefined;
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(`state-key-parts/${seed}`);
  }
  choose(kind: ChoiceKind, n: number): number {
    if (kind === 'draw') return n >> 1;
    if (kind === 'placement') return 1;
    const w = this.world!;
    const api: string[] = [];
    for (const k of KINDS) for (const o of w.api.list(k)) api.push(JSON.stringify(o));
    const parts = new Map<string, string>();
    parts.set(
      KERNEL,
      w.kernel
        .pending()
        .map((e) => `${e.time - w.now}:${e.actor}:${e.chain}:${e.background}`)
        .sort()
        .join(';'),
    );
    for (const p of w.state) parts.set(p.kind, `${parts.get(p.kind) ?? ''}|${p.name}=${p.key()}`);
    for (const [k, v] of parts) parts.set(k, h(v));
    const keyWith = new Map<string, string>();
    for (const k of parts.keys()) keyWith.set(k, h(stateKey(w, (p: StatePart) => p.kind === k, ABSOLUTE)));
    this.points.push({ api: h(api.join('\n')), parts, apiKey: h(stateKey(w, () => false, ABSOLUTE)), keyWith });
    return Math.floor(this.rng.float() * n);
  }
}

function recordPoints(runs: number, sc = scenario, window = 0): Point[] {
  const out: Point[] = [];
  for (const strategy of [preFix, v142]) {
    for (let seed = 0; seed < runs; seed++) {
      const sel = new Recording(seed);
      runOnce(sc, strategy, sc.seed, { selector: sel, window, inspect: (w) => (sel.world = w) });
      out.push(...sel.points);
    }
  }
  return out;
}

/**
 * Recorded by each test that needs them, neither when the file loads nor once for all tests:
 * `npm run mutate` switches a mutant on per test and runs only the tests that reached it.
 */
const pointsOf = (): Point[] => recordPoints(6);

describe('the state key holds every part', () => {
  it('the parts registered on this scenario\'s worlds, and the kernel\'s', () => {
    const partKinds = [...new Set(pointsOf().flatMap((p) => [...p.parts.keys()]))].sort();
    expect(partKinds).toEqual(expect.arrayContaining([KERNEL, 'informer', 'reconciler', 'admission-cache', 'script']));
  });

  it('the API objects: choice points whose objects differ have different keys, even with every other part left out', () => {
    const byKey = new Map<string, Set<string>>();
    const points = pointsOf();
    for (const p of points) (byKey.get(p.apiKey) ?? byKey.set(p.apiKey, new Set()).get(p.apiKey)!).add(p.api);
    expect(new Set(points.map((p) => p.api)).size).toBeGreaterThan(5);
    for (const apis of byKey.values()) expect(apis.size).toBe(1);
  });

  // Not the admission cache: on these scenarios it never differs where the API objects agree (it holds the quotas admission charged last).
  for (const kind of [KERNEL, 'informer', 'reconciler', 'script']) {
    it(`the ${kind} part: choice points with the same API objects and another ${kind} state have different keys`, () => {
      let pairs = 0;
      const seen = new Map<string, Point[]>();
      for (const p of pointsOf()) {
        const same = seen.get(p.api) ?? seen.set(p.api, []).get(p.api)!;
        for (const q of same) {
          if (q.parts.get(kind) === p.parts.get(kind)) {
            expect(p.keyWith.get(kind)).toBe(q.keyWith.get(kind));
          } else {
            pairs++;
            expect(p.keyWith.get(kind)).not.toBe(q.keyWith.get(kind));
          }
        }
        if (same.length < 20) same.push(p);
      }
      expect(pairs, `no two choice points differ only in the ${kind} part`).toBeGreaterThan(0);
    });
  }
});

describe('a part left out changes what exhaustive exploration finds (v1.4.2, window 0)', () => {
  it('without the scripts\' positions, the search takes states where the user and the agent are at other steps for seen ones, and misses end states', () => {
    const pilot = runPilot(scenario, v142, 0);
    const full = explore(scenario, v142, pilot, 0, 20_000, scenario.seed);
    const reduced = explore(scenario, v142, pilot, 0, 20_000, scenario.seed, (w) => stateKey(w, (p) => p.kind !== 'script'));
    expect(full.complete).toBe(true);
    expect(reduced.complete).toBe(true);
    expect(reduced.runs).toBeLessThan(full.runs);
    const reached = new Set(reduced.outcomes.map((o) => o.fingerprint));
    expect(full.outcomes.filter((o) => !reached.has(o.fingerprint)).length).toBeGreaterThan(0);
  });
});
