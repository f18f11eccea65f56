import { launcherPodResources } from '../../cluster/launcher.js';
import type { Pod, VirtualMachineInstance, VirtualMachineInstanceMigration as Vmim } from '../../cluster/objects.js';
import { LABEL_APP, LABEL_CREATED_BY, LABEL_MIGRATION_UID, LABEL_MIGRATION_VMI_NAME, LABEL_VM_NAME } from './names.js';

/** A virt-launcher pod for a VMI (pkg/virt-controller/services/template.go renderLaunchManifest). */
export function launcherPod(vmi: VirtualMachineInstance, nodeName: string, ratio: number | undefined, migrationUid?: string): Pod {
  const labels: Record<string, string> = {
    [LABEL_APP]: 'virt-launcher',
    [LABEL_CREATED_BY]: vmi.metadata.uid,
    [LABEL_VM_NAME]: vmi.metadata.name,
  };
  if (migrationUid) labels[LABEL_MIGRATION_UID] = migrationUid;
  const res = launcherPodResources(vmi.spec, ratio);
  return {
    kind: 'Pod',
    metadata: {
      name: '',
      generateName: `virt-launcher-${vmi.metadata.name}-`,
      namespace: vmi.metadata.namespace,
      uid: '',
      resourceVersion: 0,
      labels,
      annotations: {},
    },
    spec: { nodeName, limits: res.limits, requests: res.requests },
    status: { phase: nodeName ? 'Running' : 'Pending' },
  };
}

/**
 * A new VMIM for a VMI, created by the evacuation controller or a user, as virt-api's
 * mutating webhook admits it: labelled with its VMI's name (KubeVirt v1.3.1
 * pkg/virt-api/webhooks/mutating-webhook/mutators/migration-create-mutator.go
 * addMigrationSelectorLabel; its finalizer is not modelled).
 */
export function newMigration(vmi: VirtualMachineInstance, generateName: string, annotations: Record<string, string> = {}): Vmim {
  return {
    kind: 'VirtualMachineInstanceMigration',
    metadata: { name: '', generateName, namespace: vmi.metadata.namespace, uid: '', resourceVersion: 0, labels: { [LABEL_MIGRATION_VMI_NAME]: vmi.metadata.name }, annotations },
    spec: { vmiName: vmi.metadata.name },
    // Created with no phase (MigrationPhaseUnset): virt-controller moves it to Pending.
    status: { phase: '', rejectedByResourceQuota: false, sourceNode: vmi.status.nodeName },
  };
}
