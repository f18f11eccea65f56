import type { ApiError } from '../../cluster/apiserver.js';
import type { EvictionApi } from '../../cluster/eviction.js';
import { keyOf } from '../../cluster/objects.js';
import type { World } from '../../cluster/world.js';
import { LABEL_APP, LABEL_VM_NAME, VIRT_API } from './names.js';

/**
 * The webhook's name (v1.3.1 pkg/virt-operator/resource/generate/components/webhooks.go):
 * the API server names it in the denial it returns.
 */
export const EVICTION_WEBHOOK = 'virt-launcher-eviction-interceptor.kubevirt.io';

/**
 * denied(): Code 429 and the message; KubeVirt sets no reason, so the client sees an empty
 * one (kubectl drain retries on the code: apimachinery errors.IsTooManyRequests). The trace
 * names the code's reason, TooManyRequests.
 */
const tooMany = (message: string): ApiError => ({ code: 429, reason: 'TooManyRequests', message });

/**
 * virt-api's eviction admitter, KubeVirt v1.3.1 (pkg/virt-api/webhooks/validating-webhook/
 * admitters/pod-eviction-admitter.go PodEvictionAdmitter.Admit): for a running virt-launcher
 * pod of a LiveMigrate VMI that is not yet marked for evacuation and still runs on the pod's
 * node, mark it (status.evacuationNodeName) and refuse with 429 "Eviction triggered evacuation
 * of VMI" (the API server prefixes `admission webhook "virt-launcher-eviction-interceptor.kubevirt.io"
 * denied the request: `); everything else is allowed, and the VMI's PodDisruptionBudget
 * decides (the eviction API's check). evictionStrategy None: allowed, and no PDB guards the
 * pod, so the eviction deletes it (the VMI stops). The refusals "Evacuation in progress" and "Eviction request for target Pod"
 * are KubeVirt v1.5.0's, not modelled.
 */
export function installEvictionWebhook(world: World, eviction: EvictionApi): void {
  eviction.addWebhook(EVICTION_WEBHOOK, (_actor, pod) => {
    if (pod.metadata.labels[LABEL_APP] !== 'virt-launcher') return undefined;
    if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') return undefined;
    const vmiKey = keyOf({ namespace: pod.metadata.namespace, name: pod.metadata.labels[LABEL_VM_NAME] ?? '' });
    const vmi = world.api.get('VirtualMachineInstance', vmiKey);
    if (!vmi || vmi.spec.evictionStrategy !== 'LiveMigrate') return undefined;
    if (vmi.status.evacuationNodeName || vmi.status.nodeName !== pod.spec.nodeName) return undefined;
    world.api.update(VIRT_API, { ...vmi, metadata: { ...vmi.metadata, resourceVersion: 0 }, status: { ...vmi.status, evacuationNodeName: pod.spec.nodeName } });
    return tooMany(`Eviction triggered evacuation of VMI "${vmiKey}"`);
  });
}
