import type { Pod } from './objects.js';
import { podUsage } from './launcher.js';
import type { ResourceList } from './resources.js';

const cache = new WeakMap<ResourceList, WeakMap<ResourceList, ResourceList>>();

/**
 * A pod's quota usage, computed once per (limits, requests) pair. Pods rendered for the same
 * VMI share those objects (launcherPodResources caches them), so every retry of a target pod
 * maps to the same usage object, and admission's refusal text cache can recognise it.
 */
export function launcherPodUsage(pod: Pod): ResourceList {
  const { limits, requests } = pod.spec;
  let byRequests = cache.get(limits);
  if (!byRequests) cache.set(limits, (byRequests = new WeakMap()));
  let u = byRequests.get(requests);
  if (!u) {
    u = podUsage(limits, requests);
    byRequests.set(requests, u);
  }
  return u;
}
