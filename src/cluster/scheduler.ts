import type { ApiServer } from './apiserver.js';
import type { Pod } from './objects.js';
import { podCountsForQuota } from './objects.js';
import { REQUESTS_CPU, REQUESTS_MEMORY } from './resources.js';
import type { Choices } from '../kernel/choice.js';

/** The stream (and pick) of kube-scheduler's choice among equally scored nodes. */
export const SCHEDULER_TIE_STREAM = 'kube-scheduler/tie';

/** What pickNode needs of a run's choices: {@link Choices.picked}. */
export type TieChoices = Pick<Choices, 'picked'>;

/**
 * A minimal kube-scheduler: a node that is not cordoned (spec.unschedulable, set by the
 * drain's cordon), not excluded (KubeVirt's target pod has anti-affinity to the source
 * node), and whose allocatable covers the requests of the pods already on it plus this
 * one (NodeResourcesFit). Among those, the one with the most free cpu (LeastAllocated).
 * Equally free nodes tie: kube-scheduler takes one of the top-scored nodes uniformly at random
 * (pkg/scheduler/schedule_one.go selectHost, reservoir sampling), so the tie is a choice of
 * the run: the tied nodes, by name, go to `choices.picked` (SCHEDULER_TIE_STREAM), which random
 * runs draw as a shuffle and an exhaustive search enumerates as 'pick' choices. Without a tie
 * nothing is asked and nothing allocated. Each node's used requests are summed once and kept
 * until its pods change. Returns undefined when nothing fits: the pod stays Pending,
 * Unschedulable. `allow` narrows the candidates (a caller that has already scored them, as the
 * agent's preferred anti-affinity does).
 */
export function pickNode(api: ApiServer, choices: TieChoices, pod: Pod, exclude?: string, allow?: (node: string) => boolean): string | undefined {
  const wantCpu = pod.spec.requests[REQUESTS_CPU] ?? 0;
  const wantMem = pod.spec.requests[REQUESTS_MEMORY] ?? 0;
  const pods = api.indexed('Pod');
  // The fitting nodes with the most free cpu so far (a scratch list: picked copies what it takes).
  const best = TOP;
  best.length = 0;
  let bestFree = -1;
  for (const n of api.list('Node')) {
    const name = n.metadata.name;
    if (n.spec.unschedulable || name === exclude || (allow && !allow(name))) continue;
    const used = pods.derived('node', name, NODE_REQUESTS, sumRequests);
    const freeCpu = (n.status.allocatable.cpu ?? 0) - used.cpu;
    const freeMem = (n.status.allocatable.memory ?? 0) - used.memory;
    if (freeCpu < wantCpu || freeMem < wantMem || freeCpu < bestFree) continue;
    if (freeCpu > bestFree) {
      best.length = 0;
      bestFree = freeCpu;
    }
    best.push(name);
  }
  if (best.length < 2) return best[0];
  best.sort();
  return choices.picked(SCHEDULER_TIE_STREAM, best, 1)[0];
}

/** pickNode's scratch list of the best nodes (nothing yields while it is filled and read). */
const TOP: string[] = [];

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
