import type { ApiServer } from './apiserver.js';
import type { Pod } from './objects.js';
import { podCountsForQuota } from './objects.js';
import { REQUESTS_CPU, REQUESTS_MEMORY } from './resources.js';

/**
 * A minimal kube-scheduler: a node that is not cordoned (spec.unschedulable, set by the
 * drain's cordon), not excluded (KubeVirt's target pod has anti-affinity to the source
 * node), and whose allocatable covers the requests of the pods already on it plus this
 * one (NodeResourcesFit). Among those, the one with the most free cpu (LeastAllocated);
 * ties by name. Each node's used requests are summed once and kept until its pods change.
 * Returns undefined when nothing fits: the pod stays Pending, Unschedulable.
 * `allow` narrows the candidates (a caller that has already scored them, as the agent's
 * preferred anti-affinity does).
 */
export function pickNode(api: ApiServer, pod: Pod, exclude?: string, allow?: (node: string) => boolean): string | undefined {
  const wantCpu = pod.spec.requests[REQUESTS_CPU] ?? 0;
  const wantMem = pod.spec.requests[REQUESTS_MEMORY] ?? 0;
  const pods = api.indexed('Pod');
  let best: string | undefined;
  let bestFree = -1;
  for (const n of api.list('Node')) {
    const name = n.metadata.name;
    if (n.spec.unschedulable || name === exclude || (allow && !allow(name))) continue;
    const used = pods.derived('node', name, NODE_REQUESTS, sumRequests);
    const freeCpu = (n.status.allocatable.cpu ?? 0) - used.cpu;
    const freeMem = (n.status.allocatable.memory ?? 0) - used.memory;
    if (freeCpu < wantCpu || freeMem < wantMem) continue;
    if (freeCpu > bestFree || (freeCpu === bestFree && best !== undefined && name < best)) {
      best = name;
      bestFree = freeCpu;
    }
  }
  return best;
}

/** Names the per-node sum kept with the node's pods (ObjectStore.derived). */
const NODE_REQUESTS = {};

/** The requests of a node's pods that still run, summed in store order. */
function sumRequests(pods: Iterable<Pod>): { readonly cpu: number; readonly memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const p of pods) {
    if (!podCountsForQuota(p)) continue;
    cpu += p.spec.requests[REQUESTS_CPU] ?? 0;
    memory += p.spec.requests[REQUESTS_MEMORY] ?? 0;
  }
  return { cpu, memory };
}
