import type { Footprint } from '../kernel/footprint.js';
import type { StatePart, World } from '../cluster/world.js';

/**
 * What one step read and wrote, as exhaustive exploration's DPOR compares them (explore/dpor.ts).
 * `global`: the step changed state no component reports reads of (a script's position, the
 * tunnel, the cluster agent's pods, the admission plugin's cache), so it is taken to depend on
 * every other step.
 */
export interface StepFootprint {
  readonly reads: ReadonlySet<string>;
  readonly writes: ReadonlySet<string>;
  /** Resources changed by a commuting update (a counter): they conflict with reads and writes only. */
  readonly counts?: ReadonlySet<string>;
  readonly global: boolean;
}

/**
 * The dependency relation (Godefroid's independence, checked on what each step touched):
 * two steps commute when neither writes anything the other reads or writes, and neither is
 * global. Resources are API objects and kinds (a kind is written by every write of one of its
 * objects, since every watcher of the kind receives writes in order, and read by every list),
 * an informer's cache of a kind, a workqueue, a reconciler's own state, generated names.
 */
export function independent(a: StepFootprint, b: StepFootprint): boolean {
  if (a.global || b.global) return false;
  for (const w of a.writes) if (b.writes.has(w) || b.reads.has(w) || b.counts?.has(w)) return false;
  for (const w of b.writes) if (a.reads.has(w) || a.counts?.has(w)) return false;
  if (a.counts) for (const c of a.counts) if (b.reads.has(c)) return false;
  if (b.counts) for (const c of b.counts) if (a.reads.has(c)) return false;
  return true;
}

/** Kinds of state part only the steps that change them read (see {@link FootprintRecorder}). */
const OWNED = new Set(['process', 'invariants']);
/** Kinds of state part that report their own changes (see {@link FootprintRecorder}). */
const REPORTED = new Set(['informer', 'reconciler']);

/**
 * Records each kernel step's footprint. API objects, informer caches, workqueues and
 * reconcilers report their reads and writes as they happen (kernel.footprint): a reconciler's
 * state by parts (per key: its queue state and the pass over it; the FIFO; the workers;
 * expectations; see WorkQueue.resource). An informer's deliveries write the process's resource
 * too (deliveries due at one instant run in the order sent). Every other registered state part
 * is compared before and after the step. A part that changed is a write of that part when only
 * the steps that change it read it:
 * - a process's own position (`process`: one drain eviction loop, written also by the write
 *   that wakes it; one virt-handler migration; one Rancher reflector);
 * - the invariant checker's open conditions: it re-evaluates a namespace inside the step that
 *   wrote there, reading through the API (so those reads are the step's), and nothing in the
 *   cluster reads its conditions. A condition that outstays its grace is marked by whichever
 *   step comes first at that instant, with the same result in either order.
 * Any other part that changed makes the step global, since nothing reports who reads a
 * script's position, the tunnel's sessions or the admission cache.
 *
 * `verify` also compares the parts that report themselves (reconcilers, informers), resource by
 * resource, and throws when one changed in a step that did not report it (tests run it: a missed
 * report would make the relation unsound). It checks reads where they can escape a report: a
 * store a component hands out (an informer's cache, Informer.indexed) checks on every use that
 * the step running reported reading it (World.checkRead). Reads through lookups report
 * themselves as they look; a store handed out before this recorder exists is not checked.
 */
export class FootprintRecorder implements Footprint {
  private reads = new Set<string>();
  private writes = new Set<string>();
  private counts = new Set<string>();
  private parts: StatePart[] = [];
  private before: string[] = [];
  private beforeAt = -1;
  private beforeFor = -1;

  constructor(
    private readonly world: World,
    private readonly verify = false,
  ) {
    if (verify) world.checkRead = (resource) => this.checkRead(resource);
  }

  /** Verify: whether a recorded step is running (between {@link begin} and {@link end}). */
  private inStep = false;

  /** Verify: a read of `resource` (through a store a component handed out) that the step did not report throws. */
  private checkRead(resource: string): void {
    if (!this.inStep || this.world.kernel.footprint !== this) return;
    if (this.reads.has(resource) || this.writes.has(resource) || this.counts.has(resource)) return;
    throw new Error(`${resource} read in a step of ${this.world.kernel.current} that did not report it`);
  }

  read(resource: string): void {
    this.reads.add(resource);
  }

  write(resource: string): void {
    this.writes.add(resource);
  }

  count(resource: string): void {
    this.counts.add(resource);
  }

  /** A step begins (the clock at its time): parts' keys before it. */
  begin(): void {
    const w = this.world;
    // Parts register as components start; those that report themselves are left out.
    if (this.parts.length + this.reported !== w.state.length) this.listParts();
    // The previous step's after-keys are this step's before-keys when the clock has not moved
    // (parts hold relative times).
    if (this.beforeFor !== this.steps || this.beforeAt !== w.now) {
      this.before = this.parts.map((p) => p.key());
    }
    this.reads = new Set();
    this.writes = new Set();
    this.counts = new Set();
    if (this.verify) {
      this.verifyBefore = this.selfReported();
      this.inStep = true;
    }
  }

  private verifyBefore: Array<Map<string, string>> = [];

  /** Verify: each self-reporting part's state per resource. */
  private selfReported(): Array<Map<string, string>> {
    return this.world.state.map((p) => {
      const m = new Map<string, string>();
      p.parts?.(m);
      return m;
    });
  }

  /** Verify: every resource of a self-reporting part that changed was written or counted. */
  private check(): void {
    const after = this.selfReported();
    for (let i = 0; i < this.verifyBefore.length; i++) {
      const b = this.verifyBefore[i]!;
      const a = after[i]!;
      // A component that went away (a stopped reconciler) reported its stop; nothing reads the rest.
      if (a.size === 0) continue;
      for (const [r, v] of b) if (v !== a.get(r)) this.changed(r, v, a.get(r));
      for (const [r, v] of a) if (!b.has(r)) this.changed(r, undefined, v);
    }
  }

  /** Verify: a resource changed in this step; unless the step reported writing it, that throws. */
  private changed(r: string, before: string | undefined, after: string | undefined): void {
    if (this.writes.has(r) || this.counts.has(r)) return;
    throw new Error(`${r} changed (${before ?? 'nothing'} → ${after ?? 'nothing'}) in a step of ${this.world.kernel.current} that did not report it`);
  }

  private reported = 0;
  private steps = 0;

  private listParts(): void {
    const w = this.world;
    this.parts = w.state.filter((p) => !REPORTED.has(p.kind));
    this.reported = w.state.length - this.parts.length;
    this.beforeFor = -1;
  }

  /** A step runs unrecorded: the next recorded one compares its parts afresh. */
  skip(): void {
    this.beforeFor = -1;
    this.inStep = false;
  }

  /** The step ended (after every observer): its footprint. */
  end(): StepFootprint {
    const w = this.world;
    let global = false;
    const known = this.parts.length + this.reported;
    if (known !== w.state.length) {
      // Components started during the step (parts are only ever appended). A process's own
      // position is new state only it reads: a write of it. Any other start is global.
      for (let i = known; i < w.state.length; i++) {
        const p = w.state[i]!;
        if (OWNED.has(p.kind)) this.writes.add(`part:${p.kind}/${p.name}`);
        else global = true;
      }
    }
    if (this.verify) {
      this.inStep = false;
      this.check();
    }
    const after: string[] = [];
    for (let i = 0; i < this.parts.length; i++) {
      const p = this.parts[i]!;
      const k = p.key();
      after.push(k);
      if (k === this.before[i]) continue;
      if (OWNED.has(p.kind)) this.writes.add(`part:${p.kind}/${p.name}`);
      else global = true;
    }
    this.steps++;
    if (known !== w.state.length) {
      // The next step compares the new list of parts.
      this.listParts();
    } else {
      this.before = after;
      this.beforeAt = this.world.now;
      this.beforeFor = this.steps;
    }
    return { reads: this.reads, writes: this.writes, counts: this.counts, global };
  }
}
