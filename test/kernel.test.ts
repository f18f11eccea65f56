import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import type { Scheduled } from '../src/kernel/heap.js';
import { Kernel, PARK, type OrderChooser, type Process } from '../src/kernel/kernel.js';
import { Rng, UUID_DRAWS } from '../src/kernel/rng.js';

/** A chooser that records every ready set (by actor) and picks with `pick`. */
function recorder(pick: (ready: readonly Scheduled[]) => number = () => 0): OrderChooser & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    order(ready) {
      calls.push(ready.map((e) => e.actor));
      return pick(ready);
    },
  };
}

/** Schedule an event labelled `actor` that appends it to `log` when it fires. */
function ev(k: Kernel, log: string[], delay: number, actor: string, opts: { chain?: number; commutes?: number; background?: boolean } = {}): void {
  k.schedule(delay, () => log.push(actor), { actor, ...opts });
}

const last = (ready: readonly Scheduled[]) => ready.length - 1;

describe('kernel: time order', () => {
  it('runs events by time, then in the order scheduled, without a chooser', () => {
    const k = new Kernel();
    k.window = 1000; // no chooser: the window is ignored
    const log: string[] = [];
    ev(k, log, 30, 'c');
    ev(k, log, 10, 'a');
    ev(k, log, 20, 'b1');
    ev(k, log, 20, 'b2');
    ev(k, log, 0, 'z');
    const times: number[] = [];
    while (k.step()) times.push(k.now);
    expect(log).toEqual(['z', 'a', 'b1', 'b2', 'c']);
    expect(times).toEqual([0, 10, 20, 20, 30]);
    expect(k.steps).toBe(5);
  });

  it('a negative delay is now; an event scheduled while running goes after those due earlier', () => {
    const k = new Kernel();
    const log: string[] = [];
    k.schedule(5, () => {
      log.push('first');
      ev(k, log, -3, 'now');
      ev(k, log, 1, 'later');
    }, { actor: 'first' });
    ev(k, log, 5, 'tie');
    ev(k, log, 6, 'six');
    while (k.step());
    expect(log).toEqual(['first', 'tie', 'now', 'six', 'later']);
  });

  it('a chooser that always answers 0 gives plain time order, and is asked only when there is a choice', () => {
    const k = new Kernel();
    const c = recorder();
    k.chooser = c;
    k.window = 5;
    const log: string[] = [];
    ev(k, log, 0, 'a');
    ev(k, log, 3, 'b');
    ev(k, log, 100, 'c');
    while (k.step());
    expect(log).toEqual(['a', 'b', 'c']);
    expect(c.calls).toEqual([['a', 'b']]);
  });

  it('sets current to the actor of the running event; schedule defaults to it', () => {
    const k = new Kernel();
    const seen: string[] = [];
    k.schedule(1, () => {
      seen.push(k.current);
      k.schedule(1, () => seen.push(k.current));
    }, { actor: 'x' });
    while (k.step());
    expect(seen).toEqual(['x', 'x']);
  });
});

describe('kernel: the window', () => {
  it('offers the events due within `window` ms of the earliest, and only those', () => {
    const k = new Kernel();
    const c = recorder(last);
    k.chooser = c;
    k.window = 10;
    const log: string[] = [];
    ev(k, log, 0, 'a');
    ev(k, log, 10, 'b');
    ev(k, log, 11, 'c');
    k.step();
    expect(c.calls).toEqual([['a', 'b']]);
    expect(log).toEqual(['b']);
    expect(k.now).toBe(10);
    // 'a' was put back; it runs next, and the clock does not go back.
    k.step();
    expect(log).toEqual(['b', 'a']);
    expect(k.now).toBe(10);
    // The window counts from the earliest event's time (0), not from now (10): 'c' at 11 is out.
    expect(c.calls).toHaveLength(1);
  });

  it('with window 0 only events at the same time are concurrent', () => {
    const k = new Kernel();
    const c = recorder(last);
    k.chooser = c;
    const log: string[] = [];
    ev(k, log, 7, 'a');
    ev(k, log, 7, 'b');
    ev(k, log, 8, 'c');
    while (k.step());
    expect(c.calls).toEqual([['a', 'b']]);
    expect(log).toEqual(['b', 'a', 'c']);
  });

  it('an out-of-range answer runs the earliest', () => {
    const k = new Kernel();
    k.chooser = { order: () => 99 };
    k.window = 5;
    const log: string[] = [];
    ev(k, log, 0, 'a');
    ev(k, log, 1, 'b');
    while (k.step());
    expect(log).toEqual(['a', 'b']);
  });
});

describe('kernel: chains and commuting groups', () => {
  it('interns names: one name, one id, numbered from 1; chains and groups are separate tables', () => {
    const k = new Kernel();
    const a = k.chainId('a');
    const b = k.chainId('b');
    expect(a).toBe(1);
    expect(b).toBe(2);
    expect(k.chainId('a')).toBe(a);
    expect(k.groupId('a')).toBe(1);
    expect(k.groupId('g')).toBe(2);
    expect(k.groupId('a')).toBe(1);
  });

  it('offers only the earliest event of a chain, so a chain keeps its order whatever the chooser picks', () => {
    const k = new Kernel();
    const c = recorder(last);
    k.chooser = c;
    k.window = 100;
    const chain = k.chainId('stream');
    const log: string[] = [];
    ev(k, log, 0, 's1', { chain });
    ev(k, log, 1, 's2', { chain });
    ev(k, log, 2, 's3', { chain });
    ev(k, log, 3, 'x');
    while (k.step());
    expect(c.calls[0]).toEqual(['s1', 'x']);
    expect(log).toEqual(['x', 's1', 's2', 's3']);
    // Without the chain, the same chooser reverses them.
    const k2 = new Kernel();
    k2.chooser = recorder(last);
    k2.window = 100;
    const log2: string[] = [];
    for (const [d, a] of [[0, 's1'], [1, 's2'], [2, 's3'], [3, 'x']] as const) ev(k2, log2, d, a);
    while (k2.step());
    expect(log2).toEqual(['x', 's3', 's2', 's1']);
  });

  it('folds the ready events of one commuting group into one candidate (its earliest)', () => {
    const k = new Kernel();
    const c = recorder(last);
    k.chooser = c;
    k.window = 100;
    const g = k.groupId('deliveries');
    const log: string[] = [];
    // Three chains in one group: one candidate, not three.
    ev(k, log, 0, 'd1', { chain: k.chainId('p/A'), commutes: g });
    ev(k, log, 1, 'd2', { chain: k.chainId('p/B'), commutes: g });
    ev(k, log, 2, 'd3', { chain: k.chainId('q/A'), commutes: g });
    ev(k, log, 3, 'x');
    ev(k, log, 4, 'y');
    k.step();
    expect(c.calls[0]).toEqual(['d1', 'x', 'y']);
    expect(log).toEqual(['y']);
    while (k.step());
    // The group's remaining deliveries are never a choice among themselves.
    expect(c.calls.slice(1)).toEqual([['d1', 'x']]);
    expect(log).toEqual(['y', 'x', 'd1', 'd2', 'd3']);
  });

  it('separate groups are separate candidates; events without chain or group are each a candidate', () => {
    const k = new Kernel();
    const c = recorder();
    k.chooser = c;
    k.window = 100;
    const g1 = k.groupId('one');
    const g2 = k.groupId('two');
    const log: string[] = [];
    ev(k, log, 0, 'a1', { commutes: g1 });
    ev(k, log, 0, 'b1', { commutes: g2 });
    ev(k, log, 0, 'a2', { commutes: g1 });
    ev(k, log, 0, 'b2', { commutes: g2 });
    ev(k, log, 0, 'n1');
    ev(k, log, 0, 'n2');
    k.step();
    expect(c.calls[0]).toEqual(['a1', 'b1', 'n1', 'n2']);
  });

  it('a chain shared across groups still blocks: an event is held if its chain or its group is already a candidate', () => {
    const k = new Kernel();
    const c = recorder();
    k.chooser = c;
    k.window = 100;
    const chain = k.chainId('c');
    const g = k.groupId('g');
    const log: string[] = [];
    ev(k, log, 0, 'c1', { chain });
    ev(k, log, 1, 'g1', { commutes: g });
    ev(k, log, 2, 'c2', { chain, commutes: g });
    ev(k, log, 3, 'free');
    k.step();
    expect(c.calls[0]).toEqual(['c1', 'g1', 'free']);
  });

  it('put-back events keep their original order (time, then order scheduled)', () => {
    const k = new Kernel();
    const c = recorder((r) => r.findIndex((e) => e.actor === 'z'));
    k.chooser = c;
    k.window = 100;
    const g = k.groupId('g');
    const log: string[] = [];
    ev(k, log, 5, 'g1', { commutes: g });
    ev(k, log, 5, 'a');
    ev(k, log, 5, 'g2', { commutes: g });
    ev(k, log, 5, 'b');
    ev(k, log, 6, 'z');
    k.step();
    expect(log).toEqual(['z']);
    k.chooser = undefined;
    while (k.step());
    expect(log).toEqual(['z', 'g1', 'a', 'g2', 'b']);
  });
});

describe('kernel: run, settled and stuck', () => {
  it('settles (true) when only background events remain, without running them', () => {
    const k = new Kernel();
    const log: string[] = [];
    ev(k, log, 10, 'work');
    ev(k, log, 5, 'resync', { background: true });
    ev(k, log, 50, 'resync-late', { background: true });
    expect(k.run(1_000)).toBe(true);
    expect(log).toEqual(['resync', 'work']);
    expect(k.now).toBe(10);
    expect(k.pending().map((e) => e.actor)).toEqual(['resync-late']);
  });

  it('a background timer that reschedules itself does not keep a run alive', () => {
    const k = new Kernel();
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      k.schedule(100, tick, { actor: 'resync', background: true });
    };
    k.schedule(100, tick, { actor: 'resync', background: true });
    const log: string[] = [];
    ev(k, log, 250, 'work');
    expect(k.run(1_000_000)).toBe(true);
    expect(log).toEqual(['work']);
    expect(ticks).toBe(2);
    expect(k.now).toBe(250);
  });

  it('stops at the horizon (false) with the clock at the horizon', () => {
    const k = new Kernel();
    const log: string[] = [];
    ev(k, log, 10, 'a');
    ev(k, log, 500, 'b');
    expect(k.run(100)).toBe(false);
    expect(log).toEqual(['a']);
    expect(k.now).toBe(100);
    expect(k.run(1_000)).toBe(true);
    expect(log).toEqual(['a', 'b']);
  });

  it('stops (false) when `stop` says so', () => {
    const k = new Kernel();
    const log: string[] = [];
    ev(k, log, 1, 'a');
    ev(k, log, 2, 'b');
    expect(k.run(1_000, () => log.length === 1)).toBe(false);
    expect(log).toEqual(['a']);
  });

  it('is stuck (false), not settled, when a parked process remains and nothing is left to wake it', () => {
    const k = new Kernel();
    function* waiter(): Process {
      yield PARK;
    }
    k.spawn(waiter(), 0, 'waiter');
    ev(k, [], 5, 'resync', { background: true });
    expect(k.run(1_000)).toBe(false);
    expect(k.parked).toBe(1);
    expect(k.now).toBe(0);
  });

  it('an empty kernel is settled', () => {
    expect(new Kernel().run(10)).toBe(true);
  });
});

describe('kernel: processes, park and wake', () => {
  it('a process waits the ms it yields; its steps carry its actor', () => {
    const k = new Kernel();
    const seen: Array<[number, string]> = [];
    function* p(): Process {
      seen.push([k.now, k.current]);
      yield 10;
      seen.push([k.now, k.current]);
      yield 5;
      seen.push([k.now, k.current]);
    }
    k.spawn(p(), 3, 'proc');
    expect(k.run(1_000)).toBe(true);
    expect(seen).toEqual([[3, 'proc'], [13, 'proc'], [18, 'proc']]);
  });

  it('spawn returns a wake: a parked process resumes `delay` ms after the wake', () => {
    const k = new Kernel();
    const seen: number[] = [];
    function* p(): Process {
      for (;;) {
        yield PARK;
        seen.push(k.now);
      }
    }
    const wake = k.spawn(p(), 0, 'p');
    k.step(); // runs to the first PARK
    expect(k.parked).toBe(1);
    expect(k.run(1_000)).toBe(false); // parked, nothing to wake it: stuck
    k.schedule(20, () => wake(7), { actor: 'waker' });
    expect(k.run(1_000)).toBe(false); // woken once, parked again
    expect(seen).toEqual([27]);
    expect(k.parked).toBe(1);
  });

  it('waking a process that is not parked is a no-op', () => {
    const k = new Kernel();
    let resumed = 0;
    function* p(): Process {
      yield 10; // waiting for a time, not parked
      resumed++;
      yield PARK;
      resumed++;
    }
    const wake = k.spawn(p(), 0, 'p');
    wake(1); // not started yet: no-op
    k.step();
    wake(1); // waiting for a time: no-op
    k.step();
    expect(resumed).toBe(1);
    expect(k.parked).toBe(1);
    wake(2);
    wake(2); // already woken, not parked any more: no-op
    expect(k.parked).toBe(0);
    expect(k.run(1_000)).toBe(true);
    expect(resumed).toBe(2);
    expect(k.steps).toBe(3);
  });

  it('a finished process is not parked: the run settles', () => {
    const k = new Kernel();
    function* p(): Process<number> {
      yield 1;
      return 42;
    }
    const wake = k.spawn(p(), 0, 'p');
    expect(k.run(100)).toBe(true);
    wake(1);
    expect(k.pending()).toHaveLength(0);
  });
});

/**
 * The kernel before it chose in place: pop every event of the window, keep the first of each
 * chain and group, let the chooser pick, push the rest back. The kernel must offer exactly
 * the same candidates in the same order and run exactly the same sequence.
 */
class ReferenceKernel {
  now = 0;
  private seq = 0;
  private readonly heap: Scheduled[] = [];
  constructor(readonly window: number, readonly chooser: OrderChooser) {}
  schedule(delay: number, fire: () => void, opts: { actor: string; chain?: number; commutes?: number }): void {
    this.heap.push({ time: this.now + (delay > 0 ? delay : 0), seq: this.seq++, background: false, actor: opts.actor, chain: opts.chain ?? 0, commutes: opts.commutes ?? 0, fire });
  }
  private popMin(): Scheduled | undefined {
    let best = -1;
    for (let i = 0; i < this.heap.length; i++) {
      const e = this.heap[i]!;
      const b = this.heap[best] ?? undefined;
      if (!b || e.time < b.time || (e.time === b.time && e.seq < b.seq)) best = i;
    }
    return best < 0 ? undefined : this.heap.splice(best, 1)[0];
  }
  step(): boolean {
    const first = this.popMin();
    if (!first) return false;
    const window: Scheduled[] = [first];
    for (;;) {
      const e = this.popMin();
      if (!e) break;
      if (e.time > first.time + this.window) {
        this.heap.push(e);
        break;
      }
      window.push(e);
    }
    const ready: Scheduled[] = [];
    for (const e of window) {
      const blocked = ready.some((r) => (e.chain !== 0 && r.chain === e.chain) || (e.commutes !== 0 && r.commutes === e.commutes));
      if (!blocked) ready.push(e);
    }
    const chosen = ready.length > 1 ? (ready[this.chooser.order(ready)] ?? first) : first;
    for (const e of window) if (e !== chosen) this.heap.push(e);
    if (chosen.time > this.now) this.now = chosen.time;
    chosen.fire();
    return true;
  }
}

describe('kernel: choosing in place', () => {
  it('offers the same candidates in the same order and runs the same sequence as gathering and re-pushing the window', () => {
    for (let trial = 0; trial < 200; trial++) {
      let s = trial * 7919 + 1;
      const rand = (n: number): number => {
        s = (s * 1103515245 + 12345) % 2 ** 31;
        return s % n;
      };
      const window = rand(4) * 5;
      const plan = Array.from({ length: 400 }, () => ({ delay: rand(40) - 3, chain: rand(3) === 0 ? 1 + rand(4) : 0, commutes: rand(3) === 0 ? 1 + rand(3) : 0, children: 1 + rand(2) }));
      const runWith = (make: (c: OrderChooser) => { schedule: (d: number, f: () => void, o: { actor: string; chain?: number; commutes?: number }) => void; step: () => boolean; now: number }) => {
        const offered: string[] = [];
        let picks = trial;
        const chooser: OrderChooser = {
          order(ready) {
            offered.push(ready.map((e) => e.actor).join(','));
            picks = (picks * 31 + 7) % 1009;
            return picks % (ready.length + 1); // sometimes out of range: the earliest runs
          },
        };
        const k = make(chooser);
        const fired: string[] = [];
        let next = 0;
        const add = (): void => {
          if (next >= plan.length) return;
          const i = next++;
          const p = plan[i]!;
          k.schedule(p.delay, () => {
            fired.push(`${i}@${k.now}`);
            for (let c = 0; c < p.children; c++) add();
          }, { actor: `e${i}`, chain: p.chain, commutes: p.commutes });
        };
        for (let i = 0; i < 5; i++) add();
        while (k.step());
        return { offered, fired };
      };
      const ours = runWith((c) => {
        const k = new Kernel();
        k.window = window;
        k.chooser = c;
        return k;
      });
      const ref = runWith((c) => new ReferenceKernel(window, c));
      expect(ours.fired.length).toBeGreaterThan(50);
      expect(ours.offered.length).toBeGreaterThan(5);
      expect(ours).toEqual(ref);
    }
  });
});

describe('rng: UIDs', () => {
  /** The UID as it was first written, a character at a time: evidence saved then names these UIDs. */
  function charByChar(next: () => number): string {
    const hex = '0123456789abcdef';
    let s = '';
    for (let i = 0; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) s += '-';
      else if (i === 14) s += '4';
      else if (i === 19) s += hex[8 + Math.floor(next() * 4)];
      else s += hex[Math.floor(next() * 16)];
    }
    return s;
  }

  it('a seed names the same RFC 4122 v4 UIDs, from the same draws, as the character-at-a-time version', () => {
    const a = new Rng('7/apiserver/uids');
    const b = new Rng('7/apiserver/uids');
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const u = a.uuid();
      expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(u).toBe(charByChar(() => b.float()));
      seen.add(u);
    }
    expect(seen.size).toBe(2000);
    expect(new Rng('8/apiserver/uids').uuid()).not.toBe(new Rng('7/apiserver/uids').uuid());
  });

  it("draws seedrandom's alea numbers, in floats and UIDs alike", () => {
    for (const seed of ['1/apiserver/uids', '42/kube-scheduler/tie', '', 'seed with spaces', '9999999']) {
      const ours = new Rng(seed);
      const theirs = seedrandom.alea(seed);
      for (let i = 0; i < 500; i++) {
        if (i % 7 === 3) expect(ours.uuid()).toBe(charByChar(theirs));
        else expect(ours.float()).toBe(theirs());
      }
    }
  });

  it('skips n draws as n floats would, and a UID as UUID_DRAWS of them (a run passing its cluster at rest)', () => {
    for (const n of [0, 1, 31, 1000]) {
      const skipped = new Rng('3/apiserver/uids');
      skipped.skip(n);
      const drawn = new Rng('3/apiserver/uids');
      for (let i = 0; i < n; i++) drawn.float();
      expect(skipped.uuid()).toBe(drawn.uuid());
    }
    const byUids = new Rng('5/apiserver/uids');
    for (let i = 0; i < 40; i++) byUids.uuid();
    const bySkip = new Rng('5/apiserver/uids');
    bySkip.skip(40 * UUID_DRAWS);
    expect(bySkip.uuid()).toBe(byUids.uuid());
  });
});
