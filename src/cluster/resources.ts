import { formatQuantity } from './quantity.js';

/** A core/v1 ResourceList with every quantity in integer milli-units. */
export type ResourceList = Readonly<Record<string, number>>;

export const LIMITS_CPU = 'limits.cpu';
export const LIMITS_MEMORY = 'limits.memory';
export const REQUESTS_CPU = 'requests.cpu';
export const REQUESTS_MEMORY = 'requests.memory';
export const PODS = 'pods';

/**
 * Rancher's quota field names and the ResourceQuota keys they become
 * (rancher/rancher pkg/controllers/managementuser/resourcequota, convertResourceListToLimit
 * and its inverse in pkg/resourcequota). Only the five a Harvester namespace quota uses.
 */
export const RANCHER_KEYS = {
  limitsCpu: LIMITS_CPU,
  limitsMemory: LIMITS_MEMORY,
  requestsCpu: REQUESTS_CPU,
  requestsMemory: REQUESTS_MEMORY,
  pods: PODS,
} as const;
export type RancherKey = keyof typeof RANCHER_KEYS;
export const RANCHER_KEY_NAMES = Object.keys(RANCHER_KEYS) as RancherKey[];

export function equal(a: ResourceList, b: ResourceList): boolean {
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/** "limits.cpu=4015m,limits.memory=6Gi", sorted by key, as the quota error's prettyPrint. */
export function prettyPrint(list: ResourceList): string {
  return Object.keys(list)
    .sort()
    .map((k) => `${k}=${formatQuantity(list[k]!, k)}`)
    .join(',');
}
