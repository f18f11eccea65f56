import type { ApiServer } from '../cluster/apiserver.js';
import type { Namespace } from '../cluster/objects.js';
import type { Process } from '../kernel/kernel.js';
import type { World } from '../cluster/world.js';
import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, limitToHard, parseRancherQuota, rancherQuotaAnnotation, type RancherLimit } from './rancher-quota.js';
import type { Tunnel } from './rancher-tunnel.js';

export const USER = 'user';

/**
 * What the user asked for, per namespace: the ResourceQuota key → milli-units, for every
 * key the user set. The outcome compares spec.hard against this at the end of the run.
 */
export class Intent {
  /** The latest wish per namespace, accepted or not. */
  readonly wanted = new Map<string, Record<string, number>>();
  /** The latest wish the API server accepted (the initial quota until an edit goes through). */
  readonly accepted = new Map<string, Record<string, number>>();

  set(namespace: string, limit: RancherLimit): void {
    this.wanted.set(namespace, merge(this.wanted.get(namespace), limit));
  }

  /** The cluster's quota as the run begins: wished and accepted. */
  initial(namespace: string, limit: RancherLimit): void {
    this.set(namespace, limit);
    this.accepted.set(namespace, merge(this.accepted.get(namespace), limit));
  }

  /** An edit went through. */
  accept(namespace: string, limit: RancherLimit): void {
    this.accepted.set(namespace, merge(this.accepted.get(namespace), limit));
  }
}

function merge(base: Record<string, number> | undefined, limit: RancherLimit): Record<string, number> {
  return { ...(base ?? {}), ...limitToHard(limit) };
}

/**
 * `kubectl edit resourcequota` once: the namespace's (default) quota with `limit`'s keys set
 * in spec.hard, written against the live object as `actor`.
 */
export function writeQuotaSpec(api: ApiServer, actor: string, namespace: string, limit: RancherLimit): 'ok' | 'conflict' | 'refused' {
  const rq = api.list('ResourceQuota', namespace).find((q) => q.metadata.labels[LABEL_DEFAULT_RQ] !== undefined) ?? api.list('ResourceQuota', namespace)[0];
  if (!rq) return 'refused';
  const r = api.update(actor, { ...rq, spec: { hard: { ...rq.spec.hard, ...limitToHard(limit) } } });
  return r.ok ? 'ok' : r.err.reason === 'Conflict' ? 'conflict' : 'refused';
}

/**
 * An administrator's \`kubectl edit\` of a ResourceQuota's spec.hard (editQuotaSpec), retried on a
 * conflict. Rancher is not involved: its next sync of the namespace puts the annotation's
 * values back (the #7178 write-up's Test 1).
 */
export function* editQuotaSpec(world: World, actor: string, namespace: string, limit: RancherLimit): Process {
  for (;;) {
    yield world.draw('apiCall', actor);
    if (writeQuotaSpec(world.api, actor, namespace, limit) !== 'conflict') return;
  }
}

/**
 * A person editing a namespace's quota through Rancher's UI. The UI reads the namespace,
 * changes the annotation and writes it back: a PUT to the Rancher server's
 * /k8s/clusters/<id>/v1/namespaces/<ns>, which no Rancher controller handles: the steve proxy
 * (rancher v2.10.3 pkg/rancher/rancher.go → pkg/api/steve/proxy/proxy.go NewProxyMiddleware,
 * Handler.ServeHTTP, next, dialer) forwards it, impersonating the user, through the tunnel
 * session of client "stv-cluster-<cluster>" that each agent's embedded steve opens
 * (pkg/agent/rancher/rancher.go setupSteveAggregation) to the agent's steve, which writes to
 * the cluster's API server. With no session the proxy's dialer tries 15 times, 1 s apart,
 * then answers "lost connection to cluster" (Tunnel.steveDial); with one of two agents down
 * the other carries it. A conflict is retried at once, as the UI re-reads; a refusal
 * (Harvester's namespace webhook, or no agent) is retried a little later, until accepted or
 * the run ends.
 * Several edits of one namespace collapse into the latest wish, as a person would re-enter it.
 * Without Rancher the user edits the ResourceQuota's spec.hard directly (kubectl edit).
 */
export class User {
  private readonly desired = new Map<string, RancherLimit>();
  /** Namespaces with an edit under way, and where each is: sending it, or waiting to retry. */
  private readonly editing = new Map<string, 'send' | 'retry'>();
  private readonly stream = USER;

  constructor(
    private readonly world: World,
    private readonly intent: Intent,
    /** The tunnel to the cluster's agents, through which the user edits in Rancher's UI; undefined for a cluster not imported into Rancher. */
    private readonly rancher: Tunnel | undefined,
  ) {
    world.registerState('script', USER, () => `${JSON.stringify([...this.desired])}|${[...this.editing].map(([ns, at]) => `${ns}:${at}`).join(',')}`);
  }

  edit(namespace: string, limit: RancherLimit): void {
    const merged = { ...(this.desired.get(namespace) ?? this.current(namespace)), ...limit };
    this.desired.set(namespace, merged);
    this.intent.set(namespace, limit);
    if (this.world.recorder.tracing) this.world.recorder.event(USER, { type: 'edit-wanted', namespace, annotation: rancherQuotaAnnotation(merged) });
    if (!this.editing.has(namespace)) {
      this.editing.set(namespace, 'send');
      this.world.kernel.spawn(this.loop(namespace), 0, USER);
    }
  }

  private current(namespace: string): RancherLimit {
    const ns = this.world.api.get('Namespace', namespace);
    return parseRancherQuota(ns?.metadata.annotations[ANN_RANCHER_QUOTA])?.limit ?? {};
  }

  private *loop(namespace: string): Process {
    const w = this.world;
    for (;;) {
      this.editing.set(namespace, 'send');
      const reached = this.rancher ? yield* this.rancher.steveDial(`${this.stream}/steve/${namespace}`) : true;
      yield w.draw('apiCall', this.stream);
      const limit = this.desired.get(namespace)!;
      const r = !reached ? this.agentDown(namespace) : this.rancher ? this.writeAnnotation(namespace, limit) : writeQuotaSpec(w.api, USER, namespace, limit);
      if (r === 'ok') {
        this.intent.accept(namespace, limit);
        break;
      }
      if (r === 'conflict') continue;
      w.recorder.counters.editsRefused++;
      this.editing.set(namespace, 'retry');
      yield w.draw('userRetry', this.stream);
    }
    this.editing.delete(namespace);
  }

  private agentDown(namespace: string): 'refused' {
    this.world.recorder.event(USER, { type: 'edit-agent-down', namespace });
    return 'refused';
  }

  private writeAnnotation(namespace: string, limit: RancherLimit): 'ok' | 'conflict' | 'refused' {
    const w = this.world;
    const ns = w.api.get('Namespace', namespace);
    if (!ns) return 'refused';
    const next: Namespace = {
      ...ns,
      metadata: { ...ns.metadata, annotations: { ...ns.metadata.annotations, [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(limit) } },
    };
    const r = w.api.update(USER, next);
    return r.ok ? 'ok' : r.err.reason === 'Conflict' ? 'conflict' : 'refused';
  }
}
