import type { ApiServer } from '../cluster/apiserver.js';
import type { Pod } from '../cluster/objects.js';
import { objKey } from '../cluster/objects.js';
import { pickNode, type TieChoices } from '../cluster/scheduler.js';
import type { Process } from '../kernel/kernel.js';
import type { World } from '../cluster/world.js';
import type { Tunnel } from './rancher-tunnel.js';

export const AGENT = 'cattle-cluster-agent';
export const AGENT_NAMESPACE = 'cattle-system';
const REPLICASET = 'replicaset-controller';
const DEPLOYMENT = 'deployment-controller';
const SCHEDULER = 'kube-scheduler';
const LABEL_HASH = 'pod-template-hash';
/** The stream of the seeded choice of which pre-existing agent connected first. */
export const CARRIER_STREAM = 'rancher/carrier';

/**
 * Rancher's cluster-agent Deployment (rancher v2.10.3 pkg/systemtemplate/template.go):
 * annotated management.cattle.io/scale-available "2", which pkg/controllers/dashboard/
 * scaleavailable/scale.go turns into replicas = min(2, nodes) (at least 1).
 */
export function defaultAgentReplicas(nodes: number): number {
  return Math.max(1, Math.min(2, nodes));
}

export function agentPod(nodeName: string, hash = 1): Pod {
  return {
    kind: 'Pod',
    metadata: {
      name: '',
      generateName: `${AGENT}-${hash}-`,
      namespace: AGENT_NAMESPACE,
      uid: '',
      resourceVersion: 0,
      labels: { app: AGENT, [LABEL_HASH]: String(hash) },
      annotations: {},
    },
    spec: { nodeName, limits: {}, requests: {} },
    status: { phase: nodeName ? 'Running' : 'Pending' },
  };
}

/**
 * Where the scheduler puts a new agent pod. The Deployment carries Rancher's
 * ClusterAgentAffinity (rancher v2.10.3 pkg/settings/affinity.go, rendered by
 * pkg/systemtemplate/template.go): preferred pod anti-affinity (weight 100) against pods
 * labelled app=cattle-cluster-agent on the same kubernetes.io/hostname, and preferred
 * control-plane nodes (weight 100). kube-scheduler's InterPodAffinity score then puts a node
 * without an agent pod above any node with one (resources only break ties), so the fewest
 * agent pods wins, then the scheduler's usual choice (pickNode: the most free cpu, a tie a
 * choice of the run). Every node is taken to be a control-plane node (a Harvester cluster's
 * first three are), so the node preference ranks
 * none above another. A preference, not a requirement: with one schedulable node both land there.
 */
export function pickAgentNode(api: ApiServer, choices: TieChoices, pod: Pod): string | undefined {
  const agents = new Map<string, number>();
  for (const p of api.list('Pod', AGENT_NAMESPACE)) {
    if (p.metadata.labels.app !== AGENT || !p.spec.nodeName || p.status.phase === 'Succeeded' || p.status.phase === 'Failed') continue;
    agents.set(p.spec.nodeName, (agents.get(p.spec.nodeName) ?? 0) + 1);
  }
  let fewest = Infinity;
  for (const n of api.list('Node')) if (!n.spec.unschedulable) fewest = Math.min(fewest, agents.get(n.metadata.name) ?? 0);
  return pickNode(api, choices, pod, undefined, (n) => (agents.get(n) ?? 0) === fewest) ?? pickNode(api, choices, pod);
}

interface AgentPodState {
  readonly hash: number;
  /** 'pending' (bound, not running), 'starting' (running, process not connected), 'up'. */
  stage: 'pending' | 'starting' | 'up';
  /** When it became Running (= Ready: the template has no readiness probe); pods running before the run: negative, in connection order. */
  readySince: number;
  /** Creation order (pods created before the run: negative, in connection order). */
  readonly created: number;
}

/**
 * The cluster agent's pods. Each agent pod, once its process has started (agentStart after
 * the pod runs), opens a tunnel session (rancher-tunnel.ts), appended to the Rancher server's
 * sessions in connection order; a deleted pod's session closes. Which of the pods running
 * before the run connected first (and so carries Rancher's connections) is a seeded choice,
 * unless the scenario pins it.
 *
 * A deleted agent pod (drain, restart) is replaced by its ReplicaSet; the replacement is
 * scheduled at once with the agent's anti-affinity (pickAgentNode) and runs after podStart.
 * A rollout (new pod-template-hash) follows the template's RollingUpdate, maxSurge 1,
 * maxUnavailable 0 (rancher v2.10.3 pkg/systemtemplate/template.go): a new pod is created,
 * and once it is available (Running: no readiness probe) the old ReplicaSet is scaled down
 * by one. Which old pod goes is the ReplicaSet controller's choice (kubernetes v1.30
 * pkg/controller/replicaset/replica_set.go getPodsToDelete → getPodsRankedByRelatedPodsOnSameNode,
 * pkg/controller/controller_utils.go ActivePodsWithRanks.Less; read through public copies of
 * that code, the v1.30 text itself UNVERIFIED): unassigned before assigned, Pending before
 * Running, more agent pods (old or new) on its node first, ready for less time first, newer
 * first. LogarithmicScaleDown's log-scale comparison of times is not modelled (exact times).
 */
export class AgentDeployment {
  private readonly pods = new Map<string, AgentPodState>();
  private hash = 1;
  private rollingOut = false;
  private readonly stream = REPLICASET;
  /** Pods created so far: each draws its latencies from a stream of its own. */
  private created = 0;

  constructor(
    private readonly world: World,
    readonly replicas: number,
    private readonly tunnel: Tunnel,
  ) {
    world.registerState('script', AGENT, () => `${this.hash}:${this.rollingOut}:${this.created}|${[...this.pods].map(([k, p]) => `${k}:${p.hash}:${p.stage}:${p.readySince}`).sort().join(',')}`);
    world.api.watch('Pod', (old, cur) => {
      if (old && !cur && this.pods.has(objKey(old))) this.onPodDeleted(objKey(old));
    });
  }

  /** Whether Rancher reaches the cluster (some agent holds a session). */
  get connected(): boolean {
    return this.tunnel.hasSession;
  }

  /**
   * The agent pods that run before the run begins (created by the caller), already
   * connected. Their connection order is drawn (kind 'order' on CARRIER_STREAM: random and
   * PCT draw it, exhaustive exploration enumerates it, the choice log replays it), except
   * that `first`, when given, is the pod that connected first (a scenario's pinned carrier).
   */
  adoptRunning(podKeys: readonly string[], first?: string): void {
    const rest = podKeys.filter((k) => k !== first);
    const order: string[] = first !== undefined && podKeys.includes(first) ? [first] : [];
    while (rest.length) {
      const i = this.world.choices.choose('order', rest.length, CARRIER_STREAM);
      order.push(rest.splice(i, 1)[0]!);
    }
    order.forEach((k, i) => {
      this.pods.set(k, { hash: this.hash, stage: 'up', readySince: i - order.length, created: i - order.length });
      this.tunnel.connect(k);
    });
  }

  /** The agent's pods now. */
  podKeys(): string[] {
    return [...this.pods.keys()].sort();
  }

  /** A Deployment rollout (kubectl rollout restart, an upgrade): every pod replaced by one of the new template. */
  rollout(): void {
    if (this.rollingOut) return;
    this.rollingOut = true;
    this.hash++;
    this.world.kernel.spawn(this.rollingUpdate(), 0, DEPLOYMENT);
  }

  private *rollingUpdate(): Process {
    const hash = this.hash;
    for (;;) {
      if (![...this.pods.values()].some((p) => p.hash !== hash)) break;
      // maxSurge 1: a new pod first; maxUnavailable 0: an old one goes only once it runs.
      const key = yield* this.startPod(hash);
      if (key === undefined) break;
      yield this.world.draw('apiCall', this.stream);
      const victim = this.scaleDownChoice(hash);
      if (victim === undefined) break;
      if (this.world.api.get('Pod', victim)) this.world.api.delete(DEPLOYMENT, 'Pod', victim);
    }
    this.rollingOut = false;
  }

  /** The old pod the ReplicaSet controller deletes first (ActivePodsWithRanks.Less, see the class comment). */
  private scaleDownChoice(newHash: number): string | undefined {
    const api = this.world.api;
    const onNode = new Map<string, number>();
    const node = (k: string) => api.get('Pod', k)?.spec.nodeName ?? '';
    for (const k of this.pods.keys()) {
      const n = node(k);
      if (n) onNode.set(n, (onNode.get(n) ?? 0) + 1);
    }
    const phaseRank = (p: AgentPodState) => (p.stage === 'pending' ? 0 : 1);
    const old = [...this.pods].filter(([, p]) => p.hash !== newHash);
    old.sort(([ka, a], [kb, b]) => {
      const na = node(ka);
      const nb = node(kb);
      if (!na !== !nb) return na ? 1 : -1;
      if (phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b);
      const ra = na ? onNode.get(na)! : 0;
      const rb = nb ? onNode.get(nb)! : 0;
      if (ra !== rb) return rb - ra;
      if (a.readySince !== b.readySince) return b.readySince - a.readySince;
      if (a.created !== b.created) return b.created - a.created;
      return ka < kb ? -1 : 1;
    });
    return old[0]?.[0];
  }

  private onPodDeleted(key: string): void {
    const p = this.pods.get(key)!;
    this.pods.delete(key);
    this.world.recorder.counters.agentRestarts++;
    this.world.recorder.event(AGENT, { type: 'agent-stopped' });
    this.tunnel.close(key);
    // The ReplicaSet of the current template replaces its pod; an old template's is being scaled down.
    if (p.hash === this.hash) this.world.kernel.spawn(this.replace(p.hash), 0, REPLICASET);
  }

  private *replace(hash: number): Process {
    yield* this.startPod(hash);
  }

  /** Create an agent pod, schedule it, run it, start its process: the pod's key once it runs (or undefined). */
  private *startPod(hash: number): Process<string | undefined> {
    const api = this.world.api;
    const stream = `${this.stream}/${++this.created}`;
    const created = this.created;
    yield this.world.draw('apiCall', stream);
    const r = api.create(REPLICASET, agentPod('', hash));
    if (!r.ok) return undefined;
    const key = objKey(r.obj);
    const state: AgentPodState = { hash, stage: 'pending', readySince: Infinity, created };
    this.pods.set(key, state);
    // kube-scheduler binds it at once, seeing the agent pods bound before it.
    const node = pickAgentNode(api, this.world.choices, r.obj);
    if (!node) return undefined;
    const bound = api.update(SCHEDULER, { ...r.obj, spec: { ...r.obj.spec, nodeName: node } });
    if (!bound.ok) return undefined;
    yield this.world.draw('podStart', stream);
    const pod = api.get('Pod', key);
    if (!pod) return undefined;
    api.update('kubelet', { ...pod, status: { phase: 'Running' } });
    state.stage = 'starting';
    state.readySince = this.world.now;
    this.world.kernel.spawn(this.connect(key), 0, AGENT);
    return key;
  }

  /** The agent process starts and opens its tunnel session. */
  private *connect(key: string): Process {
    yield this.world.draw('agentStart', `${this.stream}/${key}`);
    const p = this.pods.get(key);
    if (!p || !this.world.api.get('Pod', key)) return;
    p.stage = 'up';
    this.world.recorder.event(AGENT, { type: 'agent-started' });
    this.tunnel.connect(key);
  }
}
