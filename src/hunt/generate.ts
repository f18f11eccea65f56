import type { Rng } from '../kernel/rng.js';
import type { ActGene, Genome, NsGene, ProjectGene, TimedGene, VmGene } from './genome.js';
import { agentNodesOf, repair } from './genome.js';
import { parseDuration } from '../scenario/duration.js';
import { rancherKnobOn, type ActionKind, type Knob, type Space } from './space.js';

/** Random draws from the hunt's seeded stream (kernel/rng.ts): never Math.random. */
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.float() * xs.length)]!;
export const int = (rng: Rng, [lo, hi]: readonly [number, number]): number => lo + Math.floor(rng.float() * (hi - lo + 1));
export const chance = (rng: Rng, p: number): boolean => rng.float() < p;

/** The action kinds the space allows and the loader accepts. */
export function kindsOf(space: Space, off: ReadonlySet<Knob>): ActionKind[] {
  return space.actions.kinds.filter((k) => !off.has(k as Knob));
}

function vm(rng: Rng, space: Space, nodes: number): VmGene {
  // A quarter of VMs go to node-1, so that a drain of it often moves several at once.
  return { cpu: pick(rng, space.vms.cpu), memory: pick(rng, space.vms.memory), node: chance(rng, 0.25) ? 0 : int(rng, [0, nodes - 1]), liveMigrate: chance(rng, space.vms.liveMigrate) };
}

function namespace(rng: Rng, space: Space, nodes: number): NsGene {
  const vms = Array.from({ length: int(rng, space.namespaces.vms) }, () => vm(rng, space, nodes));
  const pods = Array.from({ length: int(rng, space.namespaces.pods) }, () => ({ node: int(rng, [0, nodes - 1]), cpu: pick(rng, ['100m', '500m', '1']), memory: pick(rng, ['128Mi', '512Mi', '1Gi']) }));
  return { vms, pods, headroomCpu: pick(rng, space.quota.headroomCpu), headroomMemory: pick(rng, space.quota.headroomMemory) };
}

export function action(rng: Rng, g: Genome, kinds: readonly ActionKind[]): ActGene | undefined {
  const usable = kinds.filter((k) => (k === 'restartAgent' || k === 'rolloutAgent' ? g.rancher !== null : k === 'migrate' ? g.namespaces.some((ns) => ns.vms.length > 0) : true));
  if (!usable.length) return undefined;
  const kind = pick(rng, usable);
  switch (kind) {
    case 'drain': {
      // Mostly a node that has VMs or the agent: a drain of an empty node tells little.
      const busy = g.nodes.map((_, i) => i).filter((i) => g.rancher?.node === i || g.namespaces.some((ns) => ns.vms.some((v) => v.node === i)));
      return { kind, node: busy.length && chance(rng, 0.85) ? pick(rng, busy) : int(rng, [0, g.nodes.length - 1]) };
    }
    case 'restartAgent':
    case 'rolloutAgent':
      return { kind };
    case 'migrate': {
      const withVms = g.namespaces.map((_, i) => i).filter((i) => g.namespaces[i]!.vms.length > 0);
      const ns = pick(rng, withVms);
      return { kind, ns, vm: int(rng, [0, g.namespaces[ns]!.vms.length - 1]) };
    }
    case 'editQuota':
    case 'editQuotaSpec':
      return { kind, ns: int(rng, [0, g.namespaces.length - 1]), cpu: '0' };
  }
}

export function timing(rng: Rng, space: Space): { at: string; to?: string } {
  const a = pick(rng, space.actions.times);
  if (!chance(rng, space.actions.windows)) return { at: a };
  const b = pick(rng, space.actions.times);
  const [lo, hi] = parseDuration(a)! <= parseDuration(b)! ? [a, b] : [b, a];
  return lo === hi ? { at: lo } : { at: lo, to: hi };
}

export function timedAction(rng: Rng, g: Genome, space: Space, kinds: readonly ActionKind[]): TimedGene | undefined {
  const act = action(rng, g, kinds);
  if (!act) return undefined;
  if (act.kind === 'editQuota' || act.kind === 'editQuotaSpec') act.cpu = pick(rng, space.actions.editCpu);
  return { act, ...timing(rng, space) };
}

/**
 * A fresh scenario. Swarm testing (Groce et al., ISSTA 2012): each scenario draws its own
 * subset of the action kinds, so that no kind crowds out a combination it would mask.
 */
export function randomGenome(rng: Rng, space: Space, off: ReadonlySet<Knob>, seed: number): Genome {
  const nodes = Array.from({ length: int(rng, space.nodes.count) }, () => ({ cpu: pick(rng, space.nodes.cpu), memory: pick(rng, space.nodes.memory) }));
  const rancher = chance(rng, space.rancher.imported)
    ? { node: int(rng, [0, nodes.length - 1]), replicas: off.has('agentReplicas') ? 1 : int(rng, space.rancher.agentReplicas), nodes: [] as number[], carrier: null, syncOnlyChanged: false, project: null }
    : null;
  if (rancher && !off.has('agentNodes') && chance(rng, 0.3)) rancher.nodes = nodes.map((_, i) => i).filter(() => chance(rng, 0.5));
  const g: Genome = {
    seed,
    nodes,
    rancher,
    ratio: off.has('overheadRatio') ? null : pick(rng, space.overheadRatio),
    namespaces: Array.from({ length: int(rng, space.namespaces.count) }, () => namespace(rng, space, nodes.length)),
    actions: [],
  };
  // VMs must fit their node (the loader checks it): the largest VM goes where it fits.
  for (const ns of g.namespaces) for (const v of ns.vms) if (v.cpu > g.nodes[v.node]!.cpu) v.cpu = Math.min(...space.vms.cpu);
  const all = kindsOf(space, off);
  const swarm = all.filter(() => chance(rng, 0.6));
  const kinds = swarm.length ? swarm : all;
  const count = int(rng, space.actions.count);
  for (let i = 0; i < count; i++) {
    const a = timedAction(rng, g, space, kinds);
    if (a) g.actions.push(a);
  }
  // Drawn last, and only when on, so that a space without them draws what it drew before they existed.
  if (g.rancher) {
    if (rancherKnobOn(space, off, 'carrier') && chance(rng, space.rancher.carrier)) g.rancher.carrier = int(rng, [0, agentNodesOf(g, off).length - 1]);
    if (rancherKnobOn(space, off, 'syncOnlyChangedObjects')) g.rancher.syncOnlyChanged = chance(rng, space.rancher.syncOnlyChangedObjects);
    if (rancherKnobOn(space, off, 'project') && chance(rng, space.rancher.project.p)) g.rancher.project = project(rng, space);
  }
  return repair(g);
}

export function project(rng: Rng, space: Space): ProjectGene {
  return { roomCpu: pick(rng, space.rancher.project.roomCpu), roomMemory: pick(rng, space.rancher.project.roomMemory) };
}
