import { defineStrategy } from './api.js';
import { namespaceValidator } from './harvester-quota.js';
import { vmimReconcile } from './v1.4.2.js';

/**
 * Alternative: opt out of auto-scaling (harvesterhci.io/skipResourceQuotaAutoScaling: "true",
 * available as of v1.4.2, harvester/docs #734).
 *
 * Rationale: the simplest way to end a race between two writers is to have one. With the
 * annotation Harvester never touches the quota, so Rancher's value always stands; the price
 * is that a live migration needs the target pod to fit in the user's own headroom, and a
 * drain of a node whose VMs fill the quota cannot move them. Modelled as v1.4.2 with every
 * quota opted out: the quota controller skips it, but v1.4.2's VMIM controller (which has no
 * skip check) still writes the migration annotation, so the namespace webhook refuses quota
 * edits while a migration waits, and a migration refused by quota can wait for ever.
 */
export default defineStrategy({
  name: 'skip-autoscaling',
  description: 'Every quota annotated harvesterhci.io/skipResourceQuotaAutoScaling=true: Harvester never scales it; migrations must fit the user quota.',
  reconcilers: [{ name: 'vm-migration-controller', watches: ['VirtualMachineInstanceMigration'], reconcile: vmimReconcile }],
  webhooks: [namespaceValidator('v1.4.2')],
});
