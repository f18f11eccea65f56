import type { ApiServer } from './apiserver.js';
import type { Pod } from './objects.js';
import { podCountsForQuota } from './objects.js';
import { REQUESTS_CPU, REQUESTS_MEMORY } from './resources.js';

/**
 * A minimal kube-scheduler: a node that is not cordoned (spec.unschedulable, set by the
 * drain's cordon), not excluded (KubeVirt's target pod has anti-affinity to the source
 * node), and whose allocatable covers the requests of the pods already on it plus this
 * one (NodeResourcesFit). Among those, the one with the most free cpu (LeastAllocated);
 * ties by name. Returns undefined when nothing fits: the pod stays Pending, Unschedulable.
 * `allow` narrows the candidates (a caller that has already scored them, as the agent's
 * preferred anti-affinity does).
 */
export function pickNode(api: ApiServer, pod: Pod, exclude?: string, allow?: (node: string) => boolean): string | undefined {
  const wantCpu = pod.spec.requests[REQUESTS_CPU] ?? 0;
  const wantMem = pod.spec.requests[REQUESTS_MEMORY] ?? 0;
  const usedCpu = new Map<string, number>();
  const usedMem = new Map<string, number>();
  for (const p of api.list('Pod')) {
    if (!p.spec.nodeName || !podCountsForQuota(p)) continue;
    usedCpu.set(p.spec.nodeName, (usedCpu.get(p.spec.nodeName) ?? 0) + (p.spec.requests[REQUESTS_CPU] ?? 0));
    usedMem.set(p.spec.nodeName, (usedMem.get(p.spec.nodeName) ?? 0) + (p.spec.requests[REQUESTS_MEMORY] ?? 0));
  }
  let best: string | undefined;
  let bestFree = -1;
  for (const n of api.list('Node')) {
    const name = n.metadata.name;
    if (n.spec.unschedulable || name === exclude || (allow && !allow(name))) continue;
    const freeCpu = (n.status.allocatable.cpu ?? 0) - (usedCpu.get(name) ?? 0);
    const freeMem = (n.status.allocatable.memory ?? 0) - (usedMem.get(name) ?? 0);
    if (freeCpu < wantCpu || freeMem < wantMem) continue;
    if (freeCpu > bestFree || (freeCpu === bestFree && best !== undefined && name < best)) {
      best = name;
      bestFree = freeCpu;
    }
  }
  return best;
}
