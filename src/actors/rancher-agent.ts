import type { Pod } from '../cluster/objects.js';
import { objKey } from '../cluster/objects.js';
import { pickNode } from '../cluster/scheduler.js';
import type { Process } from '../kernel/kernel.js';
import type { World } from '../sim/world.js';

export const AGENT = 'cattle-cluster-agent';
export const AGENT_NAMESPACE = 'cattle-system';
const REPLICASET = 'replicaset-controller';
const DEPLOYMENT = 'deployment-controller';
const LABEL_HASH = 'pod-template-hash';

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
 * The cluster agent's pods and the tunnel they hold to the Rancher server. Each agent pod,
 * once its process has started (agentStart after the pod runs), holds one tunnel session;
 * Rancher reaches the cluster while at least one session is up (remotedialer: any session
 * serves; pkg/controllers/management/clusterconnected only marks the cluster disconnected
 * when none is). A deleted agent pod (drain, restart) is replaced by its ReplicaSet; a
 * rollout (new pod-template-hash) replaces the pods one by one, as a RollingUpdate with
 * maxSurge 25% and maxUnavailable 25% does for 1 or 2 replicas (surge 1, unavailable 0): a
 * new pod is created, and once it runs, an old one is deleted. The server learns of a lost
 * or regained tunnel through `onTunnel`. This is a script: pods, sessions and the rollout
 * are its state.
 */
export class AgentDeployment {
  /** Agent pods whose process holds a tunnel session. */
  private readonly sessions = new Set<string>();
  /** Agent pods of the Deployment's current template and their state: 'starting' or 'up'. */
  private readonly pods = new Map<string, { hash: number; stage: string }>();
  private hash = 1;
  private rollingOut = false;
  private readonly stream = REPLICASET;
  /** Pods created so far: each draws its latencies from a stream of its own. */
  private created = 0;

  constructor(
    private readonly world: World,
    readonly replicas: number,
    private readonly onTunnel: (up: boolean) => void,
  ) {
    world.registerState("script", AGENT, () => `${this.hash}:${this.rollingOut}:${this.created}|${[...this.pods].map(([k, p]) => `${k}:${p.hash}:${p.stage}`).sort().join(',')}|${[...this.sessions].sort().join(',')}`);
    world.api.watch('Pod', (old, cur) => {
      if (old && !cur && this.pods.has(objKey(old))) this.onPodDeleted(objKey(old));
    });
  }

  /** Whether Rancher reaches the cluster. */
  get connected(): boolean {
    return this.sessions.size > 0;
  }

  /** The agent pods that run before the run begins (created by the caller): already connected. */
  adoptRunning(podKeys: readonly string[]): void {
    for (const k of podKeys) {
      this.pods.set(k, { hash: this.hash, stage: 'up' });
      this.sessions.add(k);
    }
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
      const old = [...this.pods].filter(([, p]) => p.hash !== hash).map(([k]) => k).sort();
      if (old.length === 0) break;
      // maxSurge 1: a new pod first; maxUnavailable 0: an old one goes only once it runs.
      const key = yield* this.startPod(hash);
      if (key === undefined) break;
      const victim = [...this.pods].filter(([, p]) => p.hash !== hash).map(([k]) => k).sort()[0];
      if (victim === undefined) break;
      yield this.world.draw('apiCall', this.stream);
      if (this.world.api.get('Pod', victim)) this.world.api.delete(DEPLOYMENT, 'Pod', victim);
    }
    this.rollingOut = false;
  }

  private onPodDeleted(key: string): void {
    const p = this.pods.get(key)!;
    this.pods.delete(key);
    this.world.recorder.counters.agentRestarts++;
    const wasUp = this.connected;
    this.sessions.delete(key);
    this.world.recorder.event(AGENT, { type: 'agent-stopped' });
    if (wasUp && !this.connected) this.onTunnel(false);
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
    yield this.world.draw('apiCall', stream);
    const r = api.create(REPLICASET, agentPod('', hash));
    if (!r.ok) return undefined;
    const key = objKey(r.obj);
    this.pods.set(key, { hash, stage: 'starting' });
    yield this.world.draw('podStart', stream);
    const pod = api.get('Pod', key);
    if (!pod) return undefined;
    const node = pickNode(api, pod);
    if (!node) return undefined;
    api.update('kubelet', { ...pod, spec: { ...pod.spec, nodeName: node }, status: { phase: 'Running' } });
    this.world.kernel.spawn(this.connect(key), 0, AGENT);
    return key;
  }

  /** The agent process starts and opens its tunnel session. */
  private *connect(key: string): Process {
    yield this.world.draw('agentStart', `${this.stream}/${key}`);
    const p = this.pods.get(key);
    if (!p || !this.world.api.get('Pod', key)) return;
    p.stage = 'up';
    const wasUp = this.connected;
    this.sessions.add(key);
    this.world.recorder.event(AGENT, { type: 'agent-started' });
    if (!wasUp) this.onTunnel(true);
  }
}
