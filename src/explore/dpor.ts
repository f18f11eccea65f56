import { independent, type StepFootprint } from './dependency.js';

/**
 * Source-set dynamic partial-order reduction (Abdulla, Aronis, Jonsson, Sagonas, POPL 2014,
 * "Optimal dynamic partial order reduction", Algorithm 1) for the kernel's scheduling
 * choices. An explored run is analysed for races; an alternative at a choice point is
 * explored only when a race shows that taking it first can lead somewhere the run did not.
 *
 * Races happen within a round: the steps the kernel runs at one instant. With a window of 0
 * (exhaustive search), the candidates at a choice point are the events due at that instant,
 * and an event due later can never run before one due now; an event's time is fixed when it
 * is scheduled, by the step that schedules it, so every run equivalent to this one (the same
 * steps, dependent ones in the same order) gives every event the same time.
 */

/** One step of a round, as a run recorded it. */
export interface RoundStep {
  /** The event's kernel sequence number: it names the event at every choice point of a replayed prefix. */
  readonly seq: number;
  readonly chain: number;
  readonly group: number;
  /** The kernel's sequence counter when the step began and when it ended: the events it scheduled. */
  readonly firstScheduled: number;
  lastScheduled: number;
  fp: StepFootprint;
  /** The order choice that picked this event, if there was one. */
  readonly point: OrderPoint | undefined;
}

/** What DPOR keeps at an order choice point. */
export interface OrderPoint {
  /** Candidates' events (seqs), in the order the kernel offered them. */
  readonly seqs: readonly number[];
  /** Options (indices into seqs) to explore: the backtrack set. */
  readonly todo: Set<number>;
}

/**
 * The union of what a round's steps did from some state on, over every run explored from it:
 * what a later run cut short at that state would have raced with.
 */
export class Summary implements StepFootprint {
  readonly reads = new Set<string>();
  readonly writes = new Set<string>();
  readonly counts = new Set<string>();
  global = false;

  add(fp: StepFootprint): void {
    if (this.global) return;
    if (fp.global) {
      this.global = true;
      this.reads.clear();
      this.writes.clear();
      this.counts.clear();
      return;
    }
    for (const r of fp.reads) this.reads.add(r);
    for (const w of fp.writes) this.writes.add(w);
    if (fp.counts) for (const c of fp.counts) this.counts.add(c);
  }
}

/**
 * A run cut short at a state explored before, in the middle of a round: the round's steps
 * that came after that state in the runs that explored it are known only by their union
 * (`cutAt`), so every point of the round whose step conflicts with it gets every option (the
 * race it may have with one of them could need any of its candidates first).
 */
export function expandAgainst(steps: readonly RoundStep[], cutAt: StepFootprint, dependent: (a: StepFootprint, b: StepFootprint) => boolean = (a, b) => !independent(a, b)): void {
  for (const s of steps) {
    if (!s.point || !dependent(s.fp, cutAt)) continue;
    for (let u = 0; u < s.point.seqs.length; u++) s.point.todo.add(u);
  }
}

/**
 * Adds to the order points of one round the options its races call for. The round is the
 * run's steps at one instant from its first order choice on (every earlier step of the round
 * happens before every later one, so none of them races).
 */
export function addBacktracks(steps: readonly RoundStep[], dependent: (a: StepFootprint, b: StepFootprint) => boolean = (a, b) => !independent(a, b)): void {
  const r = steps.length;
  if (r < 2) return;
  // hb[i*r+j]: step i happens before step j (i < j): j's event was scheduled by i, follows i in
  // its chain or commuting group, or depends on i; transitively.
  const hb = new Uint8Array(r * r);
  const direct = new Uint8Array(r * r);
  for (let j = 1; j < r; j++) {
    const sj = steps[j]!;
    for (let i = 0; i < j; i++) {
      const si = steps[i]!;
      const scheduled = sj.seq >= si.firstScheduled && sj.seq < si.lastScheduled;
      const ordered = scheduled || (sj.chain !== 0 && sj.chain === si.chain) || (sj.group !== 0 && sj.group === si.group);
      const dep = dependent(si.fp, sj.fp);
      if (!ordered && !dep) continue;
      // A race is a dependency between events neither of which the other brought about.
      if (dep && !ordered) direct[i * r + j] = 1;
      hb[i * r + j] = 1;
      for (let k = 0; k < i; k++) if (hb[k * r + i]) hb[k * r + j] = 1;
    }
  }
  for (let i = 0; i < r - 1; i++) {
    const p = steps[i]!.point;
    if (!p) continue;
    for (let j = i + 1; j < r; j++) {
      if (!direct[i * r + j]) continue;
      // Not a race if j is ordered after i through a step between them.
      let through = false;
      for (let k = i + 1; k < j && !through; k++) through = hb[i * r + k] === 1 && hb[k * r + j] === 1;
      if (through) continue;
      // v: the steps between i and j that do not happen after i, then j. Its initials (steps
      // with no predecessor in v) are the events that can start a run reversing the race.
      const v: number[] = [];
      for (let k = i + 1; k < j; k++) if (!hb[i * r + k]) v.push(k);
      v.push(j);
      const initials: number[] = [];
      for (const w of v) if (!v.some((u) => u < w && hb[u * r + w])) initials.push(steps[w]!.seq);
      if (initials.some((s) => p.todo.has(p.seqs.indexOf(s)))) continue;
      const first = p.seqs.indexOf(initials[0]!);
      // An initial the kernel did not offer here (never expected): every option, to stay sound.
      if (first >= 0) p.todo.add(first);
      else for (let u = 0; u < p.seqs.length; u++) p.todo.add(u);
    }
  }
}
