import { createHash } from 'node:crypto';
import type { ChoiceKind, Selector } from '../kernel/choice.js';
import type { Scenario } from '../scenario/model.js';
import { failed, type RunOutcome } from '../sim/outcome.js';
import { runOnce } from '../sim/run.js';
import { stateKey } from '../sim/state.js';
import type { World } from '../sim/world.js';
import type { Strategy } from '../strategies/api.js';
import type { Pilot } from './pilot.js';

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

interface BranchPoint {
  readonly n: number;
  readonly v: number;
  readonly state: string;
}

/**
 * Stateless depth-first search over the scheduling choices (CHESS-style): every run
 * replays a prefix of choices, then takes the default at new choice points; the next run
 * bumps the deepest choice that has an untried option. Latencies are fixed at the middle
 * of their ranges and `between` actions are placed by step, so what is enumerated is the
 * order of concurrent events and which step each window action follows. A choice point
 * whose state (see sim/state.ts) was seen with all its continuations explored is pruned.
 */
class ExhaustiveSelector implements Selector {
  readonly name = 'exhaustive';
  readonly points: BranchPoint[] = [];
  world: World | undefined;

  constructor(
    private readonly prefix: readonly number[],
    private readonly explored: ReadonlySet<string>,
    private readonly keyOf: (w: World) => string = stateKey,
    /**
     * The states the previous run met at the choice points this run replays: the prefix's
     * choices are the previous run's, so the states before them are too, and the key (the
     * dominant cost of a search) is computed only where the run is new.
     */
    private readonly known: readonly string[] = [],
  ) {}

  choose(kind: ChoiceKind, n: number, stream: string): number {
    if (kind === 'draw') return fixedDraw(n, stream);
    if (kind === 'placement') return 1;
    const i = this.points.length;
    const state = i < this.known.length ? this.known[i]! : createHash('sha1').update(this.keyOf(this.world!)).digest('base64');
    if (i >= this.prefix.length && this.explored.has(state)) throw new Pruned();
    const v = i < this.prefix.length ? Math.min(this.prefix[i]!, n - 1) : 0;
    this.points.push({ n, v, state });
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
  /** True when the whole space was covered within maxRuns. */
  readonly complete: boolean;
  readonly failures: readonly ExhaustiveRun[];
  readonly outcomes: readonly RunOutcome[];
  /** Each outcome's branch choices, in the same order (its run id's branches). */
  readonly prefixes: readonly (readonly number[])[];
}

/** The selector that replays one exhaustive run's branch choices (for evidence and shrinking). */
export function exhaustiveReplaySelector(prefix: readonly number[]): Selector {
  return new ExhaustiveSelector(prefix, new Set());
}

export function attachWorld(selector: Selector): ((w: World) => void) | undefined {
  return selector instanceof ExhaustiveSelector ? (w) => (selector.world = w) : undefined;
}

export function explore(
  scenario: Scenario,
  strategy: Strategy,
  pilot: Pilot,
  window: number,
  maxRuns: number,
  seed: number,
  /** The state key pruning relies on (tests substitute incomplete ones to show they are unsound). */
  keyOf: (w: World) => string = stateKey,
): ExhaustiveResult {
  const explored = new Set<string>();
  const failures: ExhaustiveRun[] = [];
  const outcomes: RunOutcome[] = [];
  const prefixes: number[][] = [];
  let prefix: number[] = [];
  let known: string[] = [];
  let runs = 0;
  let pruned = 0;
  for (;;) {
    if (runs + pruned >= maxRuns) return { runs, pruned, complete: false, failures, outcomes, prefixes };
    const sel = new ExhaustiveSelector(prefix, explored, keyOf, known);
    let outcome: RunOutcome | undefined;
    try {
      outcome = runOnce(scenario, strategy, seed, { selector: sel, window, windowWrites: pilot.windowWrites, inspect: (w) => (sel.world = w) });
    } catch (e) {
      if (!(e instanceof Pruned)) throw e;
    }
    if (outcome) {
      runs++;
      outcomes.push(outcome);
      const taken = sel.points.map((p) => p.v);
      prefixes.push(taken);
      if (failed(outcome)) failures.push({ prefix: taken, outcome });
    } else pruned++;
    // Backtrack: the deepest point with an untried option; everything below it is done.
    const pts = sel.points;
    let j = pts.length - 1;
    while (j >= 0 && pts[j]!.v >= pts[j]!.n - 1) j--;
    for (let i = j + 1; i < pts.length; i++) explored.add(pts[i]!.state);
    if (j < 0) return { runs, pruned, complete: true, failures, outcomes, prefixes };
    prefix = pts.slice(0, j).map((p) => p.v);
    prefix.push(pts[j]!.v + 1);
    known = pts.slice(0, j + 1).map((p) => p.state);
  }
}
