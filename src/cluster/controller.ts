import type { Process } from '../kernel/kernel.js';
import type { World } from '../sim/world.js';
import type { RateLimiter } from './ratelimit.js';
import { WorkQueue } from './workqueue.js';

/**
 * What a sync returns: done (Forget), an error (AddRateLimited, as every
 * client-go/lasso controller does on a returned error), or a plain re-queue after a delay.
 */
export type SyncResult = undefined | { error: string } | { after: number };

export type Sync = (key: string) => Process<SyncResult>;

/**
 * A level-triggered controller: a workqueue of keys and workers that take a key, spend
 * the reconcile latency, then run the sync (which may yield around each API request).
 */
export class Controller {
  readonly queue: WorkQueue;
  private busy = 0;
  private readonly rng: string;
  alive = true;

  constructor(
    private readonly world: World,
    readonly name: string,
    limiter: RateLimiter,
    private readonly sync: Sync,
    private readonly workers = 1,
  ) {
    this.rng = `${name}/work`;
    this.queue = new WorkQueue(world.kernel, limiter, () => this.kick());
    world.stateParts.push(() => (this.alive ? `${name}:${this.busy}:${this.queue.stateKey()}` : ''));
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  stop(): void {
    this.alive = false;
    this.queue.shutDown = true;
  }

  private kick(): void {
    if (!this.alive || this.busy >= this.workers) return;
    this.busy++;
    this.world.kernel.spawn(this.work(), 0, this.name);
  }

  private *work(): Process {
    for (;;) {
      const key = this.queue.get();
      if (key === undefined || !this.alive) break;
      yield this.world.draw('reconcile', this.rng);
      if (!this.alive) break;
      const r = yield* this.sync(key);
      if (r === undefined) this.queue.forget(key);
      else if ('error' in r) this.queue.addRateLimited(key);
      else {
        this.queue.forget(key);
        this.queue.addAfter(key, r.after);
      }
      this.queue.done(key);
    }
    this.busy--;
  }
}
