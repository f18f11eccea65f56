import { keyOf } from '../cluster/objects.js';
import type { ResourceQuota } from '../cluster/objects.js';
import { defineStrategy, type Plan, type View, type Write } from './api.js';
import {
  ANN_MIGRATING_NAME_PREFIX,
  decodeDeltaStrict,
  defaultQuota,
  encodeDelta,
  hardWithDeltas,
  isEmptyQuota,
  namespaceValidator,
  scaleDelta,
  withAnnotations,
} from './harvester-quota.js';

/**
 * Harvester v1.4.1 (before the fix), pkg/controller/master/migration/vmim_controller.go
 * Handler.OnVmimChanged, a wrangler OnChange handler on VMIMs:
 * - first restoreResourceQuota: on Succeeded/Failed, if the quota has the VM's annotation
 *   harvesterhci.io/migrating-<vmName>, subtract its delta from the *current* spec.hard
 *   (CalculateRestoreResourceQuotaWithVMI) and remove the annotation, in one Update;
 * - then on Pending (no abort): scaleResourceQuotaWithVMI: skip if the annotation is
 *   already there (ContainsMigratingVM: so a delta that Rancher wiped is never re-applied),
 *   else add the delta to spec.hard limits.cpu/limits.memory (keys that exist, non-zero)
 *   and the annotation, in one Update with the cached resourceVersion.
 * The subtraction from whatever spec.hard holds is the #7178 bug; the name-keyed annotation
 * is the #7464 bug. The namespace webhook is the one v1.4.2 kept.
 */
function restore(rq: ResourceQuota, key: string): Write | Plan | undefined {
  const value = rq.metadata.annotations[key];
  if (value === undefined) return undefined;
  // GetResourceListFromMigratingVM (pkg/util/resourcequota/utils.go): json.Unmarshal into a
  // ResourceList; its error is returned ("failed to restore resource quota with vmi: …"),
  // and the VMIM is re-queued with the rate limiter, for as long as the annotation is bad.
  const delta = decodeDeltaStrict(value);
  if (!delta) return { error: `failed to restore resource quota with vmi: cannot unmarshal ${key}=${value}` };
  // CalculateRestoreResourceQuotaWithVMI → checkResourceQuotaAndVMI: an empty quota is left
  // alone, annotation included.
  if (isEmptyQuota(rq)) return undefined;
  const hard = hardWithDeltas(rq.spec.hard, delta, { rule: 'v1.4.1', sign: -1 });
  const { [key]: _removed, ...annotations } = rq.metadata.annotations;
  return { verb: 'update', object: { ...withAnnotations(rq, annotations), spec: { hard } } };
}

export function reconcile(key: string, view: View): Write | Plan | undefined {
  const vmim = view.get('VirtualMachineInstanceMigration', key);
  if (!vmim) return undefined;
  const vmi = view.get('VirtualMachineInstance', keyOf({ namespace: vmim.metadata.namespace, name: vmim.spec.vmiName }));
  if (!vmi) return undefined;
  // isNamespaceManagedByResourceQuota is true whenever any quota exists in the namespace
  // (ResourceList.Cpu() never returns nil), and both paths then need the first quota with
  // Rancher's default label: defaultQuota alone is the same test.
  const rq = defaultQuota(view, vmim.metadata.namespace);
  if (!rq) return undefined;
  const annotationKey = ANN_MIGRATING_NAME_PREFIX + vmi.metadata.name;
  const phase = vmim.status.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return restore(rq, annotationKey);
  if (phase !== 'Pending') return undefined;
  // ContainsMigratingVM, then CalculateScaleResourceQuotaWithVMI's checkResourceQuotaAndVMI.
  if (isEmptyQuota(rq) || rq.metadata.annotations[annotationKey] !== undefined) return undefined;
  // Ratio nil (1.0), whatever the cluster's additional-guest-memory-overhead-ratio: the
  // launcher pods KubeVirt renders use the setting, so the delta under-covers them.
  const delta = scaleDelta(rq, vmi, undefined);
  const hard = hardWithDeltas(rq.spec.hard, delta, { rule: 'v1.4.1' });
  return {
    verb: 'update',
    object: { ...withAnnotations(rq, { ...rq.metadata.annotations, [annotationKey]: encodeDelta(delta) }), spec: { hard } },
  };
}
export default defineStrategy({
  name: 'pre-fix',
  description:
    'Harvester v1.4.1: the VMIM controller raises spec.hard by the VM delta at Pending and subtracts it at the end; annotations keyed by VM name.',
  reconcilers: [{ name: 'vm-migration-controller', watches: ['VirtualMachineInstanceMigration'], reconcile }],
  webhooks: [namespaceValidator('v1.4.1')],
});
