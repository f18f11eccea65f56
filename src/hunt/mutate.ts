import type { Rng } from '../kernel/rng.js';
import { agentNodesOf, clone, repair, type Genome } from './genome.js';
import { chance, int, kindsOf, pick, project, timedAction, timing } from './generate.js';
import { rancherKnobOn, type Knob, type Space } from './space.js';

/** One small random change to a scenario that came close to failing (1–3 of them per child). */
export function mutate(rng: Rng, parent: Genome, space: Space, off: ReadonlySet<Knob>, seed: number): Genome {
  const g = clone(parent);
  g.seed = seed;
  const kinds = kindsOf(space, off);
  const ops: Array<() => void> = [
    () => {
      const a = timedAction(rng, g, space, kinds);
      if (a && g.actions.length < space.actions.count[1]) g.actions.push(a);
    },
    () => g.actions.length && g.actions.splice(int(rng, [0, g.actions.length - 1]), 1),
    () => {
      if (!g.actions.length) return;
      Object.assign(g.actions[int(rng, [0, g.actions.length - 1])]!, { to: undefined }, timing(rng, space));
    },
    () => {
      const ns = pick(rng, g.namespaces);
      if (chance(rng, 0.5)) ns.headroomCpu = pick(rng, space.quota.headroomCpu);
      else ns.headroomMemory = pick(rng, space.quota.headroomMemory);
    },
    () => {
      const ns = pick(rng, g.namespaces);
      if (ns.vms.length < space.namespaces.vms[1]) ns.vms.push({ cpu: pick(rng, space.vms.cpu.filter((c) => c <= g.nodes[0]!.cpu).concat(space.vms.cpu[0]!)), memory: pick(rng, space.vms.memory), node: 0, liveMigrate: chance(rng, space.vms.liveMigrate) });
    },
    () => {
      const ns = pick(rng, g.namespaces);
      if (ns.vms.length) ns.vms.splice(int(rng, [0, ns.vms.length - 1]), 1);
    },
    () => {
      const ns = pick(rng, g.namespaces);
      if (ns.vms.length) pick(rng, ns.vms).node = int(rng, [0, g.nodes.length - 1]);
    },
    () => {
      if (g.rancher) g.rancher.node = int(rng, [0, g.nodes.length - 1]);
      else if (space.rancher.imported > 0) g.rancher = { node: int(rng, [0, g.nodes.length - 1]), replicas: 1, nodes: [], carrier: null, syncOnlyChanged: false, project: null };
    },
    () => {
      if (g.rancher && !off.has('agentReplicas')) g.rancher.replicas = int(rng, space.rancher.agentReplicas);
    },
    () => {
      if (g.nodes.length < space.nodes.count[1]) g.nodes.push({ cpu: pick(rng, space.nodes.cpu), memory: pick(rng, space.nodes.memory) });
      else if (g.nodes.length > space.nodes.count[0]) g.nodes.pop();
    },
    () => {
      if (g.ratio !== null) g.ratio = pick(rng, space.overheadRatio);
    },
  ];
  // The Rancher-side knobs, each only when on (so a space without them mutates as before they existed).
  if (rancherKnobOn(space, off, 'carrier')) {
    ops.push(() => {
      if (!g.rancher) return;
      const replica = () => int(rng, [0, agentNodesOf(g, off).length - 1]);
      g.rancher.carrier = g.rancher.carrier === null || chance(rng, 0.5) ? replica() : null;
    });
  }
  if (rancherKnobOn(space, off, 'syncOnlyChangedObjects')) ops.push(() => g.rancher && (g.rancher.syncOnlyChanged = !g.rancher.syncOnlyChanged));
  if (rancherKnobOn(space, off, 'project')) {
    ops.push(() => {
      if (g.rancher) g.rancher.project = g.rancher.project === null || chance(rng, 0.5) ? project(rng, space) : null;
    });
  }
  const n = int(rng, [1, 3]);
  for (let i = 0; i < n; i++) pick(rng, ops)();
  for (const ns of g.namespaces) for (const v of ns.vms) if (v.node < g.nodes.length && v.cpu > g.nodes[v.node]!.cpu) v.cpu = Math.min(...space.vms.cpu);
  return repair(g);
}
