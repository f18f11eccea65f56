import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, parseRancherQuota } from '../actors/rancher-quota.js';
import { memoryOverheadBytes } from '../cluster/launcher.js';
import type { Namespace, ResourceQuota, VirtualMachineInstance } from '../cluster/objects.js';
import { formatQuantity, parseQuantity } from '../cluster/quantity.js';
import type { ResourceList } from '../cluster/resources.js';
import { LIMITS_CPU, LIMITS_MEMORY } from '../cluster/resources.js';
import type { AdmissionRequest, View, WebhookDef } from './api.js';

/**
 * Harvester's ResourceQuota helpers, shared by the pre-fix and v1.4.2 strategies
 * (harvester pkg/util/resourcequota/{utils,calculator}.go, pkg/util/constants.go,
 * pkg/util/annotationkey.go).
 */
export const ANN_MIGRATING_NAME_PREFIX = 'harvesterhci.io/migrating-';
export const ANN_MIGRATING_UID_PREFIX = 'harvesterhci.io/migratingUID-';
export const ANN_SKIP_AUTOSCALING = 'harvesterhci.io/skipResourceQuotaAutoScaling';

/** The quota Rancher manages in a namespace: the first with the default-resource-quota label. */
export function defaultQuota(view: View, namespace: string): ResourceQuota | undefined {
  return view.list('ResourceQuota', namespace).find((q) => q.metadata.labels[LABEL_DEFAULT_RQ] === 'true');
}

/**
 * CalculateScaleResourceQuotaWithVMI: the VMI's cpu limit, and its memory limit plus
 * KubeVirt's overhead. v1.4.1 passes ratio nil; v1.4.2 passes the
 * additional-guest-memory-overhead-ratio setting.
 */
export function vmiDelta(vmi: VirtualMachineInstance, ratio: number | undefined): ResourceList {
  const overhead = memoryOverheadBytes(vmi.spec.cpu, vmi.spec.memoryRequest / 1000, ratio) * 1000;
  return { [LIMITS_CPU]: vmi.spec.cpu * 1000, [LIMITS_MEMORY]: vmi.spec.memoryLimit + overhead };
}

/** The annotation value: a ResourceList as JSON, e.g. {"limits.cpu":"2","limits.memory":"4531245057"}. */
export function encodeDelta(delta: ResourceList): string {
  const out: Record<string, string> = {};
  for (const k of Object.keys(delta).sort()) {
    out[k] = k === LIMITS_MEMORY ? String(delta[k]! / 1000) : formatQuantity(delta[k]!, k);
  }
  return JSON.stringify(out);
}

const decoded = new Map<string, ResourceList>();

export function decodeDelta(text: string): ResourceList {
  let d = decoded.get(text);
  if (!d) {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(JSON.parse(text) as Record<string, string>)) out[k] = parseQuantity(v) ?? 0;
    decoded.set(text, (d = out));
  }
  return d;
}

/** How {@link hardWithDeltas} picks the keys it moves, after the Harvester release that does it. */
export interface HardWithDeltasOptions {
  /**
   * 'v1.4.2' (default; CalculateNewResourceQuotaFromBaseDelta): every key whose base is
   * non-zero is set to base + delta (a missing delta counts 0).
   * 'v1.4.1' (CalculateScaleResourceQuotaWithVMI / CalculateRestoreResourceQuotaWithVMI):
   * a key the base has is moved by its delta when the delta is non-zero.
   */
  rule?: 'v1.4.1' | 'v1.4.2';
  /** -1 subtracts the deltas (v1.4.1's restore). Default 1. */
  sign?: 1 | -1;
  /** The list the result starts from (its other keys are kept). Default: `base`. */
  onto?: ResourceList;
}

/**
 * spec.hard = base ± deltas, for limits.cpu and limits.memory (the only keys Harvester
 * scales): a copy of `onto` (default `base`) with those keys moved as `rule` says.
 */
export function hardWithDeltas(base: ResourceList, deltas: ResourceList, opts: HardWithDeltasOptions = {}): Record<string, number> {
  const hard: Record<string, number> = { ...(opts.onto ?? base) };
  const subtract = opts.sign === -1;
  const v141 = opts.rule === 'v1.4.1';
  for (const k of [LIMITS_CPU, LIMITS_MEMORY]) {
    const b = base[k];
    const d = deltas[k];
    if (v141) {
      if (b !== undefined && d) hard[k] = subtract ? b - d : b + d;
    } else if (b) hard[k] = subtract ? b - (d ?? 0) : b + (d ?? 0);
  }
  return hard;
}

/** Whether two lists differ in limits.cpu or limits.memory (what {@link hardWithDeltas} moves). */
export function limitsDiffer(a: ResourceList, b: ResourceList): boolean {
  return a[LIMITS_CPU] !== b[LIMITS_CPU] || a[LIMITS_MEMORY] !== b[LIMITS_MEMORY];
}

export function isMigratingKey(key: string): boolean {
  return key.startsWith(ANN_MIGRATING_UID_PREFIX) || key.startsWith(ANN_MIGRATING_NAME_PREFIX);
}

/** HasMigratingVM: any annotation with either prefix. */
export function hasMigratingVM(rq: ResourceQuota): boolean {
  for (const k in rq.metadata.annotations) if (isMigratingKey(k)) return true;
  return false;
}

/** Sum of the deltas of every migrating annotation (GetVMIMResourcesFromRQAnnotation). */
export function migratingDeltas(rq: ResourceQuota): Record<string, number> {
  const sum: Record<string, number> = {};
  const a = rq.metadata.annotations;
  for (const k in a) {
    if (!isMigratingKey(k)) continue;
    const d = decodeDelta(a[k]!);
    for (const r in d) sum[r] = (sum[r] ?? 0) + d[r]!;
  }
  return sum;
}

/** The user's base: limitsCpu/limitsMemory from the namespace annotation (GetCPUMemoryLimitsFromRancherNamespaceResourceQuota). */
export function rancherBase(ns: Namespace | undefined): ResourceList | undefined {
  return parseRancherQuota(ns?.metadata.annotations[ANN_RANCHER_QUOTA])?.hard;
}

/** IsEmptyResourceQuota: hard limits.cpu and limits.memory both zero or missing. */
export function isEmptyQuota(rq: ResourceQuota): boolean {
  return !rq.spec.hard[LIMITS_CPU] && !rq.spec.hard[LIMITS_MEMORY];
}

export function withAnnotations(rq: ResourceQuota, annotations: Record<string, string>): ResourceQuota {
  return { ...rq, metadata: { ...rq.metadata, annotations } };
}

/**
 * Harvester's namespace validator (pkg/webhook/resources/namespace/validator.go Update),
 * the same in v1.4.1 and v1.4.2 but for wording: a change of the field.cattle.io/resourceQuota
 * annotation is refused while the default quota has any migrating annotation, and a new
 * limitsCpu/limitsMemory below the quota's status.used is refused
 * (checkIfNewResourceQuotaIsSufficient). It reads the quota from Harvester's cache.
 */
export function namespaceValidator(wording: 'v1.4.1' | 'v1.4.2'): WebhookDef {
  return {
    name: 'validator.harvesterhci.io/namespace',
    kind: 'Namespace',
    validate(req: AdmissionRequest, view: View): string | undefined {
      if (req.operation !== 'UPDATE' || !req.old) return undefined;
      const next = req.object.metadata.annotations[ANN_RANCHER_QUOTA];
      if (!next || next === req.old.metadata.annotations[ANN_RANCHER_QUOTA]) return undefined;
      const name = req.object.metadata.name;
      const rq = defaultQuota(view, name);
      if (!rq) return undefined;
      if (hasMigratingVM(rq)) {
        return wording === 'v1.4.1'
          ? `namespace ${name} has migrating VMs, so you can't change resource quotas`
          : `namespace ${name} has migrating VMs, can't change resource quotas`;
      }
      const wanted = parseRancherQuota(next)?.hard ?? {};
      const used = rq.status.used;
      for (const [key, label] of [
        [LIMITS_CPU, 'CPU'],
        [LIMITS_MEMORY, 'Memory'],
      ] as const) {
        const w = wanted[key];
        const u = used[key];
        if (w !== undefined && w > 0 && u !== undefined && w < u) {
          const err = `new ${label} limit ${formatQuantity(w, key)} is lower than the current used ${label} limit ${formatQuantity(u, key)}`;
          return wording === 'v1.4.2' ? `can't update the resource quota of namespace ${name}, error: ${err}` : err;
        }
      }
      return undefined;
    },
  };
}
