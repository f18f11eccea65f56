import { EventHeap, type Scheduled } from './heap.js';

/**
 * A process is a generator that yields the number of milliseconds it waits before it
 * continues (SimPy's `yield env.timeout(d)`). Each yield is a scheduling point: other
 * actors' events that fall inside the wait run first.
 */
export type Process<R = void> = Generator<number, R, void>;

export interface ScheduleOptions {
  /** Background events (periodic resyncs) do not keep a run alive: see {@link Kernel.run}. */
  background?: boolean;
  priority?: number;
}

/**
 * The discrete-event kernel: a clock and a heap of events. It knows nothing about
 * Kubernetes. Time is in integer milliseconds.
 */
export class Kernel {
  now = 0;
  steps = 0;
  private readonly heap = new EventHeap();
  private seq = 0;
  private foreground = 0;

  schedule(delay: number, fire: () => void, opts?: ScheduleOptions): void {
    const background = opts?.background ?? false;
    const e: Scheduled = {
      time: this.now + (delay > 0 ? delay : 0),
      priority: opts?.priority ?? 0,
      seq: this.seq++,
      background,
      fire,
    };
    if (!background) this.foreground++;
    this.heap.push(e);
  }

  /** Start a process; its first step runs after `delay`. */
  spawn(proc: Process<unknown>, delay = 0): void {
    const resume = (): void => {
      const r = proc.next();
      if (!r.done) this.schedule(r.value, resume);
    };
    this.schedule(delay, resume);
  }

  /** Run the next event. Returns false when nothing is left. */
  step(): boolean {
    const e = this.heap.pop();
    if (!e) return false;
    if (!e.background) this.foreground--;
    this.now = e.time;
    this.steps++;
    e.fire();
    return true;
  }

  /**
   * Run until the system has settled (only background events are left) or the next
   * event lies past `until`. Returns true when it settled, false when stopped at the horizon.
   */
  run(until: number): boolean {
    for (;;) {
      if (this.foreground === 0) return true;
      const next = this.heap.peek();
      if (!next) return true;
      if (next.time > until) {
        this.now = until;
        return false;
      }
      this.step();
    }
  }
}
