import type { Scheduled } from './heap.js';
import type { OrderChooser } from './kernel.js';
import { Rng } from './rng.js';

/**
 * Every nondeterministic choice of a run goes through one Selector (fast-check's
 * scheduler idea): which ready event runs ('order'), a latency or a shuffle ('draw'), how
 * and when a `between` action happens ('placement', 'timing'), which of several objects a
 * controller takes first where the real code follows Go map order ('pick', only for a
 * selector that enumerates picks; see {@link Choices.picked}). The answer is an index in
 * [0, n); 0 is the default (time order, the shortest latency, the window's start, the first
 * object in store order). The log of answers is the run: replaying it gives the same run.
 */
export type ChoiceKind = 'order' | 'draw' | 'placement' | 'timing' | 'pick';

export interface Selector {
  readonly name: string;
  /**
   * Whether {@link Choices.picked} asks this selector for each object taken ('pick' choices)
   * rather than drawing a shuffle: a search that enumerates (exhaustive) must, since it fixes
   * draws; a replay of such a run must too, to ask for the same choices.
   */
  readonly enumeratesPicks?: boolean;
  choose(kind: ChoiceKind, n: number, stream: string, ready?: readonly Scheduled[]): number;
}

/** The record of one run's choices: answers and the number of options each had. */
export interface ChoiceLog {
  readonly values: number[];
  readonly sizes: number[];
  readonly kinds: ChoiceKind[];
}

export class Divergence extends Error {
  constructor(readonly index: number, detail: string) {
    super(`replay diverged at choice ${index}: ${detail}`);
  }
}

/** Routes a run's choices to a selector and logs them. */
export class Choices implements OrderChooser {
  readonly log: ChoiceLog = { values: [], sizes: [], kinds: [] };
  /** Choices made (with more than one option), logged or not. */
  count = 0;
  /**
   * Whether choices go to {@link log}. A run that is only tallied is never replayed, so it
   * turns this off ({@link withoutChoiceLog}); the log then holds only the choices made before.
   */
  recording = true;

  /** See {@link Selector.enumeratesPicks}. */
  private readonly enumeratesPicks: boolean;

  constructor(readonly selector: Selector) {
    this.enumeratesPicks = selector.enumeratesPicks === true;
  }

  private record(kind: ChoiceKind, n: number, v: number): number {
    this.count++;
    if (!this.recording) return v;
    this.log.values.push(v);
    this.log.sizes.push(n);
    this.log.kinds.push(kind);
    return v;
  }

  /** A choice among n options. Not logged when there is only one. */
  choose(kind: ChoiceKind, n: number, stream: string, ready?: readonly Scheduled[]): number {
    if (n <= 1) return 0;
    const v = this.selector.choose(kind, n, stream, ready);
    return this.record(kind, n, v >= 0 && v < n ? v : 0);
  }

  /** An integer in [lo, hi]. */
  draw(stream: string, lo: number, hi: number): number {
    return lo + this.choose('draw', hi - lo + 1, stream);
  }

  order(ready: readonly Scheduled[]): number {
    return this.choose('order', ready.length, 'order', ready);
  }

  /** A shuffled copy (Fisher–Yates, one draw per position). */
  shuffled<T>(stream: string, items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.draw(stream, 0, i);
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
    return out;
  }

  /**
   * `count` of `items`, in the order taken, where the real code takes them in Go map iteration
   * order (client-go's cache List/ByIndex range over a map: no order is defined). Drawn as a
   * shuffle's first `count` (one draw per position of the whole list, the draws random runs
   * have always made), unless the selector enumerates picks: then one 'pick' choice per object
   * taken, among those left, the default 0 taking them in store order. An enumerating search
   * thus covers every ordered selection, k!/(k−count)! of them, where fixing the shuffle's
   * draws would cover one.
   */
  picked<T>(stream: string, items: readonly T[], count: number): T[] {
    if (!this.enumeratesPicks) return this.shuffled(stream, items).slice(0, count);
    const left = items.slice();
    const out: T[] = [];
    while (out.length < count && left.length > 0) out.push(left.splice(this.choose('pick', left.length, stream), 1)[0]!);
    return out;
  }
}

/**
 * For a run whose choices are never replayed (a tallied run): pass as the run's `inspect`
 * option, so the run's choices are made as always but not logged.
 */
export function withoutChoiceLog(world: { readonly choices: Choices }): void {
  world.choices.recording = false;
}

/** Uniform choices from named seeded streams: one actor drawing more does not shift another's draws. */
export class RandomSelector implements Selector {
  readonly name: string = 'random';
  private readonly streams = new Map<string, Rng>();

  constructor(readonly seed: number) {}

  protected rng(stream: string): Rng {
    let r = this.streams.get(stream);
    if (!r) this.streams.set(stream, (r = new Rng(`${this.seed}/${stream}`)));
    return r;
  }

  choose(_kind: ChoiceKind, n: number, stream: string): number {
    return Math.floor(this.rng(stream).float() * n);
  }
}

/**
 * Probabilistic Concurrency Testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS
 * 2010): actors get random distinct priorities ≥ d; at d−1 change points drawn among the
 * k scheduling choices, the actor that runs drops to priority d−i; at every scheduling
 * choice the ready event of the highest-priority actor runs. Latencies and window times
 * stay random. A bug of depth d is found with probability ≥ 1/(n·k^(d−1)) per run.
 */
export class PctSelector extends RandomSelector {
  override readonly name = 'pct';
  private readonly priority = new Map<string, number>();
  private readonly changeAt: number[];
  private orderChoices = 0;
  private nextRank: number;

  constructor(seed: number, readonly depth: number, actors: readonly string[], readonly steps: number) {
    super(seed);
    const r = this.rng('pct');
    const ranked = r.shuffled(actors);
    ranked.forEach((a, i) => this.priority.set(a, depth + i));
    this.nextRank = depth + ranked.length;
    this.changeAt = [];
    for (let i = 1; i < depth; i++) this.changeAt.push(1 + Math.floor(r.float() * Math.max(1, steps)));
  }

  private prio(actor: string): number {
    let p = this.priority.get(actor);
    if (p === undefined) this.priority.set(actor, (p = this.nextRank++));
    return p;
  }

  override choose(kind: ChoiceKind, n: number, stream: string, ready?: readonly Scheduled[]): number {
    if (kind !== 'order' || !ready) return super.choose(kind, n, stream);
    this.orderChoices++;
    let best = 0;
    for (let i = 1; i < ready.length; i++) if (this.prio(ready[i]!.actor) > this.prio(ready[best]!.actor)) best = i;
    const change = this.changeAt.indexOf(this.orderChoices);
    if (change >= 0) this.priority.set(ready[best]!.actor, this.depth - 1 - change);
    return best;
  }
}

/**
 * Replays a log. Strict: any difference in the choices a run asks for is a Divergence
 * (used for the determinism self-check). Lenient: a value that no longer fits, and every
 * choice past the log, takes the default 0 (used by shrinking and by replays of evidence
 * against changed code).
 */
export class ReplaySelector implements Selector {
  readonly name = 'replay';
  private i = 0;

  constructor(
    private readonly log: { readonly values: readonly number[]; readonly sizes?: readonly number[] },
    private readonly strict: boolean,
    /** The log is an enumerating search's (exhaustive): its picks were choices, not a shuffle's draws. */
    readonly enumeratesPicks = false,
  ) {}

  get consumed(): number {
    return this.i;
  }

  choose(kind: ChoiceKind, n: number): number {
    const i = this.i++;
    if (i >= this.log.values.length) {
      if (this.strict) throw new Divergence(i, `the run asks for more choices than the log has (${this.log.values.length})`);
      return 0;
    }
    const v = this.log.values[i]!;
    const size = this.log.sizes?.[i];
    if (this.strict && size !== undefined && size !== n) throw new Divergence(i, `a ${kind} choice among ${n}, the log had ${size}`);
    return v < n ? v : 0;
  }
}
