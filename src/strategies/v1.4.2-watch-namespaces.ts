import type { KObject } from '../cluster/objects.js';
import { objKey } from '../cluster/objects.js';
import { defineStrategy, type View } from './api.js';
import { defaultQuota, namespaceValidator } from './harvester-quota.js';
import { quotaReconcile, vmimReconcile } from './v1.4.2.js';

/**
 * Alternative: v1.4.2, with its ResourceQuota controller also triggered by Namespace events.
 *
 * Rationale: v1.4.2's controller reads the user's base from the namespace annotation through
 * its namespace cache, but it is registered only on ResourceQuota events (register.go:
 * rqs.OnChange). When Rancher's agent writes a user's new base into spec.hard, Harvester's
 * quota event can arrive before its namespace cache has the new annotation, and it writes
 * the old base back (seed 69 of edit-during-migration shows it). What heals this in v1.4.2 is
 * Rancher: its condition write on the namespace makes it sync the namespace once more and
 * rewrite the new base. Enqueueing the namespace's default quota on every Namespace event
 * heals it from Harvester's side, without depending on that Rancher behaviour (which a
 * Rancher change that skips unchanged conditions would remove). A one-line change to
 * register.go in Harvester.
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
