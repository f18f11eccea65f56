import { createHash } from 'node:crypto';
import type { ChoiceKind, Selector } from '../kernel/choice.js';
import type { Scheduled } from '../kernel/heap.js';
import type { Scenario } from '../scenario/model.js';
import { failed, type RunOutcome } from '../sim/outcome.js';
import { runOnce } from '../sim/run.js';
import { stateKey } from '../sim/state.js';
import type { World } from '../cluster/world.js';
import type { Strategy } from '../strategies/api.js';
import { StrategyFault } from '../strategies/fault.js';
import { beatRun } from '../strategies/heartbeat.js';
import { FootprintRecorder, type StepFootprint } from './dependency.js';
import { addBacktracks, expandAgainst, Summary, type OrderPoint, type RoundStep } from './dpor.js';
import { formatRunId } from './run-id-format.js';

/**
 * The latency an exhaustive run uses for a draw among n at latency point `point`: one fixed
 * value per stream, in the middle half of the range, set by a hash of the stream's name (and,
 * from point 1 on, of the point). One value for every stream would make unrelated actors act
 * at exactly the same instant (every controller reacting to one write after the same cache lag
 * and the same reconcile time), an artefact of fixing latencies that multiplies the orders to
 * explore without adding any the real system has. A value fixed per stream, not per draw,
 * keeps the state key sound: what follows a state does not depend on how many draws came
 * before. Point 0 is the one every exhaustive search used before latency points existed.
 */
export function fixedDraw(n: number, stream: string, point = 0): number {
  return drawFrom(latencyBasis(point), n, stream);
}

/** FNV-1a over `text` from `h`. */
function fnv(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h;
}

/** The hash a point's draws start from: FNV's offset basis, then (from point 1 on) "<point>/", as a prefix of the stream's name. */
function latencyBasis(point: number): number {
  return point > 0 ? fnv(2166136261, `${point}/`) : 2166136261;
}

/** fixedDraw from a point's basis (a selector computes it once, not per draw). */
function drawFrom(basis: number, n: number, stream: string): number {
  if (n <= 2) return n >> 1;
  const h = fnv(basis, stream);
  const spread = Math.max(1, n >> 1);
  return Math.min(n - 1, (n >> 2) + ((h >>> 0) % spread));
}

/** Thrown to cut a run short at a state whose every continuation was already explored. */
class Pruned extends Error {
  constructor(
    /** DPOR: what the state's round did after it in the runs that explored it, and that round's instant. */
    readonly summary?: Summary,
    readonly time = -1,
  ) {
    super('pruned');
  }
}

interface BranchPoint {
  readonly n: number;
  v: number;
  readonly state: string;
  /** Delays spent before this point (the sum of the earlier points' choices). */
  readonly spent: number;
  /** With DPOR, at order choices: the candidates' events and the options to explore. */
  readonly order?: OrderPoint;
  /** With DPOR: options explored so far. */
  readonly tried?: Set<number>;
  /** With DPOR: what this point's round did from its step on, over every run through it. */
  readonly summary?: Summary;
}

/** The option a search takes next at a point: with DPOR the first untried one its races ask for; -1 if none. */
function nextOption(p: BranchPoint): number {
  if (!p.tried) return p.v + 1 < p.n ? p.v + 1 : -1;
  if (!p.order) {
    for (let u = 0; u < p.n; u++) if (!p.tried.has(u)) return u;
    return -1;
  }
  let best = -1;
  for (const u of p.order.todo) if (!p.tried.has(u) && (best < 0 || u < best)) best = u;
  return best;
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
 *
 * With DPOR (the unbounded search; explore/dpor.ts), an order choice explores only the options
 * the races of the runs through it call for; other choices ('timing': window placements and the
 * agents' connection order, made at setup; 'pick': a controller's or the scheduler's pick among
 * objects, made inside a step) always explore every option, and are never keyed or pruned (see
 * choose). Races
 * stay within a round, so a state explored at a round's first choice covers its subtree
 * whatever led there. One in the middle of a round was explored in the context of the round's
 * earlier steps (their races with what followed): each explored state keeps a summary of what
 * its round did after it (Yang, Chen, Gopalakrishnan, Kirby, SPIN 2008), and a run cut short
 * there gives every option to the round's earlier points whose step conflicts with it.
 */
class ExhaustiveSelector implements Selector {
  readonly name = 'exhaustive';
  /** Latencies are fixed, so a controller's pick among objects (Choices.picked) is enumerated, not drawn. */
  readonly enumeratesPicks = true;
  readonly points: BranchPoint[] = [];
  world: World | undefined;
  private spent = 0;
  /** DPOR: the steps of the current round since its first order choice. */
  private round: RoundStep[] = [];
  private roundTime = -1;
  /** DPOR: the points made in the current round, each with the index of the round step it came in. */
  private roundPoints: Array<[BranchPoint, number]> = [];
  /** DPOR: the order choice just made, waiting for its event to run. */
  private chosen: BranchPoint | undefined;
  private recorder: FootprintRecorder | undefined;
  /** The latency point's hash basis (fixedDraw), made once: every draw of the run starts from it. */
  private readonly latencyBasis: number;

  constructor(
    private readonly prefix: readonly number[],
    /** Per state: the most delays left with which it was fully explored (Infinity: unbounded). */
    private readonly explored: ReadonlyMap<string, number>,
    private readonly keyOf: (w: World) => string = stateKey,
    /**
     * The points the previous run met where this run replays it: the prefix's choices are the
     * previous run's, so the states before them are too, and the key (the dominant cost of a
     * search) is computed only where the run is new. With DPOR the points themselves carry on
     * (their options to explore and those explored grow over the runs through them).
     */
    private readonly carried: readonly BranchPoint[] = [],
    private readonly delays = Infinity,
    /** DPOR: reduce order choices by the races of the runs explored; undefined: every option. */
    private readonly dpor?: DporOptions,
    /** DPOR: per explored state, what its round did after it. */
    private readonly summaries?: ReadonlyMap<string, Summary>,
    /** The latency point (fixedDraw): which fixed latency each stream has. */
    latencyPoint = 0,
  ) {
    this.latencyBasis = latencyBasis(latencyPoint);
  }

  /** Sees the world; with DPOR, also every step of a round from its first order choice on, and what it touches. */
  attach(world: World): void {
    this.world = world;
    if (!this.dpor) return;
    const recorder = (this.recorder = new FootprintRecorder(world, this.dpor.verify));
    const kernel = world.kernel;
    let step: RoundStep | undefined;
    kernel.beforeFire = (e) => {
      if (e.time !== this.roundTime) this.endRound();
      this.roundTime = e.time;
      const p = this.chosen;
      this.chosen = undefined;
      // A round matters from its first order choice: every step before it happens before every choice.
      if (p || this.round.length) {
        step = { seq: e.seq, chain: e.chain, group: e.commutes, firstScheduled: kernel.scheduled, lastScheduled: kernel.scheduled, fp: NO_STEP, point: p?.order };
        if (p) this.roundPoints.push([p, this.round.length]);
        this.round.push(step);
        kernel.footprint = recorder;
        recorder.begin();
      } else {
        step = undefined;
        kernel.footprint = undefined;
        recorder.skip();
      }
    };
    // Registered after the invariant checker (the run's own observers come first): its part is compared after it ran.
    world.observe({
      afterStep: () => {
        if (!step) return;
        step.fp = recorder.end();
        step.lastScheduled = kernel.scheduled;
        step = undefined;
      },
    });
  }

  /**
   * DPOR: the round is over (the clock moved on, the run ended, or it was cut short at an
   * explored state of round `at` whose summary is `cutAt`): its races add options to its
   * points, and each point's summary takes in what the round did from it on.
   */
  endRound(cutAt?: Summary, at = this.roundTime): void {
    if (at !== this.roundTime) {
      // Cut short at the first choice of a later round: that round has no steps yet.
      this.endRound();
      return;
    }
    const steps = this.round;
    if (steps.length === 0 && this.roundPoints.length === 0) return;
    // A cut is made only at an order choice, between steps (choose): every step of the round has ended.
    const dependent = this.dpor?.dependent;
    if (steps.length > 1) addBacktracks(steps, dependent);
    if (cutAt) expandAgainst(steps, cutAt, dependent);
    for (const [p, from] of this.roundPoints) {
      for (let k = from; k < steps.length; k++) p.summary!.add(steps[k]!.fp);
      if (cutAt) p.summary!.add(cutAt);
    }
    this.round = [];
    this.roundPoints = [];
  }

  choose(kind: ChoiceKind, n: number, stream: string, ready?: readonly Scheduled[]): number {
    if (kind === 'draw') return drawFrom(this.latencyBasis, n, stream);
    if (kind === 'placement') return 1;
    const i = this.points.length;
    const carried = this.carried[i];
    const replayed = i < this.prefix.length;
    // Only a choice between steps (the kernel's order among ready events) is keyed and pruned.
    // Any other is made inside a step (or at setup), whose rest depends on what the step holds
    // besides the world (the picks made so far, the window action being placed): two such
    // choices with nothing written between them have one key and different futures.
    const between = kind === 'order' && ready !== undefined;
    const state = carried ? carried.state : between ? createHash('sha1').update(this.keyOf(this.world!)).digest('base64') : IN_STEP;
    if (between && !replayed && (this.explored.get(state) ?? -1) >= this.delays - this.spent) {
      // The round a cut at an order choice belongs to is its candidates' instant (the clock has not moved yet).
      throw new Pruned(this.summaries?.get(state), ready![0]!.time);
    }
    const v = replayed ? Math.min(this.prefix[i]!, n - 1) : 0;
    let point: BranchPoint;
    if (this.dpor && replayed && carried) {
      point = carried;
      point.v = v;
    } else if (this.dpor) {
      // An order choice starts with its default only, and keeps a summary of its round (its state
      // is keyed); any other explores every option.
      point = between ? { n, v, state, spent: this.spent, tried: new Set(), summary: new Summary(), order: { seqs: ready.map((e) => e.seq), todo: new Set([v]) } } : { n, v, state, spent: this.spent, tried: new Set() };
    } else point = { n, v, state, spent: this.spent };
    point.tried?.add(v);
    this.points.push(point);
    this.spent += v;
    if (point.order) this.chosen = point;
    return v;
  }
}

/** The state of a choice made inside a step: not a key (see ExhaustiveSelector.choose), never pruned. */
const IN_STEP = '';

/** A round step's footprint before the step has run. */
const NO_STEP: StepFootprint = { reads: new Set(), writes: new Set(), global: true };

export interface ExhaustiveRun {
  readonly prefix: readonly number[];
  readonly outcome: RunOutcome;
}

export interface ExhaustiveResult {
  /** Runs executed to the end (distinct interleavings). */
  readonly runs: number;
  /** Runs cut short at an already-explored state. */
  readonly pruned: number;
  /** True when the whole space (up to the delay bound, if any) was covered within maxRuns. */
  readonly complete: boolean;
  /** The unbounded search without DPOR (every option of every choice); undefined: with it, or bounded. */
  readonly reduction?: 'none';
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
export function exhaustiveReplaySelector(prefix: readonly number[], latencyPoint = 0): Selector {
  return new ExhaustiveSelector(prefix, new Map(), stateKey, [], Infinity, undefined, undefined, latencyPoint);
}

export function attachWorld(selector: Selector): ((w: World) => void) | undefined {
  return selector instanceof ExhaustiveSelector ? (w) => selector.attach(w) : undefined;
}

/** How the unbounded search reduces: DPOR over the step dependency relation (default), or none. */
export type Reduction = 'dpor' | 'none';

interface DporOptions {
  /** The step dependency relation (tests substitute wrong ones to show the relation matters). */
  readonly dependent?: (a: StepFootprint, b: StepFootprint) => boolean;
  /** Check that every reconciler and informer reported each change of its state, and reads of handed-out caches (FootprintRecorder's verify). */
  readonly verify?: boolean;
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
  options: {
    /**
     * The unbounded search's reduction: source-set DPOR (explore/dpor.ts), the default, or
     * none (every option of every choice; tests compare the two). A delay bound never reduces:
     * a reversal DPOR skips may need more delays than the run that covers it.
     */
    readonly reduction?: Reduction;
    /** The latency point searched (fixedDraw); 0 by default. */
    readonly latencyPoint?: number;
  } & DporOptions = {},
): ExhaustiveResult {
  const dpor = delays === undefined && (options.reduction ?? 'dpor') === 'dpor' ? options : undefined;
  const failures: ExhaustiveRun[] = [];
  const outcomes: RunOutcome[] = [];
  const prefixes: number[][] = [];
  const seen = new Set<string>();
  const budget = { runs: 0, pruned: 0 };
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
    return { runs: outcomes.length, pruned: budget.pruned, complete, ...(dpor ? {} : { reduction: 'none' as const }), ...base };
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
    const summaries = dpor ? new Map<string, Summary>() : undefined;
    let prefix: number[] = [];
    let carried: BranchPoint[] = [];
    for (;;) {
      if (budget.runs + budget.pruned >= maxRuns) return false;
      // A sandbox's watchdog names the run it stopped by this number (jobs.ts jobRunId).
      beatRun(budget.runs + budget.pruned);
      const sel = new ExhaustiveSelector(prefix, explored, keyOf, carried, bound, dpor, summaries, options.latencyPoint ?? 0);
      let outcome: RunOutcome | undefined;
      let cut: Pruned | undefined;
      try {
        outcome = runOnce(scenario, strategy, seed, { selector: sel, window, windowWrites: pilot.windowWrites, inspect: (w) => sel.attach(w) });
      } catch (e) {
        // A strategy's fault names the run it happened in: its choices so far, which the replay
        // selector makes again (a run that faulted was never cut short, so nothing was pruned in it).
        if (e instanceof StrategyFault) throw e.with({ run: formatRunId({ explorer: 'exhaustive', seed, window, branches: sel.points.map((p) => p.v), latencyPoint: options.latencyPoint ?? 0 }) });
        if (!(e instanceof Pruned)) throw e;
        budget.pruned++;
        cut = e;
      }
      sel.endRound(cut?.summary, cut?.time);
      if (outcome) {
        budget.runs++;
        record(sel.points.map((p) => p.v), outcome);
      }
      // Backtrack: the deepest point with an untried option within the bound; everything below it is done.
      const pts = sel.points;
      let j = pts.length - 1;
      let u = -1;
      for (; j >= 0; j--) {
        u = nextOption(pts[j]!);
        if (u >= 0 && pts[j]!.spent + u <= bound) break;
      }
      for (let i = j + 1; i < pts.length; i++) {
        const p = pts[i]!;
        if (p.state === IN_STEP) continue;
        if (summaries && !summaries.has(p.state)) summaries.set(p.state, p.summary!);
        const left = bound - p.spent;
        if ((explored.get(p.state) ?? -1) < left) explored.set(p.state, left);
      }
      if (j < 0) return true;
      prefix = pts.slice(0, j).map((p) => p.v);
      prefix.push(u);
      carried = pts.slice(0, j + 1);
    }
  }
}

/** What an exhaustive search covered: what a campaign keeps, prints and records. */
export interface ExhaustiveCoverage {
  readonly complete: boolean;
  readonly runs: number;
  readonly pruned: number;
  readonly reduction?: 'none';
  readonly delays?: number;
  readonly delaysComplete?: number;
  /**
   * With --latency-points N > 1: N, the points 0 … N−1 each searched on its own (its own
   * --max-runs); runs, pruned and delaysComplete are then over every point (sums; the smallest).
   */
  readonly latencyPoints?: number;
  /** With latencyPoints: the points whose search did not cover what was asked (stopped at --max-runs). */
  readonly incompletePoints?: readonly number[];
  /** With latencyPoints and a delay bound: each point's own delaysComplete, by point. */
  readonly pointsDelaysComplete?: readonly number[];
}

export function coverageOf(r: ExhaustiveResult): ExhaustiveCoverage {
  return { complete: r.complete, runs: r.runs, pruned: r.pruned, ...(r.reduction ? { reduction: r.reduction } : {}), ...(r.delays !== undefined ? { delays: r.delays, delaysComplete: r.delaysComplete } : {}) };
}

/** The coverage of the searches at latency points 0 … parts.length − 1, in that order, as one. */
export function coverageOfPoints(parts: readonly ExhaustiveCoverage[]): ExhaustiveCoverage {
  if (parts.length === 1) return parts[0]!;
  const first = parts[0]!;
  const incompletePoints = parts.flatMap((x, p) => (x.complete ? [] : [p]));
  const sum = (f: (x: ExhaustiveCoverage) => number) => parts.reduce((n, x) => n + f(x), 0);
  return {
    complete: incompletePoints.length === 0,
    runs: sum((x) => x.runs),
    pruned: sum((x) => x.pruned),
    ...(first.reduction ? { reduction: first.reduction } : {}),
    ...(first.delays !== undefined ? { delays: first.delays, delaysComplete: Math.min(...parts.map((x) => x.delaysComplete ?? -1)) } : {}),
    latencyPoints: parts.length,
    ...(incompletePoints.length ? { incompletePoints } : {}),
    ...(first.delays !== undefined && incompletePoints.length ? { pointsDelaysComplete: parts.map((x) => x.delaysComplete ?? -1) } : {}),
  };
}

/** "2, 5–7": a sorted list of integers with runs collapsed. */
function ranges(xs: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    out.push(span(xs[i]!, xs[j]!));
    i = j + 1;
  }
  return out.join(', ');
}

/** The integers lo … hi: "3", "3, 4" or "3–7". */
function span(lo: number, hi: number): string {
  return lo === hi ? String(lo) : hi === lo + 1 ? `${lo}, ${hi}` : `${lo}–${hi}`;
}

/**
 * The statement of what was searched, as the terminal, the JSON and the report give it. With a
 * delay bound it says which bound was covered completely: "complete up to K delays" is a
 * statement about every run of at most K delays, and nothing about the others. Every form says
 * at which latencies: the search enumerates orders of ties, window placements and picks, with
 * one latency per stream (fixedDraw), so an interleaving that needs other latencies (the
 * incident's pre-fix failures at point 0 do) is not in it, however complete the search. With
 * several latency points, each is a search of its own, and the statement says which did not finish.
 */
export function coverageSummary(x: ExhaustiveCoverage, maxRuns: number, failures: number): string {
  const counts = `${x.runs.toLocaleString('en-US')} distinct interleavings, ${failures.toLocaleString('en-US')} failures (${x.pruned.toLocaleString('en-US')} duplicate states pruned)`;
  const delays = (k: number) => `${k} delay${k === 1 ? '' : 's'}`;
  const at = latenciesSearched(x);
  const pts = x.incompletePoints ?? [];
  const per = x.pointsDelaysComplete;
  const points = (ps: readonly number[]) => `point${ps.length === 1 ? '' : 's'} ${ranges(ps)}`;
  let stopped = `stopped at --max-runs ${maxRuns}`;
  if (pts.length && x.delays !== undefined && per) {
    // Each stopped point with the bound it did cover: a point may have covered more than the smallest.
    const byBound = new Map<number, number[]>();
    for (const p of pts) {
      const k = per[p] ?? -1;
      const ps = byBound.get(k);
      if (ps) ps.push(p);
      else byBound.set(k, [p]);
    }
    const where = [...byBound].sort(([a], [b]) => a - b).map(([k, ps]) => `${points(ps)} (${k >= 0 ? `complete up to ${delays(k)}` : 'no bound complete'})`);
    stopped += ` at ${where.join(' and ')}, each point's search having its own`;
  } else if (pts.length) stopped += ` at ${points(pts)}, each point's search having its own`;
  // An unbounded search is complete with respect to the step dependency relation when DPOR
  // reduced it (one interleaving per order of the steps that conflict), said so.
  const how = x.reduction === 'none' ? 'every option of every choice' : 'DPOR: one interleaving per order of conflicting steps';
  if (x.delays === undefined) return `${x.complete ? `complete ${at} (${how})` : `incomplete ${at} (${how}; ${stopped})`}: ${counts}`;
  if (x.complete) return `complete up to ${delays(x.delays)} ${at} (every run of at most ${delays(x.delays)}; longer ones not searched): ${counts}`;
  const done = x.delaysComplete ?? -1;
  const head = done >= 0 ? `complete up to ${delays(done)} ${at}` : `not complete ${at} for any delay bound`;
  // Several points: each stopped point says its own bound (the next bound may be complete at some).
  if (per) return `${head}; ${stopped}: ${counts}`;
  return `${head}; bound ${done + 1} incomplete (${stopped}): ${counts}`;
}

/** Which latencies a search held: "at fixed latencies" (point 0 only) or "at latency points 0–7". */
export function latenciesSearched(x: Pick<ExhaustiveCoverage, 'latencyPoints'>): string {
  const n = x.latencyPoints ?? 1;
  return n > 1 ? `at latency points ${span(0, n - 1)}` : 'at fixed latencies';
}
