import { createHash } from 'node:crypto';
import type { ChoiceKind, Selector } from '../kernel/choice.js';
import type { Scheduled } from '../kernel/heap.js';
import type { Scenario } from '../scenario/model.js';
import { failed, type RunOutcome } from '../sim/outcome.js';
import { runOnce } from '../sim/run.js';
import { stateKey } from '../sim/state.js';
import type { World } from '../cluster/world.js';
import type { Strategy } from '../strategies/api.js';
import { FootprintRecorder, independent, type StepFootprint } from './sleep.js';

/**
 * The latency an exhaustive run uses for a draw among n: the middle of the range, moved by a
 * fixed amount per stream (within the middle half). One value for every stream would make
 * unrelated actors act at exactly the same instant (every controller reacting to one write
 * after the same cache lag and the same reconcile time), an artefact of fixing latencies
 * that multiplies the orders to explore without adding any the real system has.
 */
export function fixedDraw(n: number, stream: string): number {
  if (n <= 2) return n >> 1;
  let h = 2166136261;
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 16777619);
  const spread = Math.max(1, n >> 1);
  return Math.min(n - 1, (n >> 2) + ((h >>> 0) % spread));
}

/** Thrown to cut a run short at a state whose every continuation was already explored. */
class Pruned extends Error {}

/** Thrown to cut a run short when it can only go on by a step in its sleep set (a reordering of an explored run). */
class Asleep extends Error {}

interface BranchPoint {
  readonly n: number;
  readonly v: number;
  readonly state: string;
  /** Delays spent before this point (the sum of the earlier points' choices). */
  readonly spent: number;
  /** With sleep sets, at the kernel's order choices: each candidate's event (its seq). */
  readonly seqs?: readonly number[];
  /** The sleep set on arrival (events' seqs): options never to take here. */
  readonly asleep?: ReadonlySet<number>;
  /** Options taken here by earlier runs, with what each touched (seq → footprint). */
  readonly done?: ReadonlyMap<number, StepFootprint>;
  /** What the event taken here touched, once it ran. */
  fp?: StepFootprint;
}

/** The option after `p.v` a search takes next at a point: the next one not asleep; -1 if none. */
function nextOption(p: BranchPoint): number {
  for (let u = p.v + 1; u < p.n; u++) if (!p.seqs || !p.asleep!.has(p.seqs[u]!)) return u;
  return -1;
}

/**
 * Stateless depth-first search over the scheduling choices (CHESS-style): every run
 * replays a prefix of choices, then takes the default at new choice points; the next run
 * bumps the deepest choice that has an untried option. Latencies are fixed at the middle
 * of their ranges and `between` actions are placed by step, so what is enumerated is the
 * order of concurrent events and which step each window action follows. A choice point
 * whose state (see sim/state.ts) was seen with all its continuations explored is pruned.
 *
 * With a delay bound K (Emmi, Qadeer, Rakamaric, POPL 2011), a choice of option v costs v
 * delays (v skips over the v events the default schedule would have run first, or places a
 * window action v writes later) and only runs of at most K delays are enumerated. A state is
 * then pruned only when it was explored with at least the budget left now.
 */
class ExhaustiveSelector implements Selector {
  readonly name = 'exhaustive';
  readonly points: BranchPoint[] = [];
  world: World | undefined;
  private spent = 0;
  /** Sleep sets (Godefroid 1996): the events every continuation of which was covered, with their footprints. */
  private sleep = new Map<number, StepFootprint>();
  /** The point whose chosen event runs in the current step (its footprint is recorded). */
  private choicePoint: BranchPoint | undefined;
  private recorder: FootprintRecorder | undefined;

  constructor(
    private readonly prefix: readonly number[],
    /** Per state: the most delays left with which it was fully explored (Infinity: unbounded). */
    private readonly explored: ReadonlyMap<string, number>,
    private readonly keyOf: (w: World) => string = stateKey,
    /**
     * The states the previous run met at the choice points this run replays: the prefix's
     * choices are the previous run's, so the states before them are too, and the key (the
     * dominant cost of a search) is computed only where the run is new.
     */
    private readonly known: readonly string[] = [],
    private readonly delays = Infinity,
    /**
     * With sleep sets: the points this run replays, as the previous run left them (the options
     * each took before, with their footprints). Undefined: no reduction.
     */
    private readonly carried?: readonly BranchPoint[],
    private readonly commute: (a: StepFootprint, b: StepFootprint) => boolean = independent,
  ) {}

  /** Sees the world; with sleep sets, also every step and what it touches. */
  attach(world: World): void {
    this.world = world;
    if (!this.carried) return;
    const recorder = (this.recorder = new FootprintRecorder(world));
    const kernel = world.kernel;
    let recording = false;
    kernel.beforeFire = (e) => {
      // Every continuation from here begins with an event whose runs were all covered.
      if (this.sleep.has(e.seq)) throw new Asleep();
      // A footprint is needed for the event taken at a choice point (unless an earlier run of
      // the same prefix recorded it) and for every step while something sleeps; other steps
      // skip the recording, which costs a comparison of the registered parts.
      const p = this.choicePoint;
      recording = p ? p.fp === undefined : this.sleep.size > 0;
      if (recording) {
        kernel.footprint = recorder;
        recorder.begin();
      } else {
        kernel.footprint = undefined;
        recorder.skip();
      }
    };
    // Registered after the invariant checker (the run's own observers come first): its part is compared after it ran.
    world.observe({
      afterStep: () => {
        if (recording) this.stepped(recorder.end());
        else if (this.choicePoint) this.stepped(this.choicePoint.fp!);
      },
    });
  }

  /** A step ran: events asleep stay asleep while they commute with every step run since. */
  private stepped(fp: StepFootprint): void {
    const p = this.choicePoint;
    let before: Iterable<[number, StepFootprint]> = this.sleep;
    if (p) {
      p.fp = fp;
      this.choicePoint = undefined;
      before = p.done!.size ? [...this.sleep, ...p.done!] : this.sleep;
    }
    if (!p && this.sleep.size === 0) return;
    const next = new Map<number, StepFootprint>();
    for (const [seq, f] of before) if (this.commute(f, fp)) next.set(seq, f);
    this.sleep = next;
  }

  choose(kind: ChoiceKind, n: number, stream: string, ready?: readonly Scheduled[]): number {
    if (kind === 'draw') return fixedDraw(n, stream);
    if (kind === 'placement') return 1;
    const i = this.points.length;
    const state = i < this.known.length ? this.known[i]! : createHash('sha1').update(this.keyOf(this.world!)).digest('base64');
    if (i >= this.prefix.length && (this.explored.get(state) ?? -1) >= this.delays - this.spent) throw new Pruned();
    if (this.carried && ready) {
      const seqs = ready.map((e) => e.seq);
      const asleep = new Set(this.sleep.keys());
      let v: number;
      let done: ReadonlyMap<number, StepFootprint>;
      let fp: StepFootprint | undefined;
      if (i < this.prefix.length) {
        v = Math.min(this.prefix[i]!, n - 1);
        done = this.carried[i]?.done ?? new Map();
        // The same step as in the run that took it first (same prefix): its footprint then.
        if (i < this.prefix.length - 1) fp = this.carried[i]?.fp;
      } else {
        v = seqs.findIndex((q) => !asleep.has(q));
        if (v < 0) throw new Asleep();
        done = new Map();
      }
      const point: BranchPoint = { n, v, state, spent: this.spent, seqs, asleep, done, ...(fp ? { fp } : {}) };
      this.points.push(point);
      this.choicePoint = point;
      this.spent += v;
      return v;
    }
    const v = i < this.prefix.length ? Math.min(this.prefix[i]!, n - 1) : 0;
    this.points.push({ n, v, state, spent: this.spent });
    this.spent += v;
    return v;
  }
}

export interface ExhaustiveRun {
  readonly prefix: readonly number[];
  readonly outcome: RunOutcome;
}

export interface ExhaustiveResult {
  /** Runs executed to the end (distinct interleavings). */
  readonly runs: number;
  /** Runs cut short at an already-explored state. */
  readonly pruned: number;
  /**
   * With sleep sets (the unbounded search): runs cut short because they could only go on as a
   * reordering of commuting steps of a run already explored. Undefined without the reduction.
   */
  readonly reordered?: number;
  /** True when the whole space (up to the delay bound, if any) was covered within maxRuns. */
  readonly complete: boolean;
  /** The delay bound asked for; undefined for the unbounded search. */
  readonly delays?: number;
  /**
   * With a delay bound: the largest bound k ≤ delays whose every run was covered (bounds are
   * searched 0, 1, 2, … in turn); -1 when not even bound 0 finished within maxRuns.
   */
  readonly delaysComplete?: number;
  readonly failures: readonly ExhaustiveRun[];
  readonly outcomes: readonly RunOutcome[];
  /** Each outcome's branch choices, in the same order (its run id's branches). */
  readonly prefixes: readonly (readonly number[])[];
}

/** The selector that replays one exhaustive run's branch choices (for evidence and shrinking). */
export function exhaustiveReplaySelector(prefix: readonly number[]): Selector {
  return new ExhaustiveSelector(prefix, new Map());
}

export function attachWorld(selector: Selector): ((w: World) => void) | undefined {
  return selector instanceof ExhaustiveSelector ? (w) => selector.attach(w) : undefined;
}

/**
 * Explore every interleaving (up to `delays` delays, when given), at most `maxRuns` runs
 * (executed + pruned). With a bound, the bounds 0, 1, …, delays are searched in turn (each
 * a complete search of its own, so the result says which bound was covered completely when
 * the runs run out); a run already executed at a smaller bound is not counted again.
 */
export function explore(
  scenario: Scenario,
  strategy: Strategy,
  /** The pilot run (run-id.ts's Pilot): its windowWrites place the `between` actions. */
  pilot: { readonly windowWrites: readonly number[] },
  window: number,
  maxRuns: number,
  seed: number,
  /** The state key pruning relies on (tests substitute incomplete ones to show they are unsound). */
  keyOf: (w: World) => string = stateKey,
  delays?: number,
  /**
   * Sleep sets over the step dependency relation (explore/sleep.ts), for the unbounded search
   * only (a reordering a sleep set skips may need more delays than the run that covers it, so
   * a delay bound's completeness would not hold). Off by default: measured, they cut ~20% of
   * the runs cut short on scenario 7 but cost more than that in per-step footprints (the runs
   * are still started, to find out they are reorderings; see README Performance).
   */
  options: {
    readonly sleepSets?: boolean;
    /** The dependency relation's complement (tests substitute wrong ones to show the relation matters). */
    readonly independent?: (a: StepFootprint, b: StepFootprint) => boolean;
  } = {},
): ExhaustiveResult {
  const sleepSets = delays === undefined && (options.sleepSets ?? false);
  const failures: ExhaustiveRun[] = [];
  const outcomes: RunOutcome[] = [];
  const prefixes: number[][] = [];
  const seen = new Set<string>();
  const budget = { runs: 0, pruned: 0, reordered: 0 };
  const record = (taken: number[], outcome: RunOutcome): void => {
    const id = taken.join('.');
    if (seen.has(id)) return;
    seen.add(id);
    outcomes.push(outcome);
    prefixes.push(taken);
    if (failed(outcome)) failures.push({ prefix: taken, outcome });
  };
  const base = { failures, outcomes, prefixes };
  if (delays === undefined) {
    const complete = search(Infinity);
    return { runs: outcomes.length, pruned: budget.pruned, ...(sleepSets ? { reordered: budget.reordered } : {}), complete, ...base };
  }
  let delaysComplete = -1;
  for (let k = 0; k <= delays; k++) {
    if (!search(k)) break;
    delaysComplete = k;
  }
  return { runs: outcomes.length, pruned: budget.pruned, complete: delaysComplete === delays, delays, delaysComplete, ...base };

  /** One depth-first search with `bound` delays; false when maxRuns ran out first. */
  function search(bound: number): boolean {
    const explored = new Map<string, number>();
    let prefix: number[] = [];
    let known: string[] = [];
    let carried: BranchPoint[] | undefined = sleepSets ? [] : undefined;
    for (;;) {
      if (budget.runs + budget.pruned + budget.reordered >= maxRuns) return false;
      const sel = new ExhaustiveSelector(prefix, explored, keyOf, known, bound, carried, options.independent);
      let outcome: RunOutcome | undefined;
      try {
        outcome = runOnce(scenario, strategy, seed, { selector: sel, window, windowWrites: pilot.windowWrites, inspect: (w) => sel.attach(w) });
      } catch (e) {
        if (e instanceof Pruned) budget.pruned++;
        else if (e instanceof Asleep) budget.reordered++;
        else throw e;
      }
      if (outcome) {
        budget.runs++;
        record(sel.points.map((p) => p.v), outcome);
      }
      // Backtrack: the deepest point with an untried option (not asleep) within the bound; everything below it is done.
      const pts = sel.points;
      let j = pts.length - 1;
      let u = -1;
      for (; j >= 0; j--) {
        u = nextOption(pts[j]!);
        if (u >= 0 && pts[j]!.spent + u <= bound) break;
      }
      for (let i = j + 1; i < pts.length; i++) {
        const p = pts[i]!;
        // A state explored with a sleep set was explored but for the sleeping events: only one
        // explored with none covers every continuation, and only those prune later visits.
        if (p.asleep?.size) continue;
        const left = bound - p.spent;
        if ((explored.get(p.state) ?? -1) < left) explored.set(p.state, left);
      }
      if (j < 0) return true;
      prefix = pts.slice(0, j).map((p) => p.v);
      prefix.push(u);
      known = pts.slice(0, j + 1).map((p) => p.state);
      if (carried) {
        const p = pts[j]!;
        const done = new Map(p.done);
        // The option just explored joins the ones before it: asleep in the siblings' runs while it commutes.
        if (p.seqs && p.fp) done.set(p.seqs[p.v]!, p.fp);
        carried = pts.slice(0, j);
        carried.push({ ...p, v: u, done, fp: undefined });
      }
    }
  }
}

/** What an exhaustive search covered: what a campaign keeps, prints and records. */
export interface ExhaustiveCoverage {
  readonly complete: boolean;
  readonly runs: number;
  readonly pruned: number;
  readonly delays?: number;
  readonly delaysComplete?: number;
}

export function coverageOf(r: ExhaustiveResult): ExhaustiveCoverage {
  return { complete: r.complete, runs: r.runs, pruned: r.pruned, ...(r.delays !== undefined ? { delays: r.delays, delaysComplete: r.delaysComplete } : {}) };
}

/**
 * The statement of what was searched, as the terminal, the JSON and the report give it. With a
 * delay bound it says which bound was covered completely: "complete up to K delays" is a
 * statement about every run of at most K delays, and nothing about the others.
 */
export function coverageSummary(x: ExhaustiveCoverage, maxRuns: number, failures: number): string {
  const counts = `${x.runs.toLocaleString('en-US')} distinct interleavings, ${failures.toLocaleString('en-US')} failures (${x.pruned.toLocaleString('en-US')} duplicate states pruned)`;
  const delays = (k: number) => `${k} delay${k === 1 ? '' : 's'}`;
  if (x.delays === undefined) return `${x.complete ? 'complete' : `incomplete (stopped at --max-runs ${maxRuns})`}: ${counts}`;
  if (x.complete) return `complete up to ${delays(x.delays)} (every run of at most ${delays(x.delays)}; longer ones not searched): ${counts}`;
  const done = x.delaysComplete ?? -1;
  return `${done >= 0 ? `complete up to ${delays(done)}` : 'not complete for any delay bound'}; bound ${done + 1} incomplete (stopped at --max-runs ${maxRuns}): ${counts}`;
}
