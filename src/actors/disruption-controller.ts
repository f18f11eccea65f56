import { Informer } from '../cluster/informer.js';
import type { PodDisruptionBudget } from '../cluster/objects.js';
import { objKey, selects } from '../cluster/objects.js';
import type { ControllerPlan } from '../cluster/plan.js';
import { ExponentialRateLimiter } from '../cluster/ratelimit.js';
import { Reconciler } from '../cluster/reconciler.js';
import type { World } from '../cluster/world.js';
import { QUOTA_CONTROLLER } from './quota-controller.js';

/**
 * kube-controller-manager's disruption controller (kubernetes pkg/controller/disruption/
 * disruption.go trySync / updatePdbStatus; read at a v1.31-era commit, the logic stable
 * across 1.2x–1.3x), for integer minAvailable: expectedPods = the matching pods (every phase),
 * desiredHealthy = minAvailable, currentHealthy = the matching Ready pods not being deleted,
 * disruptionsAllowed = max(0, currentHealthy − desiredHealthy), observedGeneration =
 * generation; one status write when anything changed. One worker; triggered by PDB events and
 * by events of the pods a PDB selects. A Running pod counts as Ready here.
 */
export function startDisruptionController(world: World): void {
  const cache = new Informer(world, `${QUOTA_CONTROLLER}/disruption`, ['PodDisruptionBudget', 'Pod']);

  function reconcile(key: string): ControllerPlan | undefined {
    const pdb = cache.get('PodDisruptionBudget', key);
    if (!pdb) return undefined;
    let expected = 0;
    let healthy = 0;
    for (const p of cache.list('Pod', pdb.metadata.namespace)) {
      if (!selects(pdb.spec.selector, p.metadata.labels)) continue;
      expected++;
      if (p.status.phase === 'Running') healthy++;
    }
    const desired = pdb.spec.minAvailable;
    const status: PodDisruptionBudget['status'] = {
      observedGeneration: pdb.metadata.generation ?? 1,
      expectedPods: expected,
      currentHealthy: healthy,
      desiredHealthy: desired,
      disruptionsAllowed: expected > 0 ? Math.max(0, healthy - desired) : 0,
    };
    const s = pdb.status;
    if (
      s.observedGeneration === status.observedGeneration &&
      s.expectedPods === status.expectedPods &&
      s.currentHealthy === status.currentHealthy &&
      s.desiredHealthy === status.desiredHealthy &&
      s.disruptionsAllowed === status.disruptionsAllowed
    ) {
      return undefined;
    }
    return { writes: [{ verb: 'updateStatus', object: { ...pdb, status } }] };
  }

  const ctl = new Reconciler(world, { actor: QUOTA_CONTROLLER, label: 'disruption-controller', limiter: new ExponentialRateLimiter(), reconcile });
  cache.on('PodDisruptionBudget', (_old, cur) => {
    if (cur) ctl.enqueue(objKey(cur));
  });
  cache.on('Pod', (old, cur) => {
    const p = cur ?? old;
    if (!p) return;
    // getPdbForPod: the first PDB whose selector matches the pod.
    const pdb = cache.list('PodDisruptionBudget', p.metadata.namespace).find((b) => selects(b.spec.selector, p.metadata.labels));
    if (pdb) ctl.enqueue(objKey(pdb));
  });
}
