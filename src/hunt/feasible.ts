import { harvesterRequests, launcherPodResources } from '../cluster/launcher.js';
import { parseQuantity } from '../cluster/quantity.js';
import { REQUESTS_CPU, REQUESTS_MEMORY } from '../cluster/resources.js';
import type { Genome, TimedGene } from './genes.js';

/**
 * A generated scenario must be one that some strategy could pass: otherwise its `expect:`
 * lines state what no fix can achieve, and the "failure" is the scenario's, not the
 * strategy's. Quota is never what makes a scenario unsatisfiable (a strategy may raise it as
 * it likes, user edits never go below what is in use, and a Rancher project's limit leaves
 * room for every user edit up: genome.ts editTarget, projectOf), but nodes are:
 * - every node drained leaves the VMs nowhere to go;
 * - a VM that cannot live-migrate (evictionStrategy None) on a drained node is evicted, never
 *   moved (KubeVirt's eviction admitter lets the eviction through: kubevirt/eviction-admitter.ts),
 *   so it is stuck for every strategy;
 * - a VM that must move needs a node other than its own, not drained, with room for its
 *   target pod's requests (the scheduler's NodeResourcesFit: cluster/scheduler.ts).
 *
 * Room is checked by placing every VM that must move the way the scheduler does (the
 * fitting node with the most free CPU, LeastAllocated) in the scenario's order and in the
 * reverse order: a scenario passes only if both place every VM. Migrations that run at the
 * same time need no more room than their final placement, since each source pod is on a
 * drained node (or its own) that no target uses.
 */
export function satisfiable(g: Genome): boolean {
  const n = g.nodes.length;
  const drained = new Set<number>();
  const moving = new Set<string>();
  for (const { act } of g.actions) {
    if (act.kind === 'drain') drained.add(act.node);
    else if (act.kind === 'migrate') moving.add(`${act.ns}/${act.vm}`);
  }
  if (drained.size >= n) return false;
  const ratio = g.ratio !== null ? Number(g.ratio) : 1.5;
  // Free requests per node after everything that stays where it is.
  const free = g.nodes.map((nd) => ({ cpu: nd.cpu * 1000, memory: parseQuantity(nd.memory)! }));
  const movers: Array<{ from: number; cpu: number; memory: number }> = [];
  for (const [i, ns] of g.namespaces.entries()) {
    for (const [j, v] of ns.vms.entries()) {
      const r = requestsOf(v.cpu, v.memory, ratio);
      const mustMove = drained.has(v.node) || moving.has(`${i}/${j}`);
      if (drained.has(v.node) && !v.liveMigrate) return false;
      if (mustMove) movers.push({ from: v.node, ...r });
      else take(free[v.node]!, r);
    }
    // Other pods on a drained node are evicted and, having no controller, gone.
    for (const p of ns.pods) if (!drained.has(p.node)) take(free[p.node]!, { cpu: parseQuantity(p.cpu)!, memory: parseQuantity(p.memory)! });
  }
  if (free.some((f) => f.cpu < 0 || f.memory < 0)) return false;
  return place(movers, free, drained) && place([...movers].reverse(), free, drained);
}

/** The scheduler's choice for each mover in turn: not drained, not its own node, fits, most free CPU. */
function place(movers: ReadonlyArray<{ from: number; cpu: number; memory: number }>, start: ReadonlyArray<{ cpu: number; memory: number }>, drained: ReadonlySet<number>): boolean {
  const free = start.map((f) => ({ ...f }));
  for (const m of movers) {
    let best = -1;
    free.forEach((f, i) => {
      if (i === m.from || drained.has(i) || f.cpu < m.cpu || f.memory < m.memory) return;
      if (best < 0 || f.cpu > free[best]!.cpu) best = i;
    });
    if (best < 0) return false;
    take(free[best]!, m);
  }
  return true;
}

function take(f: { cpu: number; memory: number }, r: { cpu: number; memory: number }): void {
  f.cpu -= r.cpu;
  f.memory -= r.memory;
}

function requestsOf(cpu: number, memory: string, ratio: number): { cpu: number; memory: number } {
  const memoryLimit = parseQuantity(memory)!;
  const r = launcherPodResources({ cpu, memoryLimit, memoryRequest: harvesterRequests(cpu, memoryLimit).memory }, ratio).requests;
  return { cpu: r[REQUESTS_CPU] ?? 0, memory: r[REQUESTS_MEMORY] ?? 0 };
}

/**
 * Keep the actions, in order, that leave the scenario satisfiable: an action that would make
 * it unsatisfiable (the last node's drain, a drain of a node with a VM that cannot migrate,
 * a move with no room) is dropped. Mutates and returns g.
 */
export function keepSatisfiable(g: Genome): Genome {
  const all = g.actions;
  const kept: TimedGene[] = [];
  g.actions = kept;
  for (const a of all) {
    kept.push(a);
    if (!satisfiable(g)) kept.pop();
  }
  return g;
}
