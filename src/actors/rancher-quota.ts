import type { RancherKey, ResourceList } from '../cluster/resources.js';
import { RANCHER_KEYS } from '../cluster/resources.js';
import { parseQuantity } from '../cluster/quantity.js';

/** rancher pkg/controllers/managementuser/resourcequota resourceQuotaAnnotation. */
export const ANN_RANCHER_QUOTA = 'field.cattle.io/resourceQuota';
/** The label Rancher puts on the quota it manages (and Harvester looks for). */
export const LABEL_DEFAULT_RQ = 'resourcequota.management.cattle.io/default-resource-quota';

export type RancherLimit = Partial<Record<RancherKey, string>>;

/**
 * The order encoding/json writes ResourceQuotaLimit's fields in: its struct's order (rancher
 * v2.10.3 pkg/apis/management.cattle.io/v3/resource_quota_types.go ResourceQuotaLimit), the
 * five keys a Harvester namespace quota uses.
 */
const GO_FIELD_ORDER: readonly RancherKey[] = ['pods', 'requestsCpu', 'requestsMemory', 'limitsCpu', 'limitsMemory'];

/**
 * The namespace annotation's text as Rancher writes it (validateAndSetNamespaceQuota:
 * json.Marshal(&NamespaceResourceQuota{Limit: …}), empty fields omitted):
 * {"limit":{"requestsCpu":"2","limitsCpu":"12",...}}. The setup and the user's edits write
 * the same text, so Rancher's rewrite of it is a no-op unless the values change (how
 * Rancher's UI orders the keys is UNVERIFIED).
 */
export function rancherQuotaAnnotation(limit: RancherLimit): string {
  const ordered: Record<string, string> = {};
  for (const k of GO_FIELD_ORDER) if (limit[k] !== undefined && limit[k] !== '') ordered[k] = limit[k]!;
  return JSON.stringify({ limit: ordered });
}

/** Rancher's limit as ResourceQuota keys in milli-units ({ limitsCpu: "12" } → { "limits.cpu": 12000 }); the scenario loader has checked every quantity. */
export function limitToHard(limit: RancherLimit): Record<string, number> {
  const hard: Record<string, number> = {};
  for (const k of Object.keys(limit) as RancherKey[]) hard[RANCHER_KEYS[k]] = parseQuantity(limit[k]!)!;
  return hard;
}

const parsed = new Map<string, { limit: RancherLimit; hard: ResourceList }>();

/**
 * The annotation parsed into Rancher's limit and the ResourceQuota spec.hard it derives
 * (deriveRequestedResourceQuota → completeQuota → convertResourceLimitResourceQuotaSpec; convertResourceListToLimit is
 * the reverse direction). Annotation texts are few
 * and immutable, so each is parsed once.
 */
export function parseRancherQuota(text: string | undefined): { limit: RancherLimit; hard: ResourceList } | undefined {
  if (!text) return undefined;
  let p = parsed.get(text);
  if (!p) {
    const json = JSON.parse(text) as { limit?: Record<string, string> };
    const limit: RancherLimit = {};
    const hard: Record<string, number> = {};
    for (const [k, v] of Object.entries(json.limit ?? {})) {
      if (!(k in RANCHER_KEYS) || v === '') continue;
      const q = parseQuantity(v);
      if (q === undefined) continue;
      limit[k as RancherKey] = v;
      hard[RANCHER_KEYS[k as RancherKey]] = q;
    }
    p = { limit, hard };
    parsed.set(text, p);
  }
  return p;
}
