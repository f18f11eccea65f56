import { describe, expect, it } from 'vitest';
import { PctSelector, RandomSelector } from '../src/kernel/choice.js';
import type { Scheduled } from '../src/kernel/heap.js';
import { parseRunId, selectorFor } from '../src/explore/run-id.js';

/**
 * PCT's mechanics, seen from the choices it makes (Burckhardt et al., ASPLOS 2010): random
 * distinct priorities, d−1 change points among the k scheduling choices where the running
 * actor drops below every other, and at each choice the highest-priority ready actor runs.
 * "PCT finds a rare bug sooner than random" (test/explore.test.ts) cannot tell a PCT that
 * ignores its depth from one that does not; these can.
 */
const ACTORS = ['harvester', 'rancher', 'user', 'agent', 'kubevirt'];

const event = (actor: string): Scheduled => ({ time: 0, seq: 0, background: false, actor, chain: 0, commutes: 0, fire: () => {} });

/** The actor PCT runs at each of `steps` order choices when every actor is always ready (listed in `order`). */
function winners(sel: PctSelector, steps: number, order: readonly string[] = ACTORS): string[] {
  const ready = order.map(event);
  const out: string[] = [];
  for (let i = 0; i < steps; i++) out.push(ready[sel.choose('order', ready.length, 'order', ready)]!.actor);
  return out;
}

/** The steps (1-based) after which a different actor runs. */
function switches(ws: readonly string[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < ws.length; i++) if (ws[i] !== ws[i - 1]) out.push(i);
  return out;
}

const K = 12;

describe('PCT: priorities', () => {
  it('depth 1 has no change point: one actor, the highest-priority one, runs at every choice', () => {
    for (let seed = 0; seed < 30; seed++) {
      const ws = winners(new PctSelector(seed, 1, ACTORS, K), 3 * K);
      expect(new Set(ws).size, `seed ${seed}: ${ws.join(' ')}`).toBe(1);
    }
  });

  it('the priorities are random per seed: over 40 seeds every actor is somebody\'s first choice', () => {
    const first = new Set<string>();
    for (let seed = 0; seed < 40; seed++) first.add(winners(new PctSelector(seed, 1, ACTORS, K), 1)[0]!);
    expect([...first].sort()).toEqual([...ACTORS].sort());
  });

  it('the choice follows the actor, not its place in the ready list', () => {
    for (let seed = 0; seed < 20; seed++) {
      const forward = winners(new PctSelector(seed, 3, ACTORS, K), K + 1);
      const backward = winners(new PctSelector(seed, 3, ACTORS, K), K + 1, [...ACTORS].reverse());
      expect(backward, `seed ${seed}`).toEqual(forward);
    }
  });

  it('among the actors that are ready, the one ranked highest runs: a total order', () => {
    const sel = new PctSelector(7, 1, ACTORS, K);
    const ranking = [...ACTORS].sort((a, b) => {
      const pair = [event(a), event(b)];
      return sel.choose('order', 2, 'order', pair) === 0 ? -1 : 1;
    });
    // The top of the ranking beats every subset it is in; the bottom loses to each.
    for (let i = 0; i < ranking.length; i++) {
      const ready = ranking.slice(i).reverse().map(event);
      expect(ready[sel.choose('order', ready.length, 'order', ready)]!.actor).toBe(ranking[i]);
    }
  });

  it('latencies and window times stay random: non-order choices are the random selector\'s', () => {
    const pct = new PctSelector(11, 3, ACTORS, K);
    const random = new RandomSelector(11);
    expect(pct.name).toBe('pct');
    for (let i = 0; i < 50; i++) {
      const stream = `latency/${i % 3}`;
      // Even where a ready list is at hand: only the order of events follows the priorities.
      expect(pct.choose('draw', 100, stream, ACTORS.map(event))).toBe(random.choose('draw', 100, stream));
    }
  });

  it('an order choice without a ready list (which session carries the Rancher tunnel) is the random selector\'s', () => {
    const pct = new PctSelector(11, 3, ACTORS, K);
    const random = new RandomSelector(11);
    for (let i = 0; i < 20; i++) expect(pct.choose('order', 7, 'carrier')).toBe(random.choose('order', 7, 'carrier'));
  });

  it('two ready events of one actor: the first listed (the earlier) runs', () => {
    for (let seed = 0; seed < 20; seed++) {
      const sel = new PctSelector(seed, 1, ACTORS, K);
      const top = winners(sel, 1)[0]!;
      const other = ACTORS.find((a) => a !== top)!;
      expect(sel.choose('order', 3, 'order', [event(other), event(top), event(top)]), `seed ${seed}`).toBe(1);
    }
  });

  it('an actor first seen mid-run gets a priority of its own above the initial ones; one seen later, above that', () => {
    for (let seed = 0; seed < 20; seed++) {
      const sel = new PctSelector(seed, 1, ACTORS, K); // depth 1: no change point moves a priority meanwhile
      const pick = (names: string[]) => names[sel.choose('order', names.length, 'order', names.map(event))]!;
      expect(pick([...ACTORS, 'newcomer']), `seed ${seed}`).toBe('newcomer');
      expect(pick(['newcomer', 'later', ...ACTORS]), `seed ${seed}`).toBe('later');
      expect(pick([...ACTORS, 'newcomer']), `seed ${seed}`).toBe('newcomer');
    }
  });
});

describe('PCT: change points and depth', () => {
  it('depth 2: exactly one change point among the k choices, after which the demoted actor never runs again while others are ready', () => {
    const at = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const ws = winners(new PctSelector(seed, 2, ACTORS, K), K + 5);
      const sw = switches(ws);
      expect(sw.length, `seed ${seed}: ${ws.join(' ')}`).toBe(1);
      expect(sw[0]!).toBeGreaterThanOrEqual(1);
      expect(sw[0]!).toBeLessThanOrEqual(K);
      expect(ws.slice(sw[0]!)).not.toContain(ws[0]);
      at.add(sw[0]!);
    }
    // The change point is drawn among all k choices.
    expect([...at].sort((a, b) => a - b)).toEqual(Array.from({ length: K }, (_, i) => i + 1));
  });

  it('depth d: at most d−1 demotions, and some seed uses all of them', () => {
    for (const d of [3, 4]) {
      let most = 0;
      for (let seed = 0; seed < 100; seed++) {
        const ws = winners(new PctSelector(seed, d, ACTORS, K), K + 5);
        const n = switches(ws).length;
        expect(n, `depth ${d} seed ${seed}: ${ws.join(' ')}`).toBeLessThanOrEqual(d - 1);
        most = Math.max(most, n);
      }
      expect(most, `depth ${d}`).toBe(d - 1);
    }
  });

  it('a demoted actor ranks below every actor never demoted (change point i sets priority d−i, below the initial ones ≥ d)', () => {
    let seen = 0;
    for (let seed = 0; seed < 100 && seen < 5; seed++) {
      const sel = new PctSelector(seed, 3, ACTORS, K);
      const ws = winners(sel, K + 1);
      const sw = switches(ws);
      if (sw.length !== 2) continue;
      seen++;
      const first = ws[0]!;
      const second = ws[sw[0]!]!;
      const third = ws[sw[1]!]!;
      const pick = (names: string[]) => names[sel.choose('order', names.length, 'order', names.map(event))]!;
      // Which of the two demoted ranks higher depends on the order the change points were drawn in (as in the paper).
      expect(pick([second, first]), `seed ${seed}`).toBe(pick([first, second]));
      // Below every actor never demoted, whichever place either has in the ready list.
      for (const never of ACTORS.filter((a) => a !== first && a !== second)) {
        for (const demoted of [first, second]) {
          expect(pick([demoted, never]), `seed ${seed}: ${demoted} before ${never}`).toBe(never);
          expect(pick([never, demoted]), `seed ${seed}: ${never} before ${demoted}`).toBe(never);
        }
      }
    }
    expect(seen).toBe(5);
  });

  it('the depth changes which orders come first: the same seed at depth 1, 2 and 3 runs different sequences', () => {
    let differ = 0;
    for (let seed = 0; seed < 20; seed++) {
      const seqs = [1, 2, 3].map((d) => winners(new PctSelector(seed, d, ACTORS, K), K + 1).join(' '));
      if (new Set(seqs).size === 3) differ++;
    }
    expect(differ).toBeGreaterThan(10);
  });

  it('a run id\'s depth reaches the selector: pct:d1 and pct:d3 of one seed choose differently', () => {
    const pilot = { actors: ACTORS, orderChoices: K };
    const d1 = selectorFor(parseRunId('pct:d1:5'), pilot) as PctSelector;
    const d3 = selectorFor(parseRunId('pct:d3:5'), pilot) as PctSelector;
    expect(d1.depth).toBe(1);
    expect(d3.depth).toBe(3);
    expect(switches(winners(d1, K + 1))).toEqual([]);
    expect(switches(winners(d3, K + 1)).length).toBeGreaterThan(0);
    expect(() => selectorFor(parseRunId('pct:d3:5'), undefined)).toThrow(/pilot/);
  });
});
