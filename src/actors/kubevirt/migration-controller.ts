import type { Informer } from '../../cluster/informer.js';
import type { VirtualMachineInstanceMigration as Vmim } from '../../cluster/objects.js';
import { keyOf, migrationFinished, migrationRunning, objKey } from '../../cluster/objects.js';
import type { ControllerPlan, PlannedWrite } from '../../cluster/plan.js';
import type { Expectations } from '../../cluster/reconciler.js';
import {
  ANN_EVACUATION,
  LABEL_MIGRATION_UID,
  LIMIT_REQUEUE_MS,
  PARALLEL_MIGRATIONS_PER_CLUSTER,
  PARALLEL_OUTBOUND_PER_NODE,
} from './names.js';
import { launcherPod } from './templates.js';

/** migration.go handleMigrationBackoff: 20 s after the first failure, doubled per further failure. */
const BACKOFF_BASE_MS = 20_000;
/** migration.go: while any target pod creation is not yet in the cache, new ones wait 1 s. */
const PENDING_CREATIONS_REQUEUE_MS = 1_000;

/** The target pod of a migration in the cache: the pod labelled with its UID. */
function targetPodName(cache: Informer, vmim: Vmim): string | undefined {
  for (const p of cache.list('Pod', vmim.metadata.namespace)) {
    if (p.metadata.labels[LABEL_MIGRATION_UID] === vmim.metadata.uid) return p.metadata.name;
  }
  return undefined;
}

/** How long an evacuation migration must still wait after its VMI's failed evacuations. */
function backoffRemaining(cache: Informer, vmim: Vmim, now: number): number {
  const mine = cache
    .list('VirtualMachineInstanceMigration', vmim.metadata.namespace)
    .filter((m) => m.spec.vmiName === vmim.spec.vmiName && m !== vmim && migrationFinished(m.status.phase) && m.metadata.annotations[ANN_EVACUATION] !== undefined)
    .sort((a, b) => (b.status.finishedAt ?? 0) - (a.status.finishedAt ?? 0));
  let failures = 0;
  let lastFailure = 0;
  for (const m of mine) {
    if (m.status.phase === 'Succeeded') break;
    if (failures === 0) lastFailure = m.status.finishedAt ?? 0;
    failures++;
  }
  if (failures === 0) return 0;
  return lastFailure + BACKOFF_BASE_MS * 2 ** (failures - 1) - now;
}

/**
 * KubeVirt v1.3's migration controller (pkg/virt-controller/watch/migration.go), for a
 * Pending migration, level-triggered from virt-controller's cache:
 * - its target pod is in the cache → updateStatus moves it to Scheduling with the pod's name
 *   (podExists in updateStatus, a reconcile after the one that created the pod);
 * - a target pod it created is not in the cache yet (podExpectations) → nothing to do;
 * - an evacuation migration after failed ones waits out handleMigrationBackoff;
 * - while any target pod creation is not yet observed (AllPendingCreations under
 *   migrationStartLock) → re-queue after 1 s, so the parallel limits count every started one;
 * - at the parallel limits (5 per cluster, 2 outbound per node) → re-queue after 5 s;
 * - else handleTargetPodCreation creates the target pod. A refusal by ResourceQuota is
 *   recorded on the migration's status (RejectedByResourceQuota condition, phase stays
 *   Pending) in the same reconcile, and the key is re-queued with the rate limiter.
 */
export function migrationReconciler(cache: Informer, expectations: Expectations, now: () => number): (key: string) => ControllerPlan | undefined {
  return (key) => {
    const vmim = cache.get('VirtualMachineInstanceMigration', key);
    if (!vmim || vmim.status.phase !== 'Pending') return undefined;
    const vmi = cache.get('VirtualMachineInstance', keyOf({ namespace: vmim.metadata.namespace, name: vmim.spec.vmiName }));
    if (!vmi) return undefined;
    const target = targetPodName(cache, vmim);
    if (target !== undefined) {
      return { writes: [{ verb: 'update', object: { ...vmim, status: { ...vmim.status, phase: 'Scheduling', targetPod: target, rejectedByResourceQuota: false } } }] };
    }
    if (!expectations.satisfied(key)) return undefined;
    if (vmim.metadata.annotations[ANN_EVACUATION] !== undefined) {
      const wait = backoffRemaining(cache, vmim, now());
      if (wait > 0) return { requeueAfter: wait, event: { type: 'migration-backoff', vmi: keyOf(vmi.metadata), waitMs: wait } };
    }
    if (expectations.count > 0) return { requeueAfter: PENDING_CREATIONS_REQUEUE_MS };
    const withTarget = new Set<string>();
    for (const p of cache.list('Pod')) {
      const uid = p.metadata.labels[LABEL_MIGRATION_UID];
      if (uid) withTarget.add(uid);
    }
    let running = 0;
    let outbound = 0;
    for (const m of cache.list('VirtualMachineInstanceMigration')) {
      if (migrationFinished(m.status.phase)) continue;
      if (migrationRunning(m.status.phase) || m.status.targetPod || !expectations.satisfied(objKey(m)) || withTarget.has(m.metadata.uid)) {
        running++;
        if (m.status.sourceNode === vmi.status.nodeName) outbound++;
      }
    }
    if (running >= PARALLEL_MIGRATIONS_PER_CLUSTER || outbound >= PARALLEL_OUTBOUND_PER_NODE) return { requeueAfter: LIMIT_REQUEUE_MS };
    const create: PlannedWrite = {
      verb: 'create',
      object: launcherPod(vmi, '', vmim.metadata.uid),
      expect: key,
      ...(vmim.status.rejectedByResourceQuota
        ? {}
        : { orElse: { when: 'exceeded quota', writes: [{ verb: 'update' as const, object: { ...vmim, status: { ...vmim.status, rejectedByResourceQuota: true } } }] } }),
    };
    return { writes: [create] };
  };
}
