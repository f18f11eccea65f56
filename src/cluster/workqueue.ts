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
  }

  private readonly resource: string;

  /** A step that uses the queue changes it (its dirty set, FIFO, waits or limiter): footprint. */
  private touch(): void {
    this.kernel.footprint?.write(this.resource);
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
    this.touch();
    if (this.shutDown) return;
    const s = this.state(key);
    if (s.flags & DIRTY) return this.settle(s);
    s.flags |= DIRTY;
    if (s.flags & PROCESSING) return;
    this.fifo.push(key);
    this.onReady();
  }

  addAfter(key: string, ms: number): void {
    this.touch();
    if (this.shutDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.kernel.now + ms;
    const s = this.state(key);
    if (s.at >= 0 && s.at <= at) return;
    s.at = at;
    this.kernel.schedule(ms, () => {
      this.touch();
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
    this.touch();
    this.limiter.forget(key);
  }

  get(): string | undefined {
    this.touch();
    if (this.head >= this.fifo.length) return undefined;
    const key = this.fifo[this.head++]!;
    if (this.head > 64 && this.head * 2 > this.fifo.length) {
      this.fifo.splice(0, this.head);
      this.head = 0;
    }
    const s = this.state(key);
    s.flags = (s.flags | PROCESSING) & ~DIRTY;
    return key;
  }

  done(key: string): void {
    this.touch();
    const s = this.state(key);
    s.flags &= ~PROCESSING;
    if (s.flags & DIRTY) {
      this.fifo.push(key);
      this.onReady();
    } else this.settle(s);
  }
}
