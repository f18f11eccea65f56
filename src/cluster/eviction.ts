import type { ApiError, ApiResult } from './apiserver.js';
import type { ApiServer } from './apiserver.js';
import type { KObject, Pod } from './objects.js';
import { objKey, selects } from './objects.js';

/**
 * A validating webhook on pods/eviction: its answer (code and message, as the webhook's
 * AdmissionResponse carries them), or undefined to let the eviction proceed.
 */
export type EvictionWebhook = (actor: string, pod: Pod) => ApiError | undefined;

/**
 * A validating webhook's denial as the API server returns it (k8s.io/apiserver
 * pkg/admission/plugin/webhook/errors/statuserror.go ToStatusErr, read at v0.34.2 as vendored
 * by harvester/harvester; newer than the 1.30/1.31 Harvester v1.4.x runs, where the same text
 * is UNVERIFIED): the webhook's own code (at least 400) and reason kept, the message prefixed
 * with the webhook's name.
 */
export function webhookDenial(webhook: string, err: ApiError): ApiError {
  return { ...err, code: Math.max(400, err.code), message: `admission webhook "${webhook}" denied the request: ${err.message}` };
}

const EVICTION_ACTOR = 'kube-apiserver';

/**
 * The policy/v1 Eviction subresource (kubernetes pkg/registry/core/pod/storage/eviction.go
 * EvictionREST.Create; read at a v1.31-era commit):
 * - validating admission webhooks run first (KubeVirt's virt-api admitter), a denial
 *   wrapped as the API server wraps it (webhookDenial);
 * - canIgnorePDB: a pod that is Succeeded, Failed or Pending is deleted without a PDB check;
 * - otherwise the pod's PodDisruptionBudget decides: observedGeneration < generation or
 *   disruptionsAllowed == 0 → 429 "Cannot evict pod as it would violate the pod's disruption
 *   budget."; else disruptionsAllowed is decremented in a status write, then the pod deleted;
 * - a pod no PDB selects is deleted.
 * Graceful termination is folded into the delete: the pod's process stops at once.
 */
export class EvictionApi {
  private readonly webhooks: Array<{ readonly name: string; readonly admit: EvictionWebhook }> = [];

  constructor(private readonly api: ApiServer) {}

  addWebhook(name: string, admit: EvictionWebhook): void {
    this.webhooks.push({ name, admit });
  }

  evict(actor: string, podKey: string): ApiResult<KObject> {
    const api = this.api;
    const pod = api.get('Pod', podKey);
    if (!pod) return api.delete(actor, 'Pod', podKey);
    for (const w of this.webhooks) {
      const err = w.admit(actor, pod);
      if (err) return api.refuse(actor, 'evict', 'Pod', podKey, webhookDenial(w.name, err));
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
