import type { Informer } from '../../cluster/informer.js';
import type { VirtualMachineInstance, VirtualMachineInstanceMigration } from '../../cluster/objects.js';
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
 * follows Go map iteration order (`migrationCandidates[0:freeSpots]` over the informer's
 * ByIndex, no sort): not defined, so it is a choice (`pick`: Choices.picked).
 */
export function evacuationReconciler(
  cache: Informer,
  expectations: Expectations,
  pick: (vmis: readonly VirtualMachineInstance[], count: number) => VirtualMachineInstance[],
): (node: string) => ControllerPlan | undefined {
  return (node) => {
    if (!expectations.satisfied(node)) return undefined;
    const { busy, running, outbound: fromNode } = cache.indexed('VirtualMachineInstanceMigration').derived('active', '', UNFINISHED, unfinished);
    const outbound = fromNode.get(node) ?? 0;
    // The VMIs marked for evacuation from this node, in the cache's order, that can go now:
    // kept with the node's bucket of marked VMIs for the unfinished migrations' summary they
    // were filtered against (a drain of hundreds of VMs passes over them again and again).
    const marked = cache.indexed('VirtualMachineInstance').derived('evacuation', node, MARKED, markedOn);
    if (marked.vmis.length === 0) return undefined;
    if (marked.against !== busy) {
      marked.against = busy;
      marked.candidates = marked.vmis.filter(
        (v) =>
          v.status.nodeName === node &&
          v.spec.evictionStrategy === 'LiveMigrate' &&
          !(v.status.migrationUid && !v.status.migrationCompleted) &&
          !busy.has(objKey(v)),
      );
    }
    const candidates = marked.candidates;
    if (candidates.length === 0) return undefined;
    const free = Math.min(PARALLEL_MIGRATIONS_PER_CLUSTER - running, PARALLEL_OUTBOUND_PER_NODE - outbound);
    if (free <= 0) return { requeueAfter: LIMIT_REQUEUE_MS };
    const chosen = pick(candidates, free);
    return { writes: chosen.map((vmi) => ({ verb: 'create' as const, object: newMigration(vmi, 'kubevirt-evacuation-', { [ANN_EVACUATION]: node }), expect: node })) };
  };
}

/** A node's VMIs marked for evacuation, and those of them that can go while `against` holds. */
interface Marked {
  readonly vmis: readonly VirtualMachineInstance[];
  against: ReadonlySet<string> | undefined;
  candidates: readonly VirtualMachineInstance[];
}

/** Names the list kept with a node's marked VMIs (ObjectStore.derived). */
const MARKED = {};

function markedOn(vmis: Iterable<VirtualMachineInstance>): Marked {
  return { vmis: [...vmis], against: undefined, candidates: [] };
}

/**
 * What the unfinished migrations say: the VMIs they name (busy), how many run, and how many
 * run from each source node. Kept with the cache's unfinished migrations (ObjectStore.derived
 * on the 'active' index) until one of them changes: every node's pass of a drain of hundreds
 * of VMs would otherwise rebuild it from every unfinished migration. Counts and membership
 * do not depend on the scan's order.
 */
interface Unfinished {
  readonly busy: ReadonlySet<string>;
  readonly running: number;
  readonly outbound: ReadonlyMap<string | undefined, number>;
}

/** Names the summary kept with the unfinished migrations (ObjectStore.derived). */
const UNFINISHED = {};

const NONE_UNFINISHED: Unfinished = { busy: new Set(), running: 0, outbound: new Map() };

function unfinished(vmims: Iterable<VirtualMachineInstanceMigration>): Unfinished {
  let busy: Set<string> | undefined;
  let running = 0;
  const outbound = new Map<string | undefined, number>();
  for (const m of vmims) {
    (busy ??= new Set()).add(keyOf({ namespace: m.metadata.namespace, name: m.spec.vmiName }));
    if (migrationRunning(m.status.phase)) {
      running++;
      outbound.set(m.status.sourceNode, (outbound.get(m.status.sourceNode) ?? 0) + 1);
    }
  }
  return busy ? { busy, running, outbound } : NONE_UNFINISHED;
}
