/**
 * Per-item rate limiters as the real controllers configure their workqueues.
 * `when(key)` returns the delay for the next retry and counts a failure; `forget(key)`
 * resets the count after a successful sync.
 */
export interface RateLimiter {
  when(key: string): number;
  forget(key: string): void;
  /** The failure counts, for the state key: the next delay depends on them. */
  stateKey(): string;
  /** The failure count per key (exhaustive exploration's footprint check reads it per key). */
  readonly failures: ReadonlyMap<string, number>;
}

function failuresKey(failures: ReadonlyMap<string, number>): string {
  if (failures.size === 0) return '';
  return [...failures].map(([k, n]) => `${k}#${n}`).sort().join(',');
}

/**
 * client-go util/workqueue default_rate_limiters.go DefaultControllerRateLimiter:
 * MaxOf(ItemExponentialFailureRateLimiter(5ms, 1000s), BucketRateLimiter(10 qps, 100)).
 * The bucket never binds at this simulation's request rates, so only the exponential part
 * is modelled. Used by kube-controller-manager's quota controller and by KubeVirt 1.3's
 * migration and evacuation controllers (pkg/virt-controller/watch/migration.go).
 */
export class ExponentialRateLimiter implements RateLimiter {
  readonly failures = new Map<string, number>();

  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {}

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  stateKey(): string {
    return failuresKey(this.failures);
  }
}

/**
 * rancher/lasso pkg/controller/controller.go applyDefaultOptions (lasso v0.2.0, used by
 * Harvester's wrangler controllers and Rancher's agent through norman):
 * MaxOf(ItemFastSlowRateLimiter(1ms, 2min, 30), ItemExponentialFailureRateLimiter(5ms, 30s)).
 */
export class LassoRateLimiter implements RateLimiter {
  readonly failures = new Map<string, number>();

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const fastSlow = n + 1 <= 30 ? 1 : 120_000;
    const exponential = Math.min(5 * 2 ** n, 30_000);
    return Math.max(fastSlow, exponential);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  stateKey(): string {
    return failuresKey(this.failures);
  }
}
