import type { Informer } from '../../cluster/informer.js';
import type { PodDisruptionBudget, VirtualMachineInstance } from '../../cluster/objects.js';
import { keyOf, migrationFinished, podCountsForQuota } from '../../cluster/objects.js';
import type { ControllerPlan } from '../../cluster/plan.js';
import { LABEL_CREATED_BY, LABEL_MIGRATION_NAME } from './names.js';

/** The PDB KubeVirt keeps for a LiveMigrate VMI (disruptionbudget.go createPDB): minAvailable 1 over its launcher pods. */
export function vmiPdb(vmi: VirtualMachineInstance): PodDisruptionBudget {
  return {
    kind: 'PodDisruptionBudget',
    metadata: { name: '', generateName: 'kubevirt-disruption-budget-', namespace: vmi.metadata.namespace, uid: '', resourceVersion: 0, labels: {}, annotations: {} },
    spec: { minAvailable: 1, selector: { [LABEL_CREATED_BY]: vmi.metadata.uid } },
    status: { observedGeneration: 0, expectedPods: 0, currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0 },
  };
}

/** A VMI's PDB as it stands before any migration: the disruption controller has synced it (one healthy pod of one). */
export function syncedVmiPdb(vmi: VirtualMachineInstance): PodDisruptionBudget {
  return { ...vmiPdb(vmi), status: { observedGeneration: 1, expectedPods: 1, currentHealthy: 1, desiredHealthy: 1, disruptionsAllowed: 0 } };
}

/**
 * KubeVirt v1.3.1's disruption-budget controller (pkg/virt-controller/watch/drain/
 * disruptionbudget/disruptionbudget.go sync), keyed by PDB: a PDB expanded for a migration
 * (label kubevirt.io/migrationName) is shrunk back to minAvailable 1, and the label removed,
 * once that migration is final (or gone) and the VMI has exactly one active pod
 * (isMigrationComplete): with #7161's slow source completion, that is when the source
 * virt-launcher has completed, not when the migration succeeds. shrinkPDB acts only on a
 * cached minAvailable other than 1, with a JSON patch (replace /spec/minAvailable 1, remove
 * the label): no resourceVersion, so never a 409. Creating PDBs for new VMIs is not modelled:
 * every VMI exists before the run, with its PDB.
 */
export function disruptionBudgetReconciler(cache: Informer): (key: string) => ControllerPlan | undefined {
  return (key) => {
    const pdb = cache.get('PodDisruptionBudget', key);
    if (!pdb) return undefined;
    const migration = pdb.metadata.labels[LABEL_MIGRATION_NAME];
    if (migration === undefined) return undefined;
    const uid = pdb.spec.selector[LABEL_CREATED_BY];
    const vmi = cache.list('VirtualMachineInstance', pdb.metadata.namespace).find((v) => v.metadata.uid === uid);
    if (!vmi) return undefined;
    const vmim = cache.get('VirtualMachineInstanceMigration', keyOf({ namespace: pdb.metadata.namespace, name: migration }));
    if (vmim && !migrationFinished(vmim.status.phase)) return undefined;
    let active = 0;
    for (const p of cache.list('Pod', vmi.metadata.namespace)) if (p.metadata.labels[LABEL_CREATED_BY] === uid && podCountsForQuota(p)) active++;
    if (vmim && active !== 1) return undefined;
    if (pdb.spec.minAvailable === 1) return undefined;
    return {
      writes: [
        {
          verb: 'patch',
          object: pdb,
          patch: [
            { op: 'replace', path: ['spec', 'minAvailable'], value: 1 },
            { op: 'remove', path: ['metadata', 'labels', LABEL_MIGRATION_NAME] },
          ],
        },
      ],
    };
  };
}
