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
  }

  private readonly resource: string;

  /**
   * A step that uses the queue changes it (its dirty set, FIFO, waits or limiter): footprint.
   * Its owner reports its own changes by it too (see Reconciler).
   */
  touch(): void {
    this.kernel.footprint?.write(this.resource);
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
    this.touch();
    if (this.shutDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.fifo.push(key);
    this.onReady();
  }

  addAfter(key: string, ms: number): void {
    this.touch();
    if (this.shutDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.kernel.now + ms;
    const pending = this.waiting.get(key);
    if (pending !== undefined && pending <= at) return;
    this.waiting.set(key, at);
    this.kernel.schedule(ms, () => {
      this.touch();
      if (this.waiting.get(key) !== at) return;
      this.waiting.delete(key);
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
    this.processing.add(key);
    this.dirty.delete(key);
    return key;
  }

  done(key: string): void {
    this.touch();
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.fifo.push(key);
      this.onReady();
    }
  }
}
