import { AgentDeployment, agentPod } from '../actors/rancher-agent.js';
import { RancherServer } from '../actors/rancher-server.js';
import { completeQuota } from '../actors/rancher-project.js';
import { ANN_CATTLE_STATUS, validatedCondition } from '../actors/rancher-quota-sync.js';
import { Tunnel } from '../actors/rancher-tunnel.js';
import { launcherPod, syncedVmiPdb } from '../actors/kubevirt.js';
import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, limitToHard, rancherQuotaAnnotation } from '../actors/rancher-quota.js';
import { Intent } from '../actors/user.js';
import { harvesterRequests } from '../cluster/launcher.js';
import { ApiServer, deepFreeze, GENERATED_SUFFIX_LENGTH, type ApiResult } from '../cluster/apiserver.js';
import type { Kind, KObject, ObjectOf, Namespace, Node, Pod, ResourceQuota, VirtualMachineInstance } from '../cluster/objects.js';
import { keyOf, objKey, podCountsForQuota } from '../cluster/objects.js';
import { LIMITS_CPU, LIMITS_MEMORY, REQUESTS_CPU, REQUESTS_MEMORY, type ResourceList } from '../cluster/resources.js';
import { launcherPodUsage } from '../cluster/usage.js';
import type { ReadStore } from '../cluster/store.js';
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
 * From a scenario's second run on, the objects come from its template (see
 * {@link atRestTemplate}): the same creates, in the same order, with the same objects.
 */
export function clusterAtRest(world: World, scenario: Scenario): { intent: Intent; homes: ReadonlyMap<string, string> } {
  const ratio = world.settings.additionalGuestMemoryOverheadRatio;
  const template = world.api.pristine ? templateFor(scenario, ratio) : undefined;
  if (template) createFromTemplate(world.api, template);
  else createAtRest(world.api, scenario, ratio);
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
 * The creates of a scenario's cluster at rest, recorded once: what {@link createAtRest} hands
 * the API server, in order, deep-frozen. What a run draws (a UID, a generated name) is left to
 * the API server's create as before; where an object names another's UID (a launcher pod's
 * created-by label, a PDB's selector), `refs` says where, and the run's UID goes there. Runs
 * of a scenario share these objects' unchanging parts (a VMI's spec, a pod's resources): they
 * are frozen, as every stored version is.
 */
export interface AtRestTemplate {
  readonly ratio: number | undefined;
  readonly creates: readonly AtRestCreate[];
}

export interface AtRestCreate {
  readonly obj: KObject;
  /**
   * Whether a run may see this create refused: its generated name can come out as another's
   * (the same generateName in the same namespace, e.g. every PDB's kubevirt-disruption-budget-).
   * Only such a create may be refused, and nothing later depends on it (atRestTemplate checks).
   */
  readonly mayClash: boolean;
  /** The object's key when its name is fixed. */
  readonly key: string | undefined;
  /**
   * Where the object holds the UID of an earlier create (by its index), as a tree of the
   * object's parts, for filling a run's UIDs in one walk (undefined: it holds none).
   */
  readonly slots: UidSlots | undefined;
}

/**
 * Where an object takes UIDs, per key of a part: the index of the create whose UID goes
 * there, or the slots of the part below (which a run copies before filling it).
 */
export type UidSlots = ReadonlyArray<readonly [key: string, slot: number | UidSlots]>;

/** `refs` as {@link UidSlots}: each path's parts in the order the paths first name them. */
function slotsOf(refs: ReadonlyArray<{ readonly path: readonly string[]; readonly create: number }>): UidSlots | undefined {
  if (refs.length === 0) return undefined;
  type Tree = Array<[string, number | Tree]>;
  const root: Tree = [];
  for (const { path, create } of refs) {
    let cur = root;
    for (let i = 0; i < path.length - 1; i++) {
      let next = cur.find((e) => e[0] === path[i]);
      if (!next || typeof next[1] === 'number') {
        // A part named again below a UID it held: the later path wins, as assigning in order does.
        if (next) next[1] = [];
        else cur.push((next = [path[i]!, []]));
      }
      cur = next[1] as Tree;
    }
    const last = path[path.length - 1]!;
    const there = cur.find((e) => e[0] === last);
    if (there) there[1] = create;
    else cur.push([last, create]);
  }
  return root;
}

/** A stand-in UID while recording: the index of the create that drew it, between NULs no name or UID holds. */
const UID_MARK = '\u0000';
const placeholder = (i: number) => `${UID_MARK}${i}${UID_MARK}`;
/** A stand-in generated name's suffix while recording: unique, and marked so that a copy of it is found. */
const NAME_MARK = '\u0001';

/**
 * Templates by scenario. A scenario's first run builds its cluster as before (a scenario run
 * once gains nothing from a template); its second records the template. Scenarios are
 * immutable, so the object is the key.
 */
const templates = new WeakMap<Scenario, AtRestTemplate | 'once' | 'none'>();

function templateFor(scenario: Scenario, ratio: number | undefined): AtRestTemplate | undefined {
  const t = templates.get(scenario);
  if (t === undefined) {
    templates.set(scenario, 'once');
    return undefined;
  }
  if (t === 'none') return undefined;
  if (t !== 'once' && t.ratio === ratio) return t;
  const made = atRestTemplate(scenario, ratio);
  templates.set(scenario, made ?? 'none');
  return made;
}

/**
 * Record {@link createAtRest} on an API server of its own, with stand-in UIDs and generated
 * names. Undefined (each run builds its cluster directly) unless replaying the recorded
 * creates is sure to be what createAtRest would do in every run:
 * - every create succeeded, no stand-in name went into another object, and each stand-in
 *   UID only as a whole string value (then the run's UID replaces it);
 * - no fixed name can be a generated one (prefix and five characters): whether that create
 *   succeeds would depend on the run's draws;
 * - a create whose generated name can clash with another's (it is then refused, as it would
 *   be by the direct path) is one nothing later depends on: its result is never read, and
 *   its kind never listed or read.
 */
export function atRestTemplate(scenario: Scenario, ratio: number | undefined): AtRestTemplate | undefined {
  const inputs: KObject[] = [];
  /** Per create, whether its result was read. */
  const resultRead: boolean[] = [];
  const kindsRead = new Set<Kind>();
  let names = 0;
  let refused = false;
  const api = new (class extends ApiServer {
    override create<T extends KObject>(actor: string, obj: T): ApiResult<T> {
      const i = inputs.length;
      inputs.push(obj);
      resultRead.push(false);
      const r = super.create(actor, obj);
      return new Proxy(r, {
        get(target, p, receiver) {
          resultRead[i] = true;
          return Reflect.get(target, p, receiver) as unknown;
        },
      });
    }
    override get<K extends Kind>(kind: K, key: string): ObjectOf<K> | undefined {
      kindsRead.add(kind);
      return super.get(kind, key);
    }
    override list<K extends Kind>(kind: K, namespace?: string): ObjectOf<K>[] {
      kindsRead.add(kind);
      return super.list(kind, namespace);
    }
    override indexed<K extends Kind>(kind: K): ReadStore<ObjectOf<K>> {
      kindsRead.add(kind);
      return super.indexed(kind);
    }
    protected override nameSuffix(): string {
      return `${NAME_MARK}${names++}${NAME_MARK}`;
    }
  })(
    { now: 0 },
    () => 0,
    () => placeholder(inputs.length - 1),
    {
      written() {},
      refused() {
        refused = true;
      },
    },
  );
  createAtRest(api, scenario, ratio);
  if (refused) return undefined;
  const generated = new Map<string, number>();
  const genKey = (o: KObject) => `${o.kind}\n${o.metadata.namespace}\n${o.metadata.generateName}`;
  for (const o of inputs) if (!o.metadata.name && o.metadata.generateName) generated.set(genKey(o), (generated.get(genKey(o)) ?? 0) + 1);
  for (const o of inputs) {
    const name = o.metadata.name;
    if (!name || name.length <= GENERATED_SUFFIX_LENGTH) continue;
    if (generated.has(`${o.kind}\n${o.metadata.namespace}\n${name.slice(0, -GENERATED_SUFFIX_LENGTH)}`)) return undefined;
  }
  const creates: AtRestCreate[] = [];
  /** Per create, the creates whose UIDs it holds. */
  const holds: number[][] = [];
  for (const [i, obj] of inputs.entries()) {
    // createFrozen assigns the name and UID into a copy of the metadata: they must be there to keep their place.
    if (!Object.hasOwn(obj.metadata, 'name') || !Object.hasOwn(obj.metadata, 'uid')) return undefined;
    const refs: Array<{ path: string[]; create: number }> = [];
    if (!findRefs(obj, [], refs)) return undefined;
    const mayClash = !obj.metadata.name && (generated.get(genKey(obj)) ?? 0) > 1;
    if (mayClash && (resultRead[i] || kindsRead.has(obj.kind))) return undefined;
    creates.push({ obj: deepFreeze(obj), mayClash, key: obj.metadata.name ? keyOf(obj.metadata) : undefined, slots: slotsOf(refs) });
    holds.push(refs.map((r) => r.create));
  }
  for (const hs of holds) for (const h of hs) if (creates[h]!.mayClash) return undefined;
  return { ratio, creates };
}

/** Collect the stand-in UIDs in `v`; false if one is anywhere but a whole string value, or a stand-in name anywhere. */
function findRefs(v: unknown, path: string[], refs: Array<{ path: string[]; create: number }>): boolean {
  if (typeof v === 'string') {
    if (v.includes(NAME_MARK)) return false;
    if (!v.includes(UID_MARK)) return true;
    const m = /^\u0000(\d+)\u0000$/.exec(v);
    if (!m) return false;
    refs.push({ path: [...path], create: Number(m[1]) });
    return true;
  }
  if (typeof v !== 'object' || v === null) return true;
  for (const k of Object.keys(v)) {
    if (k.includes(UID_MARK) || k.includes(NAME_MARK)) return false;
    path.push(k);
    const ok = findRefs((v as Record<string, unknown>)[k], path, refs);
    path.pop();
    if (!ok) return false;
  }
  return true;
}

/** The recorded creates, each with this run's UIDs in place of the placeholders. */
export function createFromTemplate(api: ApiServer, template: AtRestTemplate): void {
  const creates = template.creates;
  const uids: string[] = [];
  let slots: UidSlots = [];
  const fill = (stored: KObject) => putUids(stored as unknown as Record<string, unknown>, slots, uids);
  for (let i = 0; i < creates.length; i++) {
    const c = creates[i]!;
    let r: ApiResult<KObject>;
    if (c.slots === undefined) r = api.createFrozen(SETUP, c.obj, undefined, c.key, c.mayClash);
    else {
      slots = c.slots;
      r = api.createFrozen(SETUP, c.obj, fill, c.key, c.mayClash);
    }
    if (r.ok) uids.push(r.obj.metadata.uid);
    // Refused as the direct path would be (its generated name came out taken); nothing reads its UID.
    else if (c.mayClash) uids.push('');
    // Cannot happen (atRestTemplate refuses a scenario where it could): a different cluster would follow.
    else throw new Error(`the cluster at rest departs from its template: ${r.err.message}`);
  }
}

/**
 * The UIDs put in at each slot of a create's stored object: its root and metadata are the
 * create's own; a part deeper down is copied from the template's first, the copy frozen once
 * filled (the rest is frozen already).
 */
function putUids(stored: Record<string, unknown>, slots: UidSlots, uids: readonly string[]): void {
  for (let i = 0; i < slots.length; i++) {
    const [k, slot] = slots[i]!;
    if (typeof slot === 'number') stored[k] = uids[slot]!;
    else if (k === 'metadata') fillOwn(stored[k] as Record<string, unknown>, slot, uids);
    else stored[k] = filledCopy(stored[k], slot, uids);
  }
}

function fillOwn(own: Record<string, unknown>, slots: UidSlots, uids: readonly string[]): void {
  for (let i = 0; i < slots.length; i++) {
    const [k, slot] = slots[i]!;
    own[k] = typeof slot === 'number' ? uids[slot]! : filledCopy(own[k], slot, uids);
  }
}

function filledCopy(part: unknown, slots: UidSlots, uids: readonly string[]): unknown {
  const copy = (Array.isArray(part) ? [...(part as unknown[])] : { ...(part as Record<string, unknown>) }) as Record<string, unknown>;
  fillOwn(copy, slots, uids);
  return Object.freeze(copy);
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
