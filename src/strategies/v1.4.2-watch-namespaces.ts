import type { KObject } from '../cluster/objects.js';
import { objKey } from '../cluster/objects.js';
import { defineStrategy, type View } from './api.js';
import { defaultQuota, namespaceValidator } from './harvester-quota.js';
import { quotaReconcile, vmimReconcile } from './v1.4.2.js';

/**
 * Alternative: v1.4.2, with its ResourceQuota controller also triggered by Namespace events.
 *
 * Rationale: quotarace found a rare v1.4.2 race (scenario edit-during-migration). The
 * controller reads the user's base from the namespace annotation through its namespace
 * cache, but it is registered only on ResourceQuota events (register.go: rqs.OnChange). When
 * Rancher's agent writes the new base into spec.hard, Harvester's quota event can arrive
 * before its namespace cache has the new annotation; it then writes the old base back, and
 * no later event corrects it (Rancher does not watch quotas). Enqueueing the namespace's
 * default quota on every Namespace event closes that gap: when the annotation arrives, the
 * quota is recomputed from it. A one-line change to register.go in Harvester.
 */
function keys(o: KObject, view: View): readonly string[] {
  if (o.kind !== 'Namespace') return [objKey(o)];
  const rq = defaultQuota(view, o.metadata.name);
  return rq ? [objKey(rq)] : [];
}

export default defineStrategy({
  name: 'v1.4.2-watch-namespaces',
  description: "v1.4.2, with the ResourceQuota controller also re-run when the namespace's quota annotation changes.",
  reconcilers: [
    { name: 'vm-migration-controller', watches: ['VirtualMachineInstanceMigration'], reconcile: vmimReconcile },
    { name: 'resourceQuotaController', watches: ['ResourceQuota', 'Namespace'], keys, reconcile: quotaReconcile },
  ],
  webhooks: [namespaceValidator('v1.4.2')],
});
