import { AgentDeployment, agentPod } from '../actors/rancher-agent.js';
import { RancherServer } from '../actors/rancher-server.js';
import { completeQuota } from '../actors/rancher-project.js';
import { ANN_CATTLE_STATUS, validatedCondition } from '../actors/rancher-quota-sync.js';
import { Tunnel } from '../actors/rancher-tunnel.js';
import { launcherPod, syncedVmiPdb } from '../actors/kubevirt.js';
import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, limitToHard, rancherQuotaAnnotation } from '../actors/rancher-quota.js';
import { Intent } from '../actors/user.js';
import { harvesterRequests } from '../cluster/launcher.js';
import type { Namespace, Node, Pod, ResourceQuota, VirtualMachineInstance } from '../cluster/objects.js';
import { keyOf, objKey, podCountsForQuota } from '../cluster/objects.js';
import { LIMITS_CPU, LIMITS_MEMORY, REQUESTS_CPU, REQUESTS_MEMORY, type ResourceList } from '../cluster/resources.js';
import { launcherPodUsage } from '../cluster/usage.js';
import type { World } from '../cluster/world.js';
import type { Scenario } from '../scenario/model.js';
import type { Strategy } from '../strategies/api.js';
import { StrategyFault } from '../strategies/fault.js';

const SETUP = 'setup';

/**
 * The cluster at rest, before any actor runs: the scenario's nodes, namespaces (with Rancher's
 * annotation), VMs and their launcher pods and PDBs, other pods, and each namespace's quota
 * with its usage. Returns the user's initial intent and each VM's home node.
 */
export function clusterAtRest(world: World, scenario: Scenario): { intent: Intent; homes: Map<string, string> } {
  const api = world.api;
  const intent = new Intent();
  const homes = new Map<string, string>();
  for (const n of scenario.nodes) {
    const node: Node = {
      kind: 'Node',
      metadata: meta(n.name, ''),
      spec: { unschedulable: false },
      status: { allocatable: { cpu: n.cpu, memory: n.memory } },
    };
    api.create(SETUP, node);
  }
  const project = scenario.rancher?.project;
  for (const spec of scenario.namespaces) {
    // With a project, the cluster at rest is what Rancher's sync converged to (rancher-project.ts).
    const ns = project?.namespaceDefault ? { ...spec, quota: completeQuota(spec.quota, project.namespaceDefault) } : spec;
    const annotations: Record<string, string> = scenario.rancher ? { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(ns.quota) } : {};
    if (project) annotations[ANN_CATTLE_STATUS] = validatedCondition(true, '', 0);
    api.create(SETUP, { kind: 'Namespace', metadata: { ...meta(ns.name, ''), annotations } } satisfies Namespace);
    intent.initial(ns.name, ns.quota);
    for (const vm of ns.vms) {
      const req = harvesterRequests(vm.cpu, vm.memory);
      const r = api.create(SETUP, {
        kind: 'VirtualMachineInstance',
        metadata: meta(vm.name, ns.name),
        spec: { cpu: vm.cpu, memoryLimit: vm.memory, memoryRequest: req.memory, evictionStrategy: vm.evictionStrategy },
        status: { nodeName: vm.node },
      } satisfies VirtualMachineInstance);
      if (r.ok) {
        api.create(SETUP, launcherPod(r.obj, vm.node, world.settings.additionalGuestMemoryOverheadRatio));
        // KubeVirt's disruption-budget controller keeps a PDB for every LiveMigrate VMI.
        if (vm.evictionStrategy === 'LiveMigrate') api.create(SETUP, syncedVmiPdb(r.obj));
      }
      homes.set(keyOf({ namespace: ns.name, name: vm.name }), vm.node);
    }
    for (const p of ns.pods) {
      const res = { [LIMITS_CPU]: p.cpu, [LIMITS_MEMORY]: p.memory, [REQUESTS_CPU]: p.cpu, [REQUESTS_MEMORY]: p.memory };
      api.create(SETUP, {
        kind: 'Pod',
        metadata: meta(p.name, ns.name),
        spec: { nodeName: p.node, limits: res, requests: res },
        status: { phase: 'Running' },
      } satisfies Pod);
    }
    const hard = limitToHard(ns.quota);
    const used: Record<string, number> = {};
    for (const k in hard) used[k] = 0;
    for (const p of api.list('Pod', ns.name)) {
      if (!podCountsForQuota(p)) continue;
      const u = launcherPodUsage(p);
      for (const k in hard) used[k]! += u[k] ?? 0;
    }
    const rq: ResourceQuota = {
      kind: 'ResourceQuota',
      metadata: scenario.rancher
        ? { ...meta('', ns.name), generateName: 'default-', labels: { [LABEL_DEFAULT_RQ]: 'true' } }
        : meta('quota', ns.name),
      spec: { hard },
      status: { hard, used },
    };
    api.create(SETUP, rq);
  }
  return { intent, homes };
}

/** Rancher, when the scenario has it: the tunnel, the server, the agent Deployment and its pods. */
export function startRancher(world: World, scenario: Scenario, strategy: Strategy): { agents: AgentDeployment | undefined; tunnel: Tunnel | undefined; adopt: (() => void) | undefined } {
  const api = world.api;
  const project = scenario.rancher?.project;
  // Rancher: the cluster agent's pods (already connected) and the server's user controllers.
  let agents: AgentDeployment | undefined;
  let tunnel: Tunnel | undefined;
  let adopt: (() => void) | undefined;
  if (scenario.rancher) {
    tunnel = new Tunnel(world);
    new RancherServer(world, tunnel, guardAgentSync(strategy), { syncOnlyChangedObjects: scenario.rancher.syncOnlyChangedObjects, ...(project ? { project } : {}) });
    agents = new AgentDeployment(world, scenario.rancher.agentNodes.length, tunnel);
    const keys: string[] = [];
    let carrier: string | undefined;
    for (const node of scenario.rancher.agentNodes) {
      const r = api.create(SETUP, agentPod(node));
      if (!r.ok) continue;
      keys.push(objKey(r.obj));
      if (node === scenario.rancher.carrier && carrier === undefined) carrier = objKey(r.obj);
    }
    // Connected once the explorers can see the world: which one first is the run's first choice.
    adopt = () => agents!.adoptRunning(keys, carrier);
  }
  return { agents, tunnel, adopt };
}

/** A strategy's agentQuotaSync, with its exceptions reported as the strategy's fault. */
function guardAgentSync(strategy: Strategy): ((requested: ResourceList, existing: ResourceQuota) => ResourceList) | undefined {
  const f = strategy.agentQuotaSync;
  if (!f) return undefined;
  return (requested, existing) => {
    try {
      return f(requested, existing);
    } catch (e) {
      throw new StrategyFault(strategy.name, `agentQuotaSync threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}

function meta(name: string, namespace: string) {
  return { name, namespace, uid: '', resourceVersion: 0, labels: {}, annotations: {} };
}
