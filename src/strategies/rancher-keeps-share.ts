import type { ResourceList } from '../cluster/resources.js';
import type { ResourceQuota } from '../cluster/objects.js';
import { defineStrategy } from './api.js';
import { hardWithDeltas, migratingDeltas, namespaceValidator } from './harvester-quota.js';
import { reconcile as v141Reconcile } from './pre-fix.js';

/**
 * Alternative: fix it on Rancher's side, leave Harvester at v1.4.1.
 *
 * Rationale: the race is Rancher's agent overwriting spec.hard with the namespace annotation
 * while Harvester's raise is in place. If the agent added the deltas Harvester records in the
 * quota's harvesterhci.io/migrating-* annotations (which it already preserves, since it only
 * replaces the spec), its reset would keep Harvester's share, and Harvester's later
 * subtraction would land on base + δ − δ = base. A Rancher engineer could ship this without a
 * Harvester release. What it cannot fix: v1.4.1's name-keyed annotations (long VM names) and
 * its memory delta without the overhead ratio, which are Harvester's.
 */
function keepShare(requested: ResourceList, existing: ResourceQuota): ResourceList {
  return hardWithDeltas(requested, migratingDeltas(existing), { rule: 'v1.4.1' });
}

export default defineStrategy({
  name: 'rancher-keeps-share',
  description:
    "Harvester v1.4.1 with a Rancher-side fix: the cluster agent writes the annotation's quota plus the deltas of Harvester's migrating annotations, so its reset keeps Harvester's share.",
  reconcilers: [{ name: 'vm-migration-controller', watches: ['VirtualMachineInstanceMigration'], reconcile: v141Reconcile }],
  webhooks: [namespaceValidator('v1.4.1')],
  agentQuotaSync: keepShare,
});
