import { formatQuantity, parseQuantity } from '../cluster/quantity.js';
import { RANCHER_KEY_NAMES, RANCHER_KEYS, type RancherKey } from '../cluster/resources.js';
import type { RancherLimit } from './rancher-quota.js';

/**
 * The namespaces' Rancher project, as far as the quota controllers read it (rancher v2.10.3
 * pkg/apis/management.cattle.io/v3 ProjectSpec): `limit` is Spec.ResourceQuota.Limit, the
 * project's total; `namespaceDefault` is Spec.NamespaceDefaultResourceQuota.Limit, what
 * completes each namespace's quota. The model puts every namespace in this one project.
 */
export interface RancherProject {
  readonly limit: RancherLimit;
  /** Undefined: the project has no namespace default, and Rancher deletes the namespaces' quotas. */
  readonly namespaceDefault: RancherLimit | undefined;
}

/** Milli-units per Rancher key; the loader checked every quantity. */
function milli(limit: RancherLimit, k: RancherKey): number | undefined {
  const v = limit[k];
  return v === undefined || v === '' ? undefined : parseQuantity(v);
}

/**
 * rancher v2.10.3 pkg/controllers/managementuser/resourcequota/resource_quota_sync.go
 * completeQuota: the project default's keys, each overridden by the namespace's value when
 * the namespace sets it; a namespace key the default lacks is dropped ("Only override the
 * values for keys (resources) that actually exist in the project quota").
 */
export function completeQuota(requested: RancherLimit, namespaceDefault: RancherLimit): RancherLimit {
  const out: RancherLimit = {};
  for (const k of RANCHER_KEY_NAMES) {
    const d = namespaceDefault[k];
    if (d === undefined || d === '') continue;
    const r = requested[k];
    out[k] = r !== undefined && r !== '' ? r : d;
  }
  return out;
}

/**
 * deriveRequestedResourceQuota (same file): the limit the namespace's quota is derived
 * from. Annotation without a project default → none (the quota is deleted); no annotation
 * with a default → the default; both → completeQuota. getProjectNamespaceDefaultQuota
 * (resource_quota_common.go) reads the default only when the project has a ResourceQuota,
 * which RancherProject always has.
 */
export function deriveRequestedLimit(requested: RancherLimit | undefined, project: RancherProject): RancherLimit | undefined {
  const d = project.namespaceDefault;
  if (!d) return undefined;
  return requested ? completeQuota(requested, d) : d;
}

/** A resource list keyed by Rancher's field names, in milli-units. */
export type LimitTotals = Partial<Record<RancherKey, number>>;

export interface Fit {
  readonly fit: boolean;
  /** The exceeded keys' totals over the project's namespaces (quota.Mask of the sum); empty when it fits. */
  readonly exceeded: LimitTotals;
}

/**
 * rancher v2.10.3 pkg/resourcequota/quota_validate.go IsQuotaFit: the namespace's limit plus
 * every other namespace's (quota.Add, keyed by Rancher's field names, ConvertLimitToResourceList)
 * against the project's limit with quota.LessThanOrEqual (k8s.io/apiserver pkg/quota/v1
 * resources.go: for each key of the project limit present in the sum, exceeded when the sum
 * is greater; a key the project does not limit never exceeds). Exceeded: the sum's values
 * for those keys. (Its negative-value check cannot trigger: the loader refuses negative
 * quantities.)
 */
export function isQuotaFit(nsLimit: RancherLimit, others: readonly RancherLimit[], projectLimit: RancherLimit): Fit {
  const exceeded: LimitTotals = {};
  let fit = true;
  for (const k of RANCHER_KEY_NAMES) {
    const cap = milli(projectLimit, k);
    if (cap === undefined) continue;
    let sum = milli(nsLimit, k);
    for (const o of others) {
      const v = milli(o, k);
      if (v !== undefined) sum = (sum ?? 0) + v;
    }
    if (sum !== undefined && sum > cap) {
      fit = false;
      exceeded[k] = sum;
    }
  }
  return { fit, exceeded };
}

/**
 * The ResourceQuotaValidated condition's message when a namespace does not fit
 * (resource_quota_sync.go validateAndSetNamespaceQuota: fmt.Sprintf("Resource quota [%v]
 * exceeds project limit", utils.FormatResourceList(exceeded)); pkg/utils/utils.go
 * FormatResourceList: "key=quantity" items sorted as strings, joined with ","). The
 * quantity's text is Quantity.String() of a sum: printed here in canonical form (cpu in
 * cores or "m", memory with the largest exact binary suffix); for sums of decimal-suffixed
 * memory ("4G") Go would keep the decimal format (UNVERIFIED which one a mixed sum keeps).
 */
export function exceedsMessage(exceeded: LimitTotals): string {
  const items = (Object.keys(exceeded) as RancherKey[]).map((k) => `${k}=${formatQuantity(exceeded[k]!, RANCHER_KEYS[k])}`).sort();
  return `Resource quota [${items.join(',')}] exceeds project limit`;
}

/**
 * resource_quota_sync.go zeroOutResourceQuotaLimit: a quota created for a namespace that
 * does not fit gets "0" for every exceeded resource (CreateResourceQuota's "create" case).
 */
export function zeroOutLimit(limit: RancherLimit, exceeded: LimitTotals): RancherLimit {
  const out: RancherLimit = { ...limit };
  for (const k of Object.keys(exceeded) as RancherKey[]) out[k] = '0';
  return out;
}
