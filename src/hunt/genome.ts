import { Document, isMap, isScalar, visit } from 'yaml';
import { harvesterRequests, launcherPodResources } from '../cluster/launcher.js';
import { formatQuantity, parseQuantity } from '../cluster/quantity.js';
import { LIMITS_CPU, LIMITS_MEMORY } from '../cluster/resources.js';
import { parseDuration } from '../scenario/duration.js';
import { defaultAgentReplicas } from '../actors/rancher-agent.js';
import { keepSatisfiable } from './feasible.js';
import type { Knob } from './space.js';

export type { ActGene, Genome, NsGene, PodGene, ProjectGene, RancherGene, TimedGene, VmGene } from './genes.js';
import type { Genome, ProjectGene, VmGene } from './genes.js';

export const NS_NAMES = ['web', 'db', 'app', 'ci', 'ml'] as const;
const B = 1000;

export const nodeName = (i: number) => `node-${i + 1}`;
export const nsName = (i: number) => NS_NAMES[i] ?? `ns-${i + 1}`;
export const vmName = (ns: number, i: number) => `${nsName(ns)}-${i}`;

export function clone(g: Genome): Genome {
  return JSON.parse(JSON.stringify(g)) as Genome;
}

/**
 * Drop what refers to something gone, so the genome stays loadable; then the actions that
 * would make it unsatisfiable for every strategy (feasible.ts). Mutates and returns g.
 */
export function repair(g: Genome): Genome {
  const n = g.nodes.length;
  for (const ns of g.namespaces) {
    for (const v of ns.vms) if (v.node >= n) v.node = n - 1;
    for (const p of ns.pods) if (p.node >= n) p.node = n - 1;
  }
  if (g.rancher) {
    if (g.rancher.node >= n) g.rancher.node = 0;
    g.rancher.nodes = [...new Set(g.rancher.nodes.filter((x) => x < n))].sort((a, b) => a - b);
    if (g.rancher.replicas < 1) g.rancher.replicas = 1;
  }
  g.actions = g.actions.filter(({ act }) => {
    switch (act.kind) {
      case 'drain':
        return act.node < n;
      case 'restartAgent':
      case 'rolloutAgent':
        return g.rancher !== null;
      case 'editQuota':
      case 'editQuotaSpec':
        return act.ns < g.namespaces.length;
      case 'migrate':
        return act.ns < g.namespaces.length && act.vm < g.namespaces[act.ns]!.vms.length;
    }
  });
  return keepSatisfiable(g);
}

/** One VM's virt-launcher pod limits (what the quota counts), at the overhead ratio. */
function launcherLimits(v: VmGene, ratio: number): { cpu: number; memory: number } {
  const memoryLimit = parseQuantity(v.memory)!;
  const r = launcherPodResources({ cpu: v.cpu, memoryLimit, memoryRequest: harvesterRequests(v.cpu, memoryLimit).memory }, ratio);
  return { cpu: r.limits[LIMITS_CPU]!, memory: r.limits[LIMITS_MEMORY]! };
}

/** Memory (milli-units, rounded up to whole bytes) as a quota value, in the notation the trace and the report print. */
function memQuantity(milli: number): string {
  return formatQuantity(Math.ceil(milli / B) * B, 'memory');
}

function cpuQuantity(milli: number): string {
  return formatQuantity(milli, 'cpu');
}

/** The namespace's starting quota: what its pods use, plus the headroom. */
export function nsQuota(g: Genome, i: number, off: ReadonlySet<Knob>): { cpu: number; memory: number } {
  const ns = g.namespaces[i]!;
  const ratio = g.ratio !== null && !off.has('overheadRatio') ? Number(g.ratio) : 1.5;
  let cpu = parseQuantity(ns.headroomCpu)!;
  let memory = parseQuantity(ns.headroomMemory)!;
  for (const v of ns.vms) {
    const l = launcherLimits(v, ratio);
    cpu += l.cpu;
    memory += l.memory;
  }
  if (!off.has('pods')) {
    for (const p of ns.pods) {
      cpu += parseQuantity(p.cpu)!;
      memory += parseQuantity(p.memory)!;
    }
  }
  return { cpu, memory };
}

/**
 * The CPU (milli) a user edit of namespace `ns` asks for. A user lowers the quota at most to
 * what is in use: below it, Harvester's webhook refuses the edit for good, which is the
 * webhook doing its job, not a race.
 */
function editTarget(g: Genome, ns: number, cpu: string, off: ReadonlySet<Knob>): number {
  const base = nsQuota(g, ns, off).cpu;
  const used = base - parseQuantity(g.namespaces[ns]!.headroomCpu)!;
  const q = Math.max(used, base + parseQuantity(cpu.replace(/^-/, ''))! * (cpu.startsWith('-') ? -1 : 1));
  return Math.max(1, q);
}

/**
 * The agent replicas' nodes, as the loader places them (load.ts): the node list, or the
 * first replica on agentNode and the others spread over the other nodes in name order.
 */
export function agentNodesOf(g: Genome, off: ReadonlySet<Knob>): string[] {
  const r = g.rancher!;
  if (!off.has('agentNodes') && r.nodes.length) return r.nodes.map(nodeName);
  const replicas = off.has('agentReplicas') ? defaultAgentReplicas(g.nodes.length) : r.replicas;
  const first = nodeName(r.node);
  const others = g.nodes.map((_, i) => nodeName(i)).filter((n) => n !== first).sort();
  return Array.from({ length: replicas }, (_, i) => (i === 0 ? first : (others[(i - 1) % Math.max(1, others.length)] ?? first)));
}

/**
 * cluster.rancher.project for a project gene. The loader requires the namespaces' quotas,
 * completed by namespaceDefault, to fit the limit at rest, and every quota key to be in
 * namespaceDefault: so namespaceDefault sets the two keys every generated quota has
 * (limitsCpu, limitsMemory; its values, the first namespace's quota, then complete nothing),
 * and the limit is each namespace's quota at its highest (its start, or a user's
 * editQuota up) summed, plus the room. An editQuota over the project's room would never be
 * applied under any strategy (README "Scenario format", project), so the limit leaves room
 * for every user edit: the scenario stays satisfiable (feasible.ts). A kubectl edit of
 * spec.hard (editQuotaSpec) and Harvester's raises do not go through the project's check.
 */
export function projectOf(g: Genome, off: ReadonlySet<Knob>, p: ProjectGene): { limit: { limitsCpu: string; limitsMemory: string }; namespaceDefault: { limitsCpu: string; limitsMemory: string } } {
  const quotas = g.namespaces.map((_, i) => nsQuota(g, i, off));
  // Sums of the values as written (the loader parses what the file says).
  const text = (q: { cpu: number; memory: number }) => ({ limitsCpu: cpuQuantity(q.cpu), limitsMemory: memQuantity(q.memory) });
  const high = quotas.map((q) => parseQuantity(text(q).limitsCpu)!);
  for (const { act } of g.actions) if (act.kind === 'editQuota') high[act.ns] = Math.max(high[act.ns]!, parseQuantity(cpuQuantity(editTarget(g, act.ns, act.cpu, off)))!);
  const cpu = high.reduce((a, b) => a + b, 0) + parseQuantity(p.roomCpu)!;
  const memory = quotas.reduce((a, q) => a + parseQuantity(text(q).limitsMemory)!, 0) + parseQuantity(p.roomMemory)!;
  return { limit: { limitsCpu: cpuQuantity(cpu), limitsMemory: formatQuantity(memory, 'memory') }, namespaceDefault: text(quotas[0]!) };
}

/** The scenario file's object (see README "Scenario format"). */
export function toScenario(g: Genome, name: string, off: ReadonlySet<Knob>, extra: { description?: string; strategies?: string[]; runs?: number; horizon: string; expect?: Record<string, unknown> }): Record<string, unknown> {
  const cluster: Record<string, unknown> = {
    nodes: g.nodes.map((nd, i) => ({ name: nodeName(i), cpu: nd.cpu, memory: nd.memory })),
  };
  if (g.ratio !== null && !off.has('overheadRatio')) cluster.harvester = { additionalGuestMemoryOverheadRatio: g.ratio };
  if (g.rancher) {
    // agentNodes (one node per replica) replaces agentNode and agentReplicas.
    const r: Record<string, unknown> =
      !off.has('agentNodes') && g.rancher.nodes.length
        ? { agentNodes: g.rancher.nodes.map(nodeName) }
        : { agentNode: nodeName(g.rancher.node), ...(!off.has('agentReplicas') ? { agentReplicas: g.rancher.replicas } : {}) };
    if (g.rancher.carrier !== null && !off.has('carrier')) {
      const on = agentNodesOf(g, off);
      r.carrier = on[g.rancher.carrier % on.length];
    }
    if (g.rancher.syncOnlyChanged && !off.has('syncOnlyChangedObjects')) r.syncOnlyChangedObjects = true;
    if (g.rancher.project && !off.has('project') && g.namespaces.length) r.project = projectOf(g, off, g.rancher.project);
    cluster.rancher = r;
  }
  cluster.namespaces = g.namespaces.map((ns, i) => {
    const q = nsQuota(g, i, off);
    const out: Record<string, unknown> = {
      name: nsName(i),
      quota: { limitsCpu: cpuQuantity(q.cpu), limitsMemory: memQuantity(q.memory) },
      vms: ns.vms.map((v, j) => ({ name: vmName(i, j), node: nodeName(v.node), cpu: v.cpu, memory: v.memory, ...(v.liveMigrate ? {} : { evictionStrategy: 'None' }) })),
    };
    if (!off.has('pods') && ns.pods.length) out.pods = ns.pods.map((p, j) => ({ name: `${nsName(i)}-pod-${j}`, node: nodeName(p.node), cpu: p.cpu, memory: p.memory }));
    return out;
  });
  const actions = g.actions.map(({ act, at, to }) => {
    const timing = to !== undefined && to !== at ? { between: [at, to] } : { at };
    switch (act.kind) {
      case 'drain':
        return { drain: nodeName(act.node), ...timing };
      case 'restartAgent':
        return { restartAgent: {}, ...timing };
      case 'rolloutAgent':
        return { rolloutAgent: {}, ...timing };
      case 'migrate':
        return { migrate: `${nsName(act.ns)}/${vmName(act.ns, act.vm)}`, ...timing };
      case 'editQuota':
      case 'editQuotaSpec':
        return { [act.kind]: { namespace: nsName(act.ns), quota: { limitsCpu: cpuQuantity(editTarget(g, act.ns, act.cpu, off)) } }, ...timing };
    }
  });
  return {
    name,
    ...(extra.description ? { description: extra.description } : {}),
    cluster,
    actions,
    ...(extra.strategies ? { strategies: extra.strategies } : {}),
    runs: extra.runs ?? 100,
    seed: g.seed,
    horizon: extra.horizon,
    ...(extra.expect ? { expect: extra.expect } : {}),
  };
}

/** YAML as people write scenarios: small maps and lists of scalars on one line. */
export function toYaml(obj: Record<string, unknown>, header = ''): string {
  const doc = new Document(obj);
  visit(doc, {
    Map(_k, node) {
      if (node.items.length <= 6 && node.items.every((p) => isScalar(p.value) || (isMap(p.value) && p.value.items.length === 0))) node.flow = true;
    },
    Seq(_k, node) {
      if (node.items.every((x) => isScalar(x))) node.flow = true;
    },
  });
  return header + doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}

/** Size of a genome, for "smaller": VMs, actions, namespaces, nodes, window length. */
export function size(g: Genome): number[] {
  const vms = g.namespaces.reduce((n, ns) => n + ns.vms.length, 0);
  const pods = g.namespaces.reduce((n, ns) => n + ns.pods.length, 0);
  const windows = g.actions.reduce((n, a) => n + (a.to !== undefined ? parseDuration(a.to)! - parseDuration(a.at)! : 0), 0);
  return [vms, g.actions.length, g.namespaces.length, g.nodes.length, pods, windows];
}
