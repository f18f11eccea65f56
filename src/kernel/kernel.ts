import type { Footprint } from './footprint.js';
import { EventHeap, type Scheduled } from './heap.js';

/**
 * A process is a generator that yields the number of milliseconds it waits before it
 * continues (SimPy's `yield env.timeout(d)`). Each yield is a scheduling point: other
 * actors' events that fall inside the wait run first. Yielding {@link PARK} suspends it until
 * someone calls the `wake` its spawn returned (a process waiting for a change, not a time).
 */
export type Process<R = void> = Generator<number, R, void>;

/** Yielded by a process to wait for a wake-up instead of a time. */
export const PARK = -1;

/** Wake a parked process after `delay` ms (no-op unless it is parked). */
export type Wake = (delay: number) => void;

export interface ScheduleOptions {
  /** Background events (periodic resyncs) do not keep a run alive: see {@link Kernel.run}. */
  background?: boolean;
  /** Who acts; default: the actor of the event being run. */
  actor?: string;
  /** A chain id ({@link Kernel.chainId}): events of one chain run in the order scheduled. */
  chain?: number;
  /**
   * A commuting group id ({@link Kernel.groupId}): ready events of one group commute, so
   * the selector sees them as one candidate.
   */
  commutes?: number;
}

/**
 * Which of the ready events runs next. The kernel calls it only when more than one event
 * is ready: events due within `window` ms of the earliest, one per chain (its earliest) and
 * one per commuting group (its earliest). Returning 0 always gives plain time order.
 */
export interface OrderChooser {
  order(ready: readonly Scheduled[]): number;
}

/**
 * The discrete-event kernel: a clock and a heap of events. It knows nothing about
 * Kubernetes. Time is in integer milliseconds.
 */
export class Kernel {
  now = 0;
  steps = 0;
  /** Ready window in ms: events this close to the earliest are concurrent. */
  window = 0;
  chooser: OrderChooser | undefined;
  /** Called after every step (invariant checks). */
  afterStep: (() => void) | undefined;
  /** Called with each event about to run, the clock already at its time (exhaustive exploration's DPOR). */
  beforeFire: ((e: Scheduled) => void) | undefined;
  /** Where shared components report what a step reads and writes (see {@link Footprint}); unset but in exhaustive exploration. */
  footprint: Footprint | undefined;
  /** Actor of the event being run. */
  current = '';
  private readonly heap = new EventHeap();
  private seq = 0;
  private foreground = 0;
  /** Scratch for {@link choose}: heap positions in the window, the candidates and their positions. */
  private readonly positions: number[] = [];
  private readonly ready: Scheduled[] = [];
  private readonly readyPos: number[] = [];
  private readonly chains = new Map<string, number>();
  private readonly groups = new Map<string, number>();

  /**
   * The id of the chain called `name` (interned: one name, one id, numbered from 1 in
   * order of first use). Events scheduled with one chain id run in the order scheduled.
   * Intern once, not per event.
   */
  chainId(name: string): number {
    return intern(this.chains, name);
  }

  /**
   * The id of the commuting group called `name` (interned like {@link chainId}, in a
   * separate table). Ready events of one group are one candidate for the chooser.
   */
  groupId(name: string): number {
    return intern(this.groups, name);
  }

  schedule(delay: number, fire: () => void, opts?: ScheduleOptions): void {
    const background = opts?.background ?? false;
    const e: Scheduled = {
      time: this.now + (delay > 0 ? delay : 0),
      seq: this.seq++,
      background,
      actor: opts?.actor ?? this.current,
      chain: opts?.chain ?? 0,
      commutes: opts?.commutes ?? 0,
      fire,
    };
    if (!background) this.foreground++;
    this.heap.push(e);
  }

  /** Start a process; its first step runs after `delay`. Its steps are labelled `actor`. */
  spawn(proc: Process<unknown>, delay = 0, actor?: string): Wake {
    const label = actor ?? this.current;
    const opts: ScheduleOptions = { actor: label };
    let parked = false;
    const resume = (): void => {
      const r = proc.next();
      if (r.done) return;
      if (r.value === PARK) {
        parked = true;
        this.parked++;
      } else this.schedule(r.value, resume, opts);
    };
    this.schedule(delay, resume, opts);
    return (d: number): void => {
      if (!parked) return;
      parked = false;
      this.parked--;
      this.schedule(d, resume, opts);
    };
  }

  /** Events scheduled so far (the next one's seq): exhaustive exploration tells which step scheduled an event by it. */
  get scheduled(): number {
    return this.seq;
  }

  /** Processes waiting for a wake-up. While any is, an empty heap means stuck, not settled. */
  parked = 0;

  /** Pending events (for state hashing). */
  pending(): readonly Scheduled[] {
    return this.heap.all();
  }

  /** Run the next event. Returns false when nothing is left. */
  step(): boolean {
    const heap = this.heap;
    let e = heap.peek();
    if (!e) return false;
    // Fast path: nothing else is ready, so there is no choice to make.
    if (this.chooser && heap.hasSecondWithin(e.time + this.window)) e = this.choose(e.time + this.window);
    else heap.pop();
    if (!e.background) this.foreground--;
    if (e.time > this.now) this.now = e.time;
    this.steps++;
    this.current = e.actor;
    this.beforeFire?.(e);
    e.fire();
    this.afterStep?.();
    return true;
  }

  /**
   * Let the chooser pick among the events due by `limit` and take the pick off the heap; the
   * rest stay where they are. The candidates, in time order: one per chain and one per
   * commuting group, the earliest of each (an event is left out when an earlier candidate
   * shares its chain or its group). Nothing is popped and pushed back: the events within
   * the window are found in place and only their positions are sorted.
   */
  private choose(limit: number): Scheduled {
    const heap = this.heap;
    const pos = this.positions;
    const ready = this.ready;
    const readyPos = this.readyPos;
    pos.length = 0;
    ready.length = 0;
    readyPos.length = 0;
    heap.within(limit, pos);
    // Time order (time, then seq); the window holds a handful of events, so insertion sort.
    for (let i = 1; i < pos.length; i++) {
      const p = pos[i]!;
      const e = heap.at(p);
      let j = i - 1;
      for (; j >= 0; j--) {
        const q = heap.at(pos[j]!);
        if (q.time < e.time || (q.time === e.time && q.seq < e.seq)) break;
        pos[j + 1] = pos[j]!;
      }
      pos[j + 1] = p;
    }
    for (let i = 0; i < pos.length; i++) {
      const p = pos[i]!;
      const next = heap.at(p);
      const chain = next.chain;
      const group = next.commutes;
      let blocked = false;
      if (chain !== 0 || group !== 0) {
        for (let j = 0; j < ready.length; j++) {
          const r = ready[j]!;
          if ((chain !== 0 && r.chain === chain) || (group !== 0 && r.commutes === group)) {
            blocked = true;
            break;
          }
        }
      }
      if (!blocked) {
        ready.push(next);
        readyPos.push(p);
      }
    }
    let i = 0;
    if (ready.length > 1) {
      i = this.chooser!.order(ready);
      if (ready[i] === undefined) i = 0;
    }
    // The chooser has seen the candidates; positions are only valid until the heap changes.
    return heap.removeAt(readyPos[i]!);
  }

  /**
   * Run until the system has settled (only background events are left) or the next
   * event lies past `until`. Returns true when it settled, false when stopped at the horizon.
   */
  run(until: number, stop?: () => boolean): boolean {
    for (;;) {
      // Nothing but background timers left: settled, unless a process is parked waiting for a
      // change that nothing is left to make (then the run is stuck, not settled).
      if (this.foreground === 0) return this.parked === 0;
      const next = this.heap.peek();
      if (!next) return this.parked === 0;
      if (next.time > until) {
        this.now = until;
        return false;
      }
      this.step();
      if (stop?.()) return false;
    }
  }
}

function intern(table: Map<string, number>, name: string): number {
  let id = table.get(name);
  if (id === undefined) table.set(name, (id = table.size + 1));
  return id;
}
