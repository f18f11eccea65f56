import type { ApiServer } from './apiserver.js';
import type { Node, Pod } from './objects.js';
import { podCountsForQuota } from './objects.js';
import { REQUESTS_CPU, REQUESTS_MEMORY } from './resources.js';
import type { Choices } from '../kernel/choice.js';
import type { ReadStore } from './store.js';

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
  const nodes = api.list('Node');
  let best: string | undefined;
  let bestFree = -1;
  /** How many feasible nodes have bestFree. */
  let tied = 0;
  for (const n of nodes) {
    const free = freeCpuIfFits(pods, n, wantCpu, wantMem, exclude, allow);
    if (free < 0) continue;
    if (free > bestFree) {
      best = n.metadata.name;
      bestFree = free;
      tied = 1;
    } else if (free === bestFree) tied++;
  }
  if (tied < 2) return best;
  const names: string[] = [];
  for (const n of nodes) if (freeCpuIfFits(pods, n, wantCpu, wantMem, exclude, allow) === bestFree) names.push(n.metadata.name);
  names.sort();
  return choices.picked(SCHEDULER_TIE_STREAM, names, 1)[0];
}

/** The node's free cpu if the pod fits it (and it may be chosen), else -1. */
function freeCpuIfFits(
  pods: ReadStore<Pod>,
  n: Node,
  wantCpu: number,
  wantMem: number,
  exclude: string | undefined,
  allow: ((node: string) => boolean) | undefined,
): number {
  const name = n.metadata.name;
  if (n.spec.unschedulable || name === exclude || (allow && !allow(name))) return -1;
  const used = pods.derived('node', name, NODE_REQUESTS, sumRequests);
  const freeCpu = (n.status.allocatable.cpu ?? 0) - used.cpu;
  const freeMem = (n.status.allocatable.memory ?? 0) - used.memory;
  return freeCpu < wantCpu || freeMem < wantMem ? -1 : freeCpu;
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
