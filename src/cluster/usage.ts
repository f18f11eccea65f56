import type { Pod } from './objects.js';
import { podUsage } from './launcher.js';
import type { ResourceList } from './resources.js';

const cache = new WeakMap<object, ResourceList>();

/** A pod's quota usage, computed once per pod spec (specs are immutable). */
export function launcherPodUsage(pod: Pod): ResourceList {
  let u = cache.get(pod.spec);
  if (!u) {
    u = podUsage(pod.spec.limits, pod.spec.requests);
    cache.set(pod.spec, u);
  }
  return u;
}
