import { AgentDeployment, agentPod } from '../actors/rancher-agent.js';
import { RancherServer } from '../actors/rancher-server.js';
import { completeQuota } from '../actors/rancher-project.js';
import { ANN_CATTLE_STATUS, validatedCondition } from '../actors/rancher-quota-sync.js';
import { Tunnel } from '../actors/rancher-tunnel.js';
import { launcherPod, syncedVmiPdb } from '../actors/kubevirt.js';
import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, limitToHard, rancherQuotaAnnotation } from '../actors/rancher-quota.js';
import { Intent } from '../actors/user.js';
import { harvesterRequests } from '../cluster/launcher.js';
import { ApiServer, type ApiError } from '../cluster/apiserver.js';
import { RngStreams, UUID_DRAWS } from '../kernel/rng.js';
import type { Kind, KObject, Namespace, Node, Pod, ResourceQuota, VirtualMachineInstance } from '../cluster/objects.js';
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
 *
 * The cluster is the scenario's, shared by its runs (see {@link sharedAtRest}): the run's API
 * server starts from it, its recorder gets the creates' reports, and the run's own UID and name
 * streams continue past the draws the creates made, where they stood when every run built its
 * cluster itself: what a run creates keeps its name and UID (a migration's name breaks ties).
 */
export function clusterAtRest(world: World, scenario: Scenario): { intent: Intent; homes: ReadonlyMap<string, string> } {
  const rest = sharedAtRest(scenario);
  world.api.startFrom(rest.api);
  const recorder = world.recorder;
  for (const r of rest.reports) {
    if (r[0] === 'written') recorder.written(SETUP, 'create', undefined, r[1]);
    else recorder.refused(SETUP, 'create', r[1], r[2], r[3]);
  }
  world.rng.get('apiserver/uids').skip(rest.uids * UUID_DRAWS);
  world.rng.get('apiserver/names').skip(rest.nameDraws);
  const intent = new Intent();
  for (const ns of namespacesAtRest(scenario)) intent.initial(ns.name, ns.quota);
  return { intent, homes: homesOf(scenario) };
}

/** Each VM's home node, by VM key: the scenario's alone, so one map serves all its runs (none writes to it). */
const homes = new WeakMap<Scenario, ReadonlyMap<string, string>>();

function homesOf(scenario: Scenario): ReadonlyMap<string, string> {
  let h = homes.get(scenario);
  if (!h) {
    const m = new Map<string, string>();
    for (const ns of scenario.namespaces) for (const vm of ns.vms) m.set(keyOf({ namespace: ns.name, name: vm.name }), vm.node);
    homes.set(scenario, (h = m));
  }
  return h;
}

/** The scenario's namespaces, with a project's defaults filled in: what Rancher's sync converged to (rancher-project.ts). */
function namespacesAtRest(scenario: Scenario): Scenario['namespaces'] {
  const project = scenario.rancher?.project;
  if (!project?.namespaceDefault) return scenario.namespaces;
  return scenario.namespaces.map((spec) => ({ ...spec, quota: completeQuota(spec.quota, project.namespaceDefault!) }));
}

/** The creates of the cluster at rest, on an API server nothing has written to yet. */
export function createAtRest(api: ApiServer, scenario: Scenario, ratio: number | undefined): void {
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
  for (const ns of namespacesAtRest(scenario)) {
    const annotations: Record<string, string> = scenario.rancher ? { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(ns.quota) } : {};
    if (project) annotations[ANN_CATTLE_STATUS] = validatedCondition(true, '', 0);
    api.create(SETUP, { kind: 'Namespace', metadata: { ...meta(ns.name, ''), annotations } } satisfies Namespace);
    for (const vm of ns.vms) {
      const req = harvesterRequests(vm.cpu, vm.memory);
      const r = api.create(SETUP, {
        kind: 'VirtualMachineInstance',
        metadata: meta(vm.name, ns.name),
        spec: { cpu: vm.cpu, memoryLimit: vm.memory, memoryRequest: req.memory, evictionStrategy: vm.evictionStrategy },
        status: { nodeName: vm.node },
      } satisfies VirtualMachineInstance);
      if (r.ok) {
        api.create(SETUP, launcherPod(r.obj, vm.node, ratio));
        // KubeVirt's disruption-budget controller keeps a PDB for every LiveMigrate VMI.
        if (vm.evictionStrategy === 'LiveMigrate') api.create(SETUP, syncedVmiPdb(r.obj));
      }
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
}

/**
 * A scenario's cluster at rest, built once on an API server of its own and
 * shared by every run of the scenario: one cluster, whose UIDs and generated names are drawn
 * from streams of its own (seed {@link AT_REST_SEED}), not from each run's. Runs vary what
 * happens to the cluster, not who its objects are; nothing in the model orders or decides by the
 * value of a UID or of an at-rest generated name (they are matched, never compared), so a run
 * loses no interleaving by it. A run's stores start as clones of these (ObjectStore.clone: the
 * frozen objects and their indexes shared, a run's writes its own).
 */
/** One report a create of the cluster at rest made to the API server's observer. */
type AtRestReport = readonly ['written', KObject] | readonly ['refused', Kind, string, ApiError];

interface SharedAtRest {
  readonly api: ApiServer;
  /** What the creates reported to the API server's observer, in order: each run's recorder gets the same. */
  readonly reports: readonly AtRestReport[];
  /** The UIDs the creates drew, and the draws their generated names made. */
  readonly uids: number;
  readonly nameDraws: number;
}

/** The seed of the cluster at rest's own UID and name streams. */
export const AT_REST_SEED = 'at-rest';

/** Clusters at rest by scenario (immutable, so the object is the key). */
const shared = new WeakMap<Scenario, SharedAtRest>();

/** The scenario's cluster at rest (at its overhead ratio, the setting every run has), built on first use. */
export function sharedAtRest(scenario: Scenario): SharedAtRest {
  const known = shared.get(scenario);
  if (known) return known;
  const streams = new RngStreams(AT_REST_SEED);
  const names = streams.get('apiserver/names');
  const uidRng = streams.get('apiserver/uids');
  const reports: AtRestReport[] = [];
  let uids = 0;
  let nameDraws = 0;
  const api = new ApiServer(
    { now: 0 },
    () => (nameDraws++, names.float()),
    () => (uids++, uidRng.uuid()),
    {
      written: (_actor, _verb, _old, cur) => reports.push(['written', cur!]),
      refused: (_actor, _verb, kind, key, err) => reports.push(['refused', kind, key, err]),
    },
  );
  createAtRest(api, scenario, scenario.harvester.overheadRatio);
  const made: SharedAtRest = { api, reports, uids, nameDraws };
  shared.set(scenario, made);
  return made;
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
