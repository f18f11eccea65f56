import type { ApiError, ApiResult } from './apiserver.js';
import type { ApiServer } from './apiserver.js';
import type { KObject, Pod } from './objects.js';
import { objKey, selects } from './objects.js';

/** A validating webhook on pods/eviction: a refusal, or undefined to let the eviction proceed. */
export type EvictionWebhook = (actor: string, pod: Pod) => ApiError | undefined;

const EVICTION_ACTOR = 'kube-apiserver';

/**
 * The policy/v1 Eviction subresource (kubernetes pkg/registry/core/pod/storage/eviction.go
 * EvictionREST.Create; read at a v1.31-era commit):
 * - validating admission webhooks run first (KubeVirt's virt-api admitter);
 * - canIgnorePDB: a pod that is Succeeded, Failed or Pending is deleted without a PDB check;
 * - otherwise the pod's PodDisruptionBudget decides: observedGeneration < generation or
 *   disruptionsAllowed == 0 → 429 "Cannot evict pod as it would violate the pod's disruption
 *   budget."; else disruptionsAllowed is decremented in a status write, then the pod deleted;
 * - a pod no PDB selects is deleted.
 * Graceful termination is folded into the delete: the pod's process stops at once.
 */
export class EvictionApi {
  private readonly webhooks: EvictionWebhook[] = [];

  constructor(private readonly api: ApiServer) {}

  addWebhook(w: EvictionWebhook): void {
    this.webhooks.push(w);
  }

  evict(actor: string, podKey: string): ApiResult<KObject> {
    const api = this.api;
    const pod = api.get('Pod', podKey);
    if (!pod) return api.delete(actor, 'Pod', podKey);
    for (const w of this.webhooks) {
      const err = w(actor, pod);
      if (err) return api.refuse(actor, 'evict', 'Pod', podKey, err);
    }
    if (pod.status.phase !== 'Running') return api.delete(actor, 'Pod', podKey);
    const pdb = api.list('PodDisruptionBudget', pod.metadata.namespace).find((b) => selects(b.spec.selector, pod.metadata.labels));
    if (pdb) {
      if ((pdb.status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 1) || pdb.status.disruptionsAllowed <= 0) {
        return api.refuse(actor, 'evict', 'Pod', podKey, { code: 429, reason: 'TooManyRequests', message: "Cannot evict pod as it would violate the pod's disruption budget." });
      }
      const r = api.updateStatus(EVICTION_ACTOR, { ...pdb, status: { ...pdb.status, disruptionsAllowed: pdb.status.disruptionsAllowed - 1 } });
      if (!r.ok) return api.refuse(actor, 'evict', 'Pod', podKey, r.err);
    }
    return api.delete(actor, 'Pod', objKey(pod));
  }
}
