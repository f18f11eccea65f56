import { Controller, type SyncResult } from '../cluster/controller.js';
import { Informer } from '../cluster/informer.js';
import type { Namespace, Pod, ResourceQuota } from '../cluster/objects.js';
import { objKey } from '../cluster/objects.js';
import { LassoRateLimiter } from '../cluster/ratelimit.js';
import { equal, type ResourceList } from '../cluster/resources.js';
import { pickNode } from '../cluster/scheduler.js';
import type { Process } from '../kernel/kernel.js';
import type { World } from '../sim/world.js';
import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, parseRancherQuota } from './rancher-quota.js';

export const AGENT = 'cattle-cluster-agent';
/** The namespace annotation holding Rancher's conditions (namespaceutil.SetNamespaceCondition). */
const ANN_CATTLE_STATUS = 'cattle.io/status';
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
 * not cordoned, and the new process starts with cold caches.
 *
 * Its quota sync (rancher v2.10.3 pkg/controllers/managementuser/resourcequota):
 * - registered on Namespaces only (register.go registerDeferred: resourceQuotaSyncController);
 *   it never watches ResourceQuotas, so a change to a quota is not reverted until the next
 *   Namespace event or agent start;
 * - on start the Namespace informer's initial LIST enqueues every namespace;
 * - resource_quota_sync.go CreateResourceQuota: spec.hard derived from the namespace
 *   annotation field.cattle.io/resourceQuota; if the existing default quota's spec.hard is
 *   not semantically equal, validateAndSetNamespaceQuota first writes the namespace's
 *   ResourceQuotaValidated condition (setValidated), then updateResourceQuota replaces the
 *   whole spec (metadata, and with it Harvester's migration annotations, kept), both with
 *   cached resourceVersions; the condition write re-triggers a sync of the namespace;
 * - norman/lasso queue (LassoRateLimiter); the lasso resync (600 min) is beyond any horizon.
 * Project defaults are taken to cover exactly the keys the namespace sets.
 */
export class RancherAgent {
  /** Whether an agent process is up: Rancher reaches the cluster only through it. */
  connected = false;
  private generation = 0;
  private stopProcess: (() => void) | undefined;
  private readonly rsRng = REPLICASET;

  constructor(
    private readonly world: World,
    private podKey: string,
    /** A design's change to Rancher's sync (Strategy.agentQuotaSync); undefined = Rancher v2.10. */
    private readonly derive?: (requested: ResourceList, existing: ResourceQuota) => ResourceList,
  ) {
    world.stateParts.push(() => `agent:${this.connected}:${this.podKey}`);
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
    this.world.recorder.note(AGENT, () => 'agent pod deleted: process stopped, Rancher disconnected');
    this.world.kernel.spawn(this.replace(), 0, REPLICASET);
  }

  private *replace(): Process {
    yield this.world.draw('apiCall', this.rsRng);
    const r = this.world.api.create(REPLICASET, agentPod(''));
    if (!r.ok) return;
    const key = objKey(r.obj);
    this.podKey = key;
    yield this.world.draw('podStart', this.rsRng);
    const pod = this.world.api.get('Pod', key);
    if (!pod) return;
    const node = pickNode(this.world.api, pod);
    if (!node) return;
    this.world.api.update('kubelet', { ...pod, spec: { ...pod.spec, nodeName: node }, status: { phase: 'Running' } });
    yield this.world.draw('agentStart', this.rsRng);
    if (this.podKey === key && this.world.api.get('Pod', key)) this.boot(true);
  }

  private boot(cold: boolean): void {
    const world = this.world;
    const name = this.generation === 0 ? AGENT : `${AGENT}#${this.generation}`;
    this.generation++;
    const cache = new Informer(world, name, ['Namespace', 'ResourceQuota']);
    const apiRng = `${name}/api`;
    const derive = this.derive;

    function* sync(nsName: string): Process<SyncResult> {
      const ns = cache.get('Namespace', nsName);
      if (!ns) return undefined;
      const requested = parseRancherQuota(ns.metadata.annotations[ANN_RANCHER_QUOTA]);
      if (!requested) return undefined;
      const existing = cache
        .list('ResourceQuota', nsName)
        .find((q) => q.metadata.labels[LABEL_DEFAULT_RQ] === 'true');
      const hard = existing && derive ? derive(requested.hard, existing) : requested.hard;
      if (existing && equal(existing.spec.hard, hard)) return undefined;
      yield world.draw('apiCall', apiRng);
      if (!existing) {
        const rq: ResourceQuota = {
          kind: 'ResourceQuota',
          metadata: { name: '', generateName: 'default-', namespace: nsName, uid: '', resourceVersion: 0, labels: { [LABEL_DEFAULT_RQ]: 'true' }, annotations: {} },
          spec: { hard: requested.hard },
          status: { hard: {}, used: {} },
        };
        const r = world.api.create(AGENT, rq);
        return r.ok ? undefined : { error: r.err.message };
      }
      // validateAndSetNamespaceQuota → setValidated: before the quota, the namespace's
      // ResourceQuotaValidated condition is written (SetNamespaceCondition stamps its update
      // time), with the cached namespace: it can conflict, and its event makes this
      // controller sync the namespace once more, which is how Rancher re-checks what it wrote.
      const stamped: Namespace = {
        ...ns,
        metadata: {
          ...ns.metadata,
          annotations: { ...ns.metadata.annotations, [ANN_CATTLE_STATUS]: JSON.stringify({ Conditions: [{ Type: 'ResourceQuotaValidated', Status: 'True', LastUpdateTime: world.now + 1000 }] }) },
        },
      };
      const v = world.api.update(AGENT, stamped);
      if (!v.ok) return { error: v.err.message };
      yield world.draw('apiCall', apiRng);
      world.recorder.note(AGENT, () => `Updating default resource quota for namespace ${nsName} (read ${objKey(existing)} rv ${existing.metadata.resourceVersion})`);
      const r = world.api.update(AGENT, { ...existing, spec: { hard } });
      return r.ok ? undefined : { error: r.err.message };
    }

    const ctl = new Controller(world, `${name}/resourceQuotaSyncController`, new LassoRateLimiter(), sync);
    cache.on('Namespace', (_old, cur) => {
      if (cur) ctl.enqueue(objKey(cur));
    });
    if (cold) {
      world.recorder.note(AGENT, () => 'agent started: listing every namespace');
      cache.replayList();
    }
    this.connected = true;
    this.stopProcess = () => {
      cache.stop();
      ctl.stop();
    };
  }
}
