import type { Informer } from '../../cluster/informer.js';
import type { PodDisruptionBudget, VirtualMachineInstance, VirtualMachineInstanceMigration as Vmim } from '../../cluster/objects.js';
import { keyOf, migrationFinished, migrationRunning, podCountsForQuota, selects } from '../../cluster/objects.js';
import type { ControllerPlan, PlannedWrite } from '../../cluster/plan.js';
import type { Expectations } from '../../cluster/reconciler.js';
import {
  ANN_EVACUATION,
  LABEL_CREATED_BY,
  LABEL_MIGRATION_NAME,
  LABEL_MIGRATION_UID,
  LIMIT_REQUEUE_MS,
  PARALLEL_MIGRATIONS_PER_CLUSTER,
  PARALLEL_OUTBOUND_PER_NODE,
} from './names.js';
import { launcherPod } from './templates.js';

/** migration.go handleMigrationBackoff: 20 s after the first failure, doubled per further failure. */
const BACKOFF_BASE_MS = 20_000;
/** migration.go handleTargetPodCreation: waits re-queue with AddAfter(key, 1s). */
const WAIT_REQUEUE_MS = 1_000;

/** The target pod of a migration in the cache: the pod labelled with its UID. */
function targetPod(cache: Informer, vmim: Vmim) {
  for (const p of cache.list('Pod', vmim.metadata.namespace)) {
    if (p.metadata.labels[LABEL_MIGRATION_UID] === vmim.metadata.uid) return p;
  }
  return undefined;
}

/** controller.VMIActivePodsCount (pkg/controller/controller.go): the VMI's pods not Succeeded/Failed. */
function activePods(cache: Informer, vmi: VirtualMachineInstance): number {
  let n = 0;
  for (const p of cache.list('Pod', vmi.metadata.namespace)) if (p.metadata.labels[LABEL_CREATED_BY] === vmi.metadata.uid && podCountsForQuota(p)) n++;
  return n;
}

/** pdbs.PDBsForVMI: the PDB selecting the VMI's pods. */
export function pdbForVmi(cache: Informer, vmi: VirtualMachineInstance): PodDisruptionBudget | undefined {
  const labels = { [LABEL_CREATED_BY]: vmi.metadata.uid };
  return cache.list('PodDisruptionBudget', vmi.metadata.namespace).find((b) => selects(b.spec.selector, labels));
}

/** isMigrationProtected (migration.go): the disruption controller has seen the expanded PDB. */
function isMigrationProtected(pdb: PodDisruptionBudget): boolean {
  return pdb.status.desiredHealthy === 2 && pdb.metadata.generation === pdb.status.observedGeneration;
}

/**
 * handleMigrationBackoff (v1.3.1 migration.go): only evacuation migrations, only the newest
 * of a VMI's evacuation migrations (by creationTimestamp) waits, and only if an older one
 * failed: 20 s after the previous one's failure, doubled per further failure, counted back
 * to the first success.
 */
function backoffRemaining(cache: Informer, vmim: Vmim, now: number): number {
  const mine = cache
    .list('VirtualMachineInstanceMigration', vmim.metadata.namespace)
    .filter((m) => m.spec.vmiName === vmim.spec.vmiName && m.metadata.annotations[ANN_EVACUATION] !== undefined)
    .sort((a, b) => (b.metadata.creationTimestamp ?? 0) - (a.metadata.creationTimestamp ?? 0) || (a.metadata.name < b.metadata.name ? 1 : -1));
  if (mine.length < 2 || mine[0]!.metadata.uid !== vmim.metadata.uid) return 0;
  let backoff = 0;
  for (const m of mine.slice(1)) {
    if (m.status.phase === 'Succeeded') break;
    if (m.status.phase === 'Failed') backoff = backoff === 0 ? BACKOFF_BASE_MS : backoff * 2;
  }
  if (backoff === 0) return 0;
  return (mine[1]!.status.finishedAt ?? 0) + backoff - now;
}

const status = (vmim: Vmim, change: Partial<Vmim['status']>): PlannedWrite => ({ verb: 'update', object: { ...vmim, status: { ...vmim.status, ...change } } });

/**
 * KubeVirt v1.3.1's migration controller (pkg/virt-controller/watch/migration.go execute →
 * sync → updateStatus/processMigrationPhase), level-triggered from virt-controller's cache,
 * one phase per pass:
 * - Unset → Pending (processMigrationPhase; sync has no case for Unset);
 * - Pending, target pod in the cache → Scheduling (podExists);
 * - Pending, no target pod: handleMigrationBackoff; then handleTargetPodCreation, in order:
 *   any target pod creation not yet seen in the cache (AllPendingCreations) → AddAfter 1 s;
 *   VMIActivePodsCount > 1 → AddAfter 1 s; the parallel limits (5 per cluster, 2 outbound per
 *   node) → AddAfter 5 s; for a LiveMigrate VMI expandPDB (minAvailable 2, label
 *   kubevirt.io/migrationName) and, while !isMigrationProtected(pdb) (read from the cache
 *   before the patch), return with no requeue: the PDB's update events bring it back; then
 *   createTargetPod. A refusal by ResourceQuota is recorded on the migration's status
 *   (RejectedByResourceQuota condition, phase stays Pending) in the same pass, and the key is
 *   re-queued with the rate limiter;
 * - Scheduling → Scheduled when the target pod runs; Scheduled → Running when the VMI's
 *   migrationState names this migration (PreparingTarget and TargetReady are folded into
 *   it); Running → Succeeded when virt-handler has marked the VMI's migration completed:
 *   one controller pass after the VMI, as in the real controller.
 */
export function migrationReconciler(cache: Informer, expectations: Expectations, now: () => number, ratio: () => number | undefined): (key: string) => ControllerPlan | undefined {
  return (key) => {
    const vmim = cache.get('VirtualMachineInstanceMigration', key);
    if (!vmim || migrationFinished(vmim.status.phase)) return undefined;
    const vmi = cache.get('VirtualMachineInstance', keyOf({ namespace: vmim.metadata.namespace, name: vmim.spec.vmiName }));
    if (!vmi) return undefined;
    const phase = vmim.status.phase;
    if (phase === '') return { writes: [status(vmim, { phase: 'Pending' })] };
    const target = targetPod(cache, vmim);
    if (phase === 'Scheduling') return target?.status.phase === 'Running' && target.spec.nodeName ? { writes: [status(vmim, { phase: 'Scheduled', targetNode: target.spec.nodeName })] } : undefined;
    if (phase === 'Scheduled') return vmi.status.migrationUid === vmim.metadata.uid ? { writes: [status(vmim, { phase: 'Running' })] } : undefined;
    if (phase === 'Running' || migrationRunning(phase)) {
      return vmi.status.migrationUid === vmim.metadata.uid && vmi.status.migrationCompleted ? { writes: [status(vmim, { phase: 'Succeeded', finishedAt: now() })] } : undefined;
    }
    // Pending.
    if (target !== undefined) return { writes: [status(vmim, { phase: 'Scheduling', targetPod: target.metadata.name, rejectedByResourceQuota: false })] };
    if (!expectations.satisfied(key)) return undefined;
    if (vmim.metadata.annotations[ANN_EVACUATION] !== undefined) {
      const wait = backoffRemaining(cache, vmim, now());
      if (wait > 0) return { requeueAfter: wait, event: { type: 'migration-backoff', vmi: keyOf(vmi.metadata), waitMs: wait } };
    }
    if (expectations.count > 0) return { requeueAfter: WAIT_REQUEUE_MS };
    if (activePods(cache, vmi) > 1) return { requeueAfter: WAIT_REQUEUE_MS };
    // findRunningMigrations: unfinished migrations that run or have a target pod. (No creation
    // is pending here: expectations.count is 0, so every migration's expectations are met.)
    let withTarget: Set<string> | undefined;
    const hasTarget = (uid: string): boolean => {
      if (!withTarget) {
        withTarget = new Set();
        for (const p of cache.list('Pod')) {
          const u = p.metadata.labels[LABEL_MIGRATION_UID];
          if (u) withTarget.add(u);
        }
      }
      return withTarget.has(uid);
    };
    let running = 0;
    let outbound = 0;
    for (const m of cache.list('VirtualMachineInstanceMigration')) {
      if (migrationFinished(m.status.phase)) continue;
      if (migrationRunning(m.status.phase) || hasTarget(m.metadata.uid)) {
        running++;
        if (m.status.sourceNode === vmi.status.nodeName) outbound++;
      }
    }
    if (running >= PARALLEL_MIGRATIONS_PER_CLUSTER || outbound >= PARALLEL_OUTBOUND_PER_NODE) return { requeueAfter: LIMIT_REQUEUE_MS };
    if (vmi.spec.evictionStrategy === 'LiveMigrate') {
      const pdb = pdbForVmi(cache, vmi);
      if (!pdb) return { error: `Found no PDB protecting the vmi ${vmi.metadata.name}` };
      if (!isMigrationProtected(pdb)) {
        if (pdb.spec.minAvailable === 2 && pdb.metadata.labels[LABEL_MIGRATION_NAME] === vmim.metadata.name) return undefined;
        const expanded: PodDisruptionBudget = {
          ...pdb,
          metadata: { ...pdb.metadata, labels: { ...pdb.metadata.labels, [LABEL_MIGRATION_NAME]: vmim.metadata.name } },
          spec: { ...pdb.spec, minAvailable: 2 },
        };
        return { writes: [{ verb: 'update', object: expanded }] };
      }
    }
    const create: PlannedWrite = {
      verb: 'create',
      object: launcherPod(vmi, '', ratio(), vmim.metadata.uid),
      expect: key,
      ...(vmim.status.rejectedByResourceQuota
        ? {}
        : { orElse: { when: 'exceeded quota', writes: [status(vmim, { rejectedByResourceQuota: true })] } }),
    };
    return { writes: [create] };
  };
}
