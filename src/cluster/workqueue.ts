import type { Kernel } from '../kernel/kernel.js';
import type { RateLimiter } from './ratelimit.js';

/**
 * client-go's rate-limiting workqueue (util/workqueue queue.go, delaying_queue.go):
 * a key is queued at most once (dirty set); a key added while it is being processed is
 * queued again when done; AddAfter keeps only the earliest pending time for a key;
 * AddRateLimited waits the limiter's delay.
 */
export class WorkQueue {
  private readonly fifo: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, number>();
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
   * with a report of it (explore/dependency.ts, verify). The rate limiter's failures are per
   * key (its state key lists them as `key#n`).
   */
  footprintParts(out: Map<string, string>): void {
    out.set(this.headResource, String(this.taken));
    out.set(this.tailResource, String(this.appended));
    out.set(this.aliveResource, String(this.shutDown));
    const now = this.kernel.now;
    for (const k of this.dirty) out.set(`${this.resource}/${k}`, 'dirty');
    for (const k of this.processing) out.set(`${this.resource}/${k}`, `${out.get(`${this.resource}/${k}`) ?? ''}processing`);
    for (const [k, t] of this.waiting) out.set(`${this.resource}/${k}`, `${out.get(`${this.resource}/${k}`) ?? ''}+${t - now}`);
    for (const entry of this.limiter.stateKey().split(',')) {
      const at = entry.lastIndexOf('#');
      if (at < 0) continue;
      const part = `${this.resource}/${entry.slice(0, at)}`;
      out.set(part, `${out.get(part) ?? ''}~${entry.slice(at + 1)}`);
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
    const waiting = [...this.waiting].map(([k, t]) => `${k}+${t - now}`).sort();
    return `${this.fifo.slice(this.head).join(',')}|${[...this.dirty].sort().join(',')}|${[...this.processing].sort().join(',')}|${waiting.join(',')}`;
  }

  get length(): number {
    return this.fifo.length - this.head;
  }

  add(key: string): void {
    this.touchKey(key);
    if (this.shutDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.append(key);
    this.onReady();
  }

  addAfter(key: string, ms: number): void {
    this.touchKey(key);
    if (this.shutDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.kernel.now + ms;
    const pending = this.waiting.get(key);
    if (pending !== undefined && pending <= at) return;
    this.waiting.set(key, at);
    this.kernel.schedule(ms, () => {
      this.touchKey(key);
      if (this.waiting.get(key) !== at) return;
      this.waiting.delete(key);
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
    this.processing.add(key);
    this.dirty.delete(key);
    return key;
  }

  done(key: string): void {
    this.touchKey(key);
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.append(key);
      this.onReady();
    }
  }
}
