import type { Informer } from '../../cluster/informer.js';
import type { Pod, PodDisruptionBudget, VirtualMachineInstance, VirtualMachineInstanceMigration as Vmim } from '../../cluster/objects.js';
import { keyOf, migrationFinished, migrationRunning, podCountsForQuota, selects } from '../../cluster/objects.js';
import type { ControllerPlan, PlannedWrite } from '../../cluster/plan.js';
import type { Expectations } from '../../cluster/reconciler.js';
import {
  ANN_EVACUATION,
  ANN_EVICTION_IN_PROGRESS,
  ANN_LATEST_OBSERVED_API_VERSION,
  ANN_STORAGE_OBSERVED_API_VERSION,
  KUBEVIRT_API_VERSION,
  LABEL_CREATED_BY,
  LABEL_MIGRATION_NAME,
  LABEL_MIGRATION_UID,
  LABEL_MIGRATION_VMI_NAME,
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

/**
 * controller.CurrentVMIPod (v1.3.1 pkg/controller/controller.go): the VMI's most recently
 * created pod on the VMI's node, whatever its phase.
 */
function currentVmiPod(cache: Informer, vmi: VirtualMachineInstance): Pod | undefined {
  let cur: Pod | undefined;
  for (const p of cache.list('Pod', vmi.metadata.namespace)) {
    if (p.metadata.labels[LABEL_CREATED_BY] !== vmi.metadata.uid || p.spec.nodeName !== vmi.status.nodeName) continue;
    if (!cur || (p.metadata.creationTimestamp ?? 0) > (cur.metadata.creationTimestamp ?? 0)) cur = p;
  }
  return cur;
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
 * execute's first step (v1.3.1 migration.go): a migration whose metadata does not carry the
 * API version virt-controller runs (controller.ObservedLatestApiVersionAnnotation) gets it
 * (SetLatestApiVersionAnnotation: latest- and storage-observed, both "v1") with its selector
 * label (ensureSelectorLabelPresent), in an Update of the cached object, and the pass ends
 * there: a new migration's first write, before Pending.
 */
function observedApiVersion(vmim: Vmim): PlannedWrite {
  const annotations = { ...vmim.metadata.annotations, [ANN_LATEST_OBSERVED_API_VERSION]: KUBEVIRT_API_VERSION, [ANN_STORAGE_OBSERVED_API_VERSION]: KUBEVIRT_API_VERSION };
  const labels = { ...vmim.metadata.labels, [LABEL_MIGRATION_VMI_NAME]: vmim.spec.vmiName };
  return { verb: 'update', object: { ...vmim, metadata: { ...vmim.metadata, annotations, labels } } };
}

/**
 * descheduler.MarkEvictionInProgress (v1.3.1 pkg/virt-controller/watch/descheduler/
 * descheduler.go): a JSON patch adding the eviction-in-progress annotation ("kubevirt") to the
 * source pod, skipped when the cached pod has it. (MarkSourcePodEvictionCompleted, which takes
 * it off again when a migration fails, is not modelled: nothing in the model reads it.)
 */
function markEvictionInProgress(pod: Pod): PlannedWrite {
  return { verb: 'patch', object: pod, patch: [{ op: 'add', path: ['metadata', 'annotations', ANN_EVICTION_IN_PROGRESS], value: 'kubevirt' }] };
}

/**
 * expandPDB (v1.3.1 migration.go): a strategic merge patch
 * {"spec":{"minAvailable":2},"metadata":{"labels":{"kubevirt.io/migrationName":<vmim>}}}, so
 * no resourceVersion and never a 409 (the disruption controller's status writes in between
 * do not matter).
 */
function expandPdb(pdb: PodDisruptionBudget, vmim: Vmim): PlannedWrite {
  return {
    verb: 'patch',
    object: pdb,
    patch: [
      { op: 'replace', path: ['spec', 'minAvailable'], value: 2 },
      { op: 'add', path: ['metadata', 'labels', LABEL_MIGRATION_NAME], value: vmim.metadata.name },
    ],
  };
}

/**
 * KubeVirt v1.3.1's migration controller (pkg/virt-controller/watch/migration.go execute →
 * sync → updateStatus/processMigrationPhase), level-triggered from virt-controller's cache,
 * one step per pass:
 * - a migration without the observed-API-version annotations gets them, and nothing else
 *   happens in that pass (execute's first step);
 * - Unset → Pending (processMigrationPhase; sync has no case for Unset);
 * - Pending, target pod in the cache → Scheduling (podExists);
 * - Pending, no target pod (sync): handleMigrationBackoff; the source pod
 *   (CurrentVMIPod; none → nothing to do); for an evacuation, MarkEvictionInProgress on it;
 *   then handleTargetPodCreation, in order: any target pod creation not yet seen in the cache
 *   (AllPendingCreations) → AddAfter 1 s; VMIActivePodsCount > 1 → AddAfter 1 s; the parallel
 *   limits (5 per cluster, 2 outbound per node) → AddAfter 5 s; for a LiveMigrate VMI
 *   expandPDB (a patch: minAvailable 2, label kubevirt.io/migrationName) and, while
 *   !isMigrationProtected(pdb) (read from the cache before the patch), return with no
 *   requeue: the PDB's update events bring it back; then createTargetPod. A refusal by
 *   ResourceQuota is recorded on the migration's status (RejectedByResourceQuota condition,
 *   phase stays Pending) in the same pass, and the key is re-queued with the rate limiter;
 * - Scheduling → Scheduled when the target pod runs; Scheduled → Running when the VMI's
 *   migrationState names this migration (PreparingTarget and TargetReady are folded into
 *   it); Running → Succeeded when virt-handler has marked the VMI's migration completed:
 *   one controller pass after the VMI, as in the real controller.
 */
export function migrationReconciler(cache: Informer, expectations: Expectations, now: () => number, ratio: () => number | undefined): (key: string) => ControllerPlan | undefined {
  return (key) => {
    const vmim = cache.get('VirtualMachineInstanceMigration', key);
    if (!vmim) return undefined;
    if (vmim.metadata.annotations[ANN_LATEST_OBSERVED_API_VERSION] !== KUBEVIRT_API_VERSION) return { writes: [observedApiVersion(vmim)] };
    if (migrationFinished(vmim.status.phase)) return undefined;
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
    const source = currentVmiPod(cache, vmi);
    if (!source) return undefined;
    // This pass's writes before the target pod: the mark, then the PDB patch.
    const writes: PlannedWrite[] = [];
    if (vmim.metadata.annotations[ANN_EVACUATION] !== undefined && source.metadata.annotations[ANN_EVICTION_IN_PROGRESS] === undefined) writes.push(markEvictionInProgress(source));
    if (expectations.count > 0) return { writes, requeueAfter: WAIT_REQUEUE_MS };
    if (activePods(cache, vmi) > 1) return { writes, requeueAfter: WAIT_REQUEUE_MS };
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
    if (running >= PARALLEL_MIGRATIONS_PER_CLUSTER || outbound >= PARALLEL_OUTBOUND_PER_NODE) return { writes, requeueAfter: LIMIT_REQUEUE_MS };
    if (vmi.spec.evictionStrategy === 'LiveMigrate') {
      const pdb = pdbForVmi(cache, vmi);
      if (!pdb) return { writes, error: `Found no PDB protecting the vmi ${vmi.metadata.name}` };
      // expandPDB skips a PDB already expanded for this migration.
      const expanded = pdb.spec.minAvailable === 2 && pdb.metadata.labels[LABEL_MIGRATION_NAME] === vmim.metadata.name;
      if (!isMigrationProtected(pdb)) return { writes: expanded ? writes : [...writes, expandPdb(pdb, vmim)] };
      if (!expanded) writes.push(expandPdb(pdb, vmim));
    }
    const create: PlannedWrite = {
      verb: 'create',
      object: launcherPod(vmi, '', ratio(), vmim.metadata.uid),
      expect: key,
      ...(vmim.status.rejectedByResourceQuota
        ? {}
        : { orElse: { when: 'exceeded quota', writes: [status(vmim, { rejectedByResourceQuota: true })] } }),
    };
    return { writes: [...writes, create] };
  };
}
