import { Informer } from '../cluster/informer.js';
import { objKey } from '../cluster/objects.js';
import { LassoRateLimiter } from '../cluster/ratelimit.js';
import { Reconciler } from '../cluster/reconciler.js';
import type { World } from '../sim/world.js';
import { ANN_RANCHER_QUOTA } from './rancher-quota.js';
import { rancherQuotaSync, type QuotaDerivation } from './rancher-quota-sync.js';

/** The actor of the Rancher server's writes to the downstream cluster (made through the agent's tunnel). */
export const RANCHER = 'rancher';

/** Whether an actor is Rancher's quota sync (what explanations call Rancher's reset). */
export function isRancherActor(actor: string): boolean {
  return actor === RANCHER;
}

/**
 * The Rancher server's user controllers for this cluster (rancher v2.10.3: pkg/clustermanager/
 * manager.go doStart → pkg/controllers/managementuser/controllers.go Register →
 * resourcequota.Register): Rancher's quota sync runs in the Rancher server, not in the
 * cluster agent, and reaches the cluster through the agents' tunnel.
 * - Its informers (Namespaces, ResourceQuotas) receive watch events after the cache lag plus
 *   the tunnel's latency; its API requests pay the tunnel's latency too.
 * - While no agent holds a session (the tunnel is down), its watches are broken and its
 *   requests fail; the controllers themselves keep running (clusterconnected only marks the
 *   cluster disconnected).
 * - When the tunnel comes back, client-go's reflector re-lists (a watch that failed through a
 *   missing tunnel session returns an error, so ListAndWatch lists again), Replace calls
 *   OnUpdate for every cached object, and lasso enqueues every one of them
 *   (CATTLE_SYNC_ONLY_CHANGED_OBJECTS is unset by default, pkg/controllers/options.go): every
 *   namespace is synced, which is what resets quotas after an agent restart. Whether losing
 *   one of two agents re-lists the watches carried by its session is not known (UNVERIFIED):
 *   the model says no.
 * - A change of a namespace's quota annotation changes its project's UsedLimit
 *   (resourceQuotaUsedLimitController) and the Project event re-enqueues every namespace of
 *   the project (resourceQuotaNamespacesReconcileController): the model takes every namespace
 *   to be in one project.
 * Not modelled: the 10 h lasso resync, user-controller restarts on cluster status changes.
 */
export class RancherServer {
  private readonly cache: Informer;
  private tunnelUp = true;

  constructor(
    private readonly world: World,
    derive: QuotaDerivation | undefined,
  ) {
    const cache = (this.cache = new Informer(world, RANCHER, ['Namespace', 'ResourceQuota'], 'cacheLag', 'tunnel'));
    const sync = new Reconciler(world, {
      actor: RANCHER,
      label: `${RANCHER}/resourceQuotaSyncController`,
      limiter: new LassoRateLimiter(),
      extraLatency: 'tunnel',
      reconcile: rancherQuotaSync(cache, () => world.now, derive),
      available: () => (this.tunnelUp ? undefined : 'cluster agent is not connected'),
    });
    cache.on('Namespace', (old, cur) => {
      if (!cur) return;
      sync.enqueue(objKey(cur));
      if (old && old.metadata.annotations[ANN_RANCHER_QUOTA] !== cur.metadata.annotations[ANN_RANCHER_QUOTA]) {
        // The project's UsedLimit changes, and its Project event re-syncs every namespace.
        world.kernel.schedule(world.draw('apiCall', `${RANCHER}/project`), () => {
          for (const ns of cache.list('Namespace')) sync.enqueue(objKey(ns));
        }, { actor: `${RANCHER}/resourceQuotaNamespacesReconcileController` });
      }
    });
    world.registerState('script', RANCHER, () => String(this.tunnelUp));
  }

  /** The agents' tunnel went down or came back up. */
  tunnel(up: boolean): void {
    if (up === this.tunnelUp) return;
    this.tunnelUp = up;
    if (!up) {
      this.world.recorder.event(RANCHER, { type: 'tunnel-lost' });
      this.cache.disconnect();
      return;
    }
    this.world.recorder.event(RANCHER, { type: 'tunnel-back' });
    this.cache.relist();
  }

  get connected(): boolean {
    return this.tunnelUp;
  }
}
