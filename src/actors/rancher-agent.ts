import { Informer } from '../cluster/informer.js';
import type { Pod } from '../cluster/objects.js';
import { objKey } from '../cluster/objects.js';
import { LassoRateLimiter } from '../cluster/ratelimit.js';
import { Reconciler } from '../cluster/reconciler.js';
import { pickNode } from '../cluster/scheduler.js';
import type { Process } from '../kernel/kernel.js';
import type { World } from '../sim/world.js';
import { rancherQuotaSync, type QuotaDerivation } from './rancher-quota-sync.js';

export const AGENT = 'cattle-cluster-agent';
export const AGENT_NAMESPACE = 'cattle-system';
const REPLICASET = 'replicaset-controller';

export function agentPod(nodeName: string): Pod {
  return {
    kind: 'Pod',
    metadata: {
      name: '',
      generateName: `${AGENT}-`,
      namespace: AGENT_NAMESPACE,
      uid: '',
      resourceVersion: 0,
      labels: { app: AGENT },
      annotations: {},
    },
    spec: { nodeName, limits: {}, requests: {} },
    status: { phase: nodeName ? 'Running' : 'Pending' },
  };
}

/**
 * Rancher's cluster agent with its Deployment: when the agent pod is deleted (drain,
 * restart), the ReplicaSet creates a replacement, the scheduler places it on a node that is
 * not cordoned, and the new process starts with cold caches. This is a script (a process
 * with a position); the quota sync it runs is a reconciler (rancher-quota-sync.ts):
 * - registered on Namespaces only (register.go registerDeferred: resourceQuotaSyncController);
 *   it never watches ResourceQuotas, so a change to a quota is not reverted until the next
 *   Namespace event or agent start;
 * - on start the Namespace informer's initial LIST enqueues every namespace;
 * - norman/lasso queue (LassoRateLimiter); the lasso resync (600 min) is beyond any horizon.
 * Project defaults are taken to cover exactly the keys the namespace sets.
 */
export class RancherAgent {
  /** Whether an agent process is up: Rancher reaches the cluster only through it. */
  connected = false;
  private generation = 0;
  private stopProcess: (() => void) | undefined;
  /** Where the replacement script is: '' (none), 'create', 'start', 'boot'. */
  private stage = '';
  private readonly rsStream = REPLICASET;

  constructor(
    private readonly world: World,
    private podKey: string,
    private readonly derive?: QuotaDerivation,
  ) {
    world.registerState('script', AGENT, () => `${this.connected}:${this.podKey}:${this.stage}:${this.generation}`);
    world.api.watch('Pod', (old, cur) => {
      if (old && !cur && objKey(old) === this.podKey) this.onPodDeleted();
    });
  }

  /** The agent that is already running when the run begins: warm caches, nothing to reconcile. */
  startWarm(): void {
    this.boot(false);
  }

  private onPodDeleted(): void {
    this.world.recorder.counters.agentRestarts++;
    this.stopProcess?.();
    this.stopProcess = undefined;
    this.connected = false;
    this.world.recorder.event(AGENT, { type: 'agent-stopped' });
    this.world.kernel.spawn(this.replace(), 0, REPLICASET);
  }

  private *replace(): Process {
    const api = this.world.api;
    this.stage = 'create';
    yield this.world.draw('apiCall', this.rsStream);
    const r = api.create(REPLICASET, agentPod(''));
    this.stage = '';
    if (!r.ok) return;
    const key = objKey(r.obj);
    this.podKey = key;
    this.stage = 'start';
    yield this.world.draw('podStart', this.rsStream);
    this.stage = '';
    const pod = api.get('Pod', key);
    if (!pod) return;
    const node = pickNode(api, pod);
    if (!node) return;
    api.update('kubelet', { ...pod, spec: { ...pod.spec, nodeName: node }, status: { phase: 'Running' } });
    this.stage = 'boot';
    yield this.world.draw('agentStart', this.rsStream);
    this.stage = '';
    if (this.podKey === key && api.get('Pod', key)) this.boot(true);
  }

  private boot(cold: boolean): void {
    const world = this.world;
    const name = this.generation === 0 ? AGENT : `${AGENT}#${this.generation}`;
    this.generation++;
    const cache = new Informer(world, name, ['Namespace', 'ResourceQuota']);
    const ctl = new Reconciler(world, {
      actor: AGENT,
      label: `${name}/resourceQuotaSyncController`,
      apiStream: `${name}/api`,
      limiter: new LassoRateLimiter(),
      reconcile: rancherQuotaSync(cache, () => world.now, this.derive),
    });
    cache.on('Namespace', (_old, cur) => {
      if (cur) ctl.enqueue(objKey(cur));
    });
    if (cold) {
      world.recorder.event(AGENT, { type: 'agent-started' });
      cache.replayList();
    }
    this.connected = true;
    this.stopProcess = () => {
      cache.stop();
      ctl.stop();
    };
  }
}
