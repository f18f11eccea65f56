import { keyOf } from '../cluster/objects.js';
import { ANN_RANCHER_QUOTA } from '../actors/rancher-quota.js';
import { defineStrategy, type Plan, type View, type Write } from './api.js';
import {
  ANN_MIGRATING_NAME_PREFIX,
  ANN_MIGRATING_UID_PREFIX,
  ANN_SKIP_AUTOSCALING,
  defaultQuota,
  encodeDelta,
  harvesterBase,
  hardWithDeltas,
  isEmptyQuota,
  limitsDiffer,
  migratingDeltasStrict,
  namespaceValidator,
  scaleDelta,
  withAnnotations,
} from './harvester-quota.js';

/**
 * Harvester v1.4.2 (harvester/harvester#7504, cherry-picks 9d51cd41d, bd5c031eb, cf564d8b4).
 *
 * VMIM controller (pkg/controller/master/migration/vmim_controller.go, commit bd5c031eb):
 * only annotations. On Pending, AddMigratingVM writes harvesterhci.io/migratingUID-<VMI UID>
 * (36 characters, so always under the 63-character name limit) and drops the legacy name
 * key; on Succeeded/Failed, DeleteMigratingVM removes both keys, writing only if one existed.
 * The delta uses the additional-guest-memory-overhead-ratio setting.
 *
 * ResourceQuota controller (pkg/controller/master/resourcequota/resourcequota_controller.go
 * OnResourceQuotaChanged, on every quota event, Rancher's reset included): for the default
 * quota without harvesterhci.io/skipResourceQuotaAutoScaling=true, with a Rancher base in
 * the namespace annotation (read from cache) and a non-empty quota,
 * spec.hard = base + Σ migrating deltas for limits.cpu and limits.memory where the base is
 * non-zero (CalculateNewResourceQuotaFromBaseDelta), written only if different.
 * scaleResourceQuotaOnDemand's errSkipScaling (empty annotation, empty quota, an unparsable
 * limit, an unparsable migrating annotation) is "no write, no requeue" (undefined); its other
 * errors (the annotation's JSON does not unmarshal, the namespace is not in the cache) are
 * returned and re-queue the quota with the rate limiter (a plan with `error`).
 */
export function vmimReconcile(key: string, view: View): Write | undefined {
  const vmim = view.get('VirtualMachineInstanceMigration', key);
  if (!vmim) return undefined;
  const vmi = view.get('VirtualMachineInstance', keyOf({ namespace: vmim.metadata.namespace, name: vmim.spec.vmiName }));
  if (!vmi) return undefined;
  const rq = defaultQuota(view, vmim.metadata.namespace);
  if (!rq) return undefined;
  const nameKey = ANN_MIGRATING_NAME_PREFIX + vmi.metadata.name;
  const uidKey = ANN_MIGRATING_UID_PREFIX + vmi.metadata.uid;
  const a = rq.metadata.annotations;
  const phase = vmim.status.phase;
  if (phase === 'Succeeded' || phase === 'Failed') {
    if (a[nameKey] === undefined && a[uidKey] === undefined) return undefined;
    const { [nameKey]: _n, [uidKey]: _u, ...rest } = a;
    return { verb: 'update', object: withAnnotations(rq, rest) };
  }
  if (phase !== 'Pending') return undefined;
  // v1.4.2's scaleResourceQuotaWithVMI has no skip check (only the quota controller has; the
  // VMIM-side check came after v1.4.2), so a skipped quota still gets the annotation.
  // isNamespaceManagedByResourceQuota is "any quota in the namespace" (ResourceList.Cpu()
  // never returns nil), implied by the default-labelled quota found above.
  if (isEmptyQuota(rq)) return undefined; // CalculateScaleResourceQuotaWithVMI → checkResourceQuotaAndVMI
  if (a[nameKey] !== undefined || a[uidKey] !== undefined) return undefined; // ContainsMigratingVM
  const ratio = view.settings.additionalGuestMemoryOverheadRatio;
  return { verb: 'update', object: withAnnotations(rq, { ...a, [uidKey]: encodeDelta(scaleDelta(rq, vmi, ratio)) }) };
}

/** resourcequota_controller.go OnResourceQuotaChanged → scaleResourceQuotaOnDemand (harvester v1.4.2). */
export function quotaReconcile(key: string, view: View): Write | Plan | undefined {
  const rq = view.get('ResourceQuota', key);
  if (!rq || rq.metadata.labels['resourcequota.management.cattle.io/default-resource-quota'] !== 'true') return undefined;
  if (rq.metadata.annotations[ANN_SKIP_AUTOSCALING] === 'true') return undefined;
  const ns = view.get('Namespace', rq.metadata.namespace);
  if (!ns) return { error: `can't find resourcequota ${key} related namespace` };
  const base = harvesterBase(rq, ns.metadata.annotations[ANN_RANCHER_QUOTA]);
  if (base === 'skip') return undefined;
  if ('error' in base) return { error: base.error };
  // getResourceListFromMigratingVMs: one annotation that does not unmarshal ⇒ errSkipScaling.
  const deltas = migratingDeltasStrict(rq);
  if (!deltas) return undefined;
  const hard = hardWithDeltas(base.base, deltas, { onto: rq.spec.hard });
  return limitsDiffer(hard, rq.spec.hard) ? { verb: 'update', object: { ...rq, spec: { hard } } } : undefined;
}

export default defineStrategy({
  name: 'v1.4.2',
  description:
    'Harvester v1.4.2: the VMIM controller only writes UID-keyed annotations; a ResourceQuota controller keeps spec.hard = user base + deltas of running migrations.',
  reconcilers: [
    { name: 'vm-migration-controller', watches: ['VirtualMachineInstanceMigration'], reconcile: vmimReconcile },
    { name: 'resourceQuotaController', watches: ['ResourceQuota'], reconcile: quotaReconcile },
  ],
  webhooks: [namespaceValidator('v1.4.2')],
});
