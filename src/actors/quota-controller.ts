import { Informer } from '../cluster/informer.js';
import type { Plan } from '../cluster/plan.js';
import { Reconciler } from '../cluster/reconciler.js';
import type { Pod, ResourceQuota } from '../cluster/objects.js';
import { objKey, podCountsForQuota } from '../cluster/objects.js';
import { ExponentialRateLimiter } from '../cluster/ratelimit.js';
import { equal } from '../cluster/resources.js';
import { launcherPodUsage } from '../cluster/usage.js';
import type { World } from '../cluster/world.js';

export const QUOTA_CONTROLLER = 'kube-controller-manager';

/** --resource-quota-sync-period default (pkg/controller/resourcequota/config/v1alpha1/defaults.go). */
export const QUOTA_RESYNC_MS = 5 * 60_000;

/**
 * kube-controller-manager's resourcequota controller
 * (kubernetes pkg/controller/resourcequota/resource_quota_controller.go):
 * - enqueues a quota when it is added or its spec.hard changes (status-only updates are ignored);
 * - the QuotaMonitor replenishes: a pod that stops counting (Succeeded/Failed) or is deleted
 *   enqueues every quota of its namespace (pkg/quota/v1/install update filter); pod
 *   creation does not (usage rises through admission);
 * - every 5 min all quotas are enqueued (enqueueAll);
 * - syncResourceQuota recomputes used from the pod cache, sets status.hard = spec.hard and
 *   writes status only if it changed, with the cached resourceVersion (409 → AddRateLimited).
 * Its two queues (primary and missing-usage) are one here: they differ only in priority.
 */
/** Names the usage kept with a namespace's pods (ObjectStore.derived). */
const NAMESPACE_USAGE = {};

/**
 * The quota usage of the pods that count, per key, summed in store order from 0: what
 * syncResourceQuota adds up for each key of spec.hard (a key no pod uses is absent, i.e. 0).
 */
function sumUsage(pods: Iterable<Pod>): Readonly<Record<string, number>> {
  const total: Record<string, number> = {};
  for (const p of pods) {
    if (!podCountsForQuota(p)) continue;
    const u = launcherPodUsage(p);
    for (const k in u) total[k] = (total[k] ?? 0) + u[k]!;
  }
  return total;
}

export function startQuotaController(world: World): void {
  const cache = new Informer(world, QUOTA_CONTROLLER, ['ResourceQuota', 'Pod']);
  function reconcile(key: string): Plan | undefined {
    const rq = cache.get('ResourceQuota', key);
    if (!rq) return undefined;
    const hard = rq.spec.hard;
    // The namespace's usage, summed once per change of its pods (a resync of an idle
    // namespace sums nothing again): the same sums, each key's pods in store order.
    const usage = cache.indexed('Pod').derived('namespace', rq.metadata.namespace, NAMESPACE_USAGE, sumUsage);
    const used: Record<string, number> = {};
    for (const k in hard) used[k] = usage[k] ?? 0;
    if (equal(rq.status.hard, hard) && equal(rq.status.used, used)) return undefined;
    const next: ResourceQuota = { ...rq, status: { hard, used } };
    return { writes: [{ verb: 'updateStatus', object: next }] };
  }

  const ctl = new Reconciler(world, {
    actor: QUOTA_CONTROLLER,
    label: 'resourcequota-controller',
    limiter: new ExponentialRateLimiter(),
    workers: 5,
    reconcile,
  });
  const replenish = (ns: string): void => {
    for (const q of cache.list('ResourceQuota', ns)) ctl.enqueue(objKey(q));
  };
  cache.on('ResourceQuota', (old, cur) => {
    if (!cur) return;
    if (old && equal(old.spec.hard, cur.spec.hard)) return;
    ctl.enqueue(objKey(cur));
  });
  cache.on('Pod', (old, cur) => {
    if (old && !cur) replenish(old.metadata.namespace);
    else if (old && cur && podCountsForQuota(old) && !podCountsForQuota(cur)) replenish(cur.metadata.namespace);
  });
  const resync = (): void => {
    for (const q of cache.list('ResourceQuota')) ctl.enqueue(objKey(q));
    world.kernel.schedule(QUOTA_RESYNC_MS, resync, { background: true });
  };
  world.kernel.schedule(QUOTA_RESYNC_MS, resync, { background: true });
}
