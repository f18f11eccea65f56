import type { ApiError } from '../../cluster/apiserver.js';
import type { EvictionApi } from '../../cluster/eviction.js';
import { keyOf } from '../../cluster/objects.js';
import type { World } from '../../sim/world.js';
import { LABEL_APP, LABEL_VM_NAME, VIRT_API } from './names.js';

const tooMany = (message: string): ApiError => ({ code: 429, reason: 'TooManyRequests', message });

/**
 * virt-api's eviction admitter (pkg/virt-api/webhooks/validating-webhook/admitters/
 * pod-eviction-admitter.go) for LiveMigrate VMIs: the first eviction marks the VMI for
 * evacuation (status.evacuationNodeName) and is refused with 429; later ones are refused
 * while the evacuation is in progress; a pod that is not the VMI's current one (a target, or
 * a source whose VMI has moved) is refused too, until it has completed.
 */
export function installEvictionWebhook(world: World, eviction: EvictionApi): void {
  eviction.addWebhook((_actor, pod) => {
    if (pod.metadata.labels[LABEL_APP] !== 'virt-launcher') return undefined;
    const vmiKey = keyOf({ namespace: pod.metadata.namespace, name: pod.metadata.labels[LABEL_VM_NAME] ?? '' });
    const vmi = world.api.get('VirtualMachineInstance', vmiKey);
    if (!vmi || vmi.spec.evictionStrategy !== 'LiveMigrate') return undefined;
    if (vmi.status.nodeName !== pod.spec.nodeName) return tooMany('Eviction request for target Pod');
    const what = `Eviction triggered evacuation of VMI "${vmiKey}"`;
    if (vmi.status.evacuationNodeName) return tooMany(`Evacuation in progress: ${what}`);
    world.api.update(VIRT_API, { ...vmi, metadata: { ...vmi.metadata, resourceVersion: 0 }, status: { ...vmi.status, evacuationNodeName: pod.spec.nodeName } });
    return tooMany(what);
  });
}
