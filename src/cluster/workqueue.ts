import type { Kernel } from '../kernel/kernel.js';
import type { RateLimiter } from './ratelimit.js';

/** Queued and not yet handed to a worker (client-go's dirty set). */
const DIRTY = 1;
/** Held by a worker (client-go's processing set). */
const PROCESSING = 2;

/** What the queue knows of one key: its DIRTY/PROCESSING flags and its pending AddAfter time (-1: none). */
interface KeyState {
  flags: number;
  at: number;
}

/**
 * client-go's rate-limiting workqueue (util/workqueue queue.go, delaying_queue.go):
 * a key is queued at most once (dirty set); a key added while it is being processed is
 * queued again when done; AddAfter keeps only the earliest pending time for a key;
 * AddRateLimited waits the limiter's delay.
 *
 * The dirty set, the processing set and the waiting times are one record per key, kept
 * while the key is idle: a Set or Map that empties as each key is handled reallocates its
 * table on the way (V8 shrinks an emptied hash table and grows it again on the next add),
 * and a queue's keys come and go on nearly every event of a controller. Idle records are
 * swept once they are most of the table.
 */
export class WorkQueue {
  private readonly fifo: string[] = [];
  private head = 0;
  private readonly keys = new Map<string, KeyState>();
  /** Records with no flag and no pending time. */
  private idle = 0;
  /** The record looked up last: a pass's calls (get, forget, addAfter, done) name one key in a row. */
  private lastKey: string | undefined;
  private lastState: KeyState | undefined;
  shutDown = false;

  constructor(
    private readonly kernel: Kernel,
    private readonly limiter: RateLimiter,
    private readonly onReady: () => void,
    /** Its owner's name: exhaustive exploration's footprint names the queue by it. */
    name = '',
  ) {
    this.resource = `queue:${name}`;
    this.headResource = `${this.resource}#head`;
    this.tailResource = `${this.resource}#tail`;
    this.aliveResource = `${this.resource}#alive`;
  }

  /**
   * Exhaustive exploration's footprint names the queue's state by parts, so that steps on
   * different keys commute: `queue:<name>/<key>` (the key's dirty, processing and waiting
   * state, its rate-limiter failures, and its owner's pass over it); the FIFO's two ends,
   * `#tail` (written by an append: appends keep their order; read by a get that finds the
   * queue empty) and `#head` (counted by a get that takes a key: an append and a get that
   * takes a key commute; two gets that take keys commute because the workers that call them
   * are interchangeable: same code, same actor, same latencies, so which worker takes which
   * key changes nothing the state shows or the future does); `#alive` (shut down or not;
   * every operation reads it).
   */
  readonly resource: string;
  private readonly headResource: string;
  private readonly tailResource: string;
  private readonly aliveResource: string;
  /** Appends and takes so far: only to tell the footprint's check which end changed. */
  private appended = 0;
  private taken = 0;

  /** A step changes the key's own state (footprint). */
  touchKey(key: string): void {
    const fp = this.kernel.footprint;
    if (fp) {
      fp.read(this.aliveResource);
      fp.write(`${this.resource}/${key}`);
    }
  }

  /** A key joins the FIFO. */
  private append(key: string): void {
    this.kernel.footprint?.write(this.tailResource);
    this.appended++;
    this.fifo.push(key);
  }

  /**
   * Per part of the footprint, its state now: tests check that every change of a part came
   * with a report of it (explore/dependency.ts, verify). The rate limiter's failures are per key.
   */
  footprintParts(out: Map<string, string>): void {
    out.set(this.headResource, String(this.taken));
    out.set(this.tailResource, String(this.appended));
    out.set(this.aliveResource, String(this.shutDown));
    const now = this.kernel.now;
    for (const [k, s] of this.keys) {
      if (s.flags === 0 && s.at < 0) continue;
      out.set(`${this.resource}/${k}`, `${s.flags}${s.at >= 0 ? `+${s.at - now}` : ''}`);
    }
    for (const [k, n] of this.limiter.failures) {
      const part = `${this.resource}/${k}`;
      out.set(part, `${out.get(part) ?? ''}~${n}`);
    }
  }

  /** Shut the queue down (every later operation is a no-op). */
  shut(): void {
    this.kernel.footprint?.write(this.aliveResource);
    this.shutDown = true;
  }

  /** Queue contents, with delays relative to now (for state hashing). */
  stateKey(): string {
    const now = this.kernel.now;
    const dirty: string[] = [];
    const processing: string[] = [];
    const waiting: string[] = [];
    for (const [k, s] of this.keys) {
      if (s.flags & DIRTY) dirty.push(k);
      if (s.flags & PROCESSING) processing.push(k);
      if (s.at >= 0) waiting.push(`${k}+${s.at - now}`);
    }
    return `${this.fifo.slice(this.head).join(',')}|${dirty.sort().join(',')}|${processing.sort().join(',')}|${waiting.sort().join(',')}`;
  }

  get length(): number {
    return this.fifo.length - this.head;
  }

  /** The key's record, made busy (no longer counted idle). */
  private state(key: string): KeyState {
    let s = key === this.lastKey ? this.lastState : this.keys.get(key);
    if (s === undefined) {
      s = { flags: 0, at: -1 };
      this.keys.set(key, s);
    } else if (s.flags === 0 && s.at < 0) this.idle--;
    this.lastKey = key;
    this.lastState = s;
    return s;
  }

  /** Count a record idle if it is, and sweep idle records once they are most of the table. */
  private settle(s: KeyState): void {
    if (s.flags !== 0 || s.at >= 0) return;
    if (++this.idle <= 64 || this.idle * 2 <= this.keys.size) return;
    for (const [k, r] of this.keys) if (r.flags === 0 && r.at < 0) this.keys.delete(k);
    this.idle = 0;
    this.lastKey = this.lastState = undefined;
  }

  add(key: string): void {
    this.touchKey(key);
    if (this.shutDown) return;
    const s = this.state(key);
    if (s.flags & DIRTY) return this.settle(s);
    s.flags |= DIRTY;
    if (s.flags & PROCESSING) return;
    this.append(key);
    this.onReady();
  }

  addAfter(key: string, ms: number): void {
    this.touchKey(key);
    if (this.shutDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.kernel.now + ms;
    const s = this.state(key);
    if (s.at >= 0 && s.at <= at) return;
    s.at = at;
    this.kernel.schedule(ms, () => {
      this.touchKey(key);
      if (s.at !== at || this.keys.get(key) !== s) return;
      s.at = -1;
      this.settle(s);
      this.add(key);
    });
  }

  addRateLimited(key: string): void {
    this.addAfter(key, this.limiter.when(key));
  }

  forget(key: string): void {
    this.touchKey(key);
    this.limiter.forget(key);
  }

  get(): string | undefined {
    if (this.head >= this.fifo.length) {
      this.kernel.footprint?.read(this.tailResource);
      return undefined;
    }
    this.kernel.footprint?.count(this.headResource);
    this.taken++;
    const key = this.fifo[this.head++]!;
    this.touchKey(key);
    if (this.head > 64 && this.head * 2 > this.fifo.length) {
      this.fifo.splice(0, this.head);
      this.head = 0;
    }
    const s = this.state(key);
    s.flags = (s.flags | PROCESSING) & ~DIRTY;
    return key;
  }

  done(key: string): void {
    this.touchKey(key);
    const s = this.state(key);
    s.flags &= ~PROCESSING;
    if (s.flags & DIRTY) {
      this.append(key);
      this.onReady();
    } else this.settle(s);
  }
}
