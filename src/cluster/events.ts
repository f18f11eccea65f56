/**
 * What actors say happened, beside their API writes: typed, so that explanations and
 * charts match an event's type rather than the wording of a message written elsewhere.
 * Rendered to text only at the edge (the timeline), and only when a trace is attached.
 */
export type SimEvent =
  /** A scenario action scheduled at a fixed time. */
  | { readonly type: 'action-at'; readonly action: string; readonly atMs: number }
  /** A `between` action placed at a time drawn in its window. */
  | { readonly type: 'action-timed'; readonly action: string; readonly atMs: number; readonly fromMs: number; readonly toMs: number }
  /** A `between` action placed right after the k-th API write of its window. */
  | { readonly type: 'action-after-write'; readonly action: string; readonly write: number; readonly fromMs: number; readonly toMs: number }
  /** A cluster agent pod was deleted: its tunnel session closed. */
  | { readonly type: 'agent-stopped' }
  /** A cluster agent process started and opened its tunnel session. */
  | { readonly type: 'agent-started' }
  /** An agent's tunnel session opened or closed; `carrier` is the pod whose session now carries Rancher's connections ('' for none). */
  | { readonly type: 'tunnel-session'; readonly pod: string; readonly change: 'opened' | 'closed' | 'closed-carrier'; readonly sessions: number; readonly carrier: string }
  /** The carrying session closed: every watch and request of Rancher's controllers failed with "tunnel disconnect". */
  | { readonly type: 'tunnel-lost'; readonly pod: string; readonly remaining: number }
  /** A reflector of Rancher's re-listed its kind (through the carrier now): every listed object goes to the handlers. */
  | { readonly type: 'tunnel-back'; readonly kind: string; readonly via: string; readonly enqueued: number }
  /** A reflector's LIST failed (no session): lasso's waitHealthy and the reflector's backoff follow. */
  | { readonly type: 'list-failed'; readonly kind: string; readonly error: string }
  /** Rancher's quota sync replaces a default quota's spec.hard with the namespace annotation's. */
  | { readonly type: 'quota-reset'; readonly namespace: string; readonly quota: string; readonly readRv: number }
  /** Rancher's quota sync left a namespace's quota as it is: the namespace does not fit in the project's limit (ResourceQuotaValidated False). */
  | { readonly type: 'quota-unfit'; readonly namespace: string; readonly message: string }
  /** The user wants a namespace's quota to be this (Rancher's annotation text). */
  | { readonly type: 'edit-wanted'; readonly namespace: string; readonly annotation: string }
  /** The user's edit could not be sent: the cluster agent is down. */
  | { readonly type: 'edit-agent-down'; readonly namespace: string }
  /** A reconciler decided from a cached object older than the API server's. */
  | { readonly type: 'stale-read'; readonly kind: string; readonly key: string; readonly readRv: number; readonly apiRv: number; readonly change: string }
  /** A reconciler sends a write built from a cached version the API server has moved past. */
  | { readonly type: 'stale-write'; readonly kind: string; readonly key: string; readonly cachedRv: number; readonly apiRv: number }
  /** KubeVirt's migration controller holds a migration back after failed evacuations. */
  | { readonly type: 'migration-backoff'; readonly vmi: string; readonly waitMs: number };

export type SimEventType = SimEvent['type'];

/** The event as one line of a timeline. */
export function renderEvent(e: SimEvent): string {
  switch (e.type) {
    case 'action-at':
      return `${e.action} at ${e.atMs / 1000}s`;
    case 'action-timed':
      return `${e.action} at ${(e.atMs / 1000).toFixed(3)}s (chosen in [${e.fromMs / 1000}s, ${e.toMs / 1000}s])`;
    case 'action-after-write':
      return `${e.action} right after API write ${e.write} of [${e.fromMs / 1000}s, ${e.toMs / 1000}s] (at the window's end if it has fewer)`;
    case 'agent-stopped':
      return 'agent pod deleted: its tunnel session closed';
    case 'agent-started':
      return 'agent process started: tunnel session open';
    case 'tunnel-session':
      return `tunnel session of ${e.pod} ${e.change === 'opened' ? 'opened' : e.change === 'closed' ? 'closed (it carried nothing)' : 'closed: it carried every connection of Rancher\'s controllers'}; ${e.sessions} session(s), carrier ${e.carrier || 'none'}`;
    case 'tunnel-lost':
      return `tunnel disconnect: every watch of Rancher's controllers through ${e.pod} ended ("unable to decode an event from the watch stream: tunnel disconnect"), with ${e.remaining} other session(s) still open`;
    case 'tunnel-back':
      return `Rancher's ${e.kind} reflector re-listed through ${e.via}: ${e.enqueued} object(s) handed to the handlers`;
    case 'list-failed':
      return `Rancher's ${e.kind} reflector: LIST failed (${e.error}); lasso waitHealthy, then the reflector's backoff`;
    case 'quota-reset':
      return `Updating default resource quota for namespace ${e.namespace} (read ${e.quota} rv ${e.readRv})`;
    case 'quota-unfit':
      return `namespace ${e.namespace}: ${e.message}; its default resource quota is not updated`;
    case 'edit-wanted':
      return `wants quota of namespace ${e.namespace}: ${e.annotation}`;
    case 'edit-agent-down':
      return `edit of ${e.namespace} failed: lost connection to cluster: failed to find Session for client stv-cluster-… (the steve proxy tried 15 times, 1 s apart)`;
    case 'stale-read':
      return `read stale ${e.kind} ${e.key} (rv ${e.readRv}; the API server has rv ${e.apiRv}: ${e.change})`;
    case 'stale-write':
      return `writes ${e.kind} ${e.key} built from cached rv ${e.cachedRv}; the API server is at rv ${e.apiRv}`;
    case 'migration-backoff':
      return `MigrationBackoff: backoff migrating vmi ${e.vmi} (${(e.waitMs / 1000).toFixed(1)}s)`;
  }
}
