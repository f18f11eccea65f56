import type { Informer } from '../../cluster/informer.js';
import type { VirtualMachineInstance } from '../../cluster/objects.js';
import { keyOf, migrationRunning, objKey } from '../../cluster/objects.js';
import type { ControllerPlan } from '../../cluster/plan.js';
import type { Expectations } from '../../cluster/reconciler.js';
import { ANN_EVACUATION, LIMIT_REQUEUE_MS, PARALLEL_MIGRATIONS_PER_CLUSTER, PARALLEL_OUTBOUND_PER_NODE } from './names.js';
import { newMigration } from './templates.js';

/**
 * KubeVirt v1.3's evacuation controller (pkg/virt-controller/watch/drain/evacuation/
 * evacuation.go), keyed by node: the VMIs marked for evacuation from the node
 * (status.evacuationNodeName) that still run there, are LiveMigrate, are not migrating
 * (filterRunningNonMigratingVMIs) and have no unfinished migration get a new VMIM each, as
 * many as the parallel limits leave free (FilterRunningMigrations counts running phases
 * only: a Pending, quota-rejected migration does not hold a slot). Creations are expected
 * per node (migrationExpectations) until the VMIM informer sees them. Which VMIs go first
 * follows Go map iteration order: not defined, so it is drawn (`shuffle`).
 */
export function evacuationReconciler(
  cache: Informer,
  expectations: Expectations,
  shuffle: (vmis: readonly VirtualMachineInstance[]) => VirtualMachineInstance[],
): (node: string) => ControllerPlan | undefined {
  return (node) => {
    if (!expectations.satisfied(node)) return undefined;
    const busy = new Set<string>();
    let running = 0;
    let outbound = 0;
    for (const m of cache.indexed('VirtualMachineInstanceMigration').view('active', '')) {
      busy.add(keyOf({ namespace: m.metadata.namespace, name: m.spec.vmiName }));
      if (migrationRunning(m.status.phase)) {
        running++;
        if (m.status.sourceNode === node) outbound++;
      }
    }
    // The VMIs marked for evacuation from this node, in the cache's order.
    const candidates = cache
      .indexed('VirtualMachineInstance')
      .select('evacuation', node)
      .filter(
        (v) =>
          v.status.nodeName === node &&
          v.spec.evictionStrategy === 'LiveMigrate' &&
          !(v.status.migrationUid && !v.status.migrationCompleted) &&
          !busy.has(objKey(v)),
      );
    if (candidates.length === 0) return undefined;
    const free = Math.min(PARALLEL_MIGRATIONS_PER_CLUSTER - running, PARALLEL_OUTBOUND_PER_NODE - outbound);
    if (free <= 0) return { requeueAfter: LIMIT_REQUEUE_MS };
    const chosen = shuffle(candidates).slice(0, free);
    return { writes: chosen.map((vmi) => ({ verb: 'create' as const, object: newMigration(vmi, 'kubevirt-evacuation-', { [ANN_EVACUATION]: node }), expect: node })) };
  };
}
