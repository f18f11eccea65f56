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
  /** No agent holds a session any more: the Rancher server lost the cluster. */
  | { readonly type: 'tunnel-lost' }
  /** An agent session is back: the Rancher server re-lists the cluster and re-syncs every namespace. */
  | { readonly type: 'tunnel-back' }
  /** Rancher's quota sync replaces a default quota's spec.hard with the namespace annotation's. */
  | { readonly type: 'quota-reset'; readonly namespace: string; readonly quota: string; readonly readRv: number }
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
    case 'tunnel-lost':
      return 'no cluster agent connected: Rancher lost the cluster (watches broken, requests fail)';
    case 'tunnel-back':
      return 'a cluster agent connected: Rancher re-lists the cluster and re-syncs every namespace';
    case 'quota-reset':
      return `Updating default resource quota for namespace ${e.namespace} (read ${e.quota} rv ${e.readRv})`;
    case 'edit-wanted':
      return `wants quota of namespace ${e.namespace}: ${e.annotation}`;
    case 'edit-agent-down':
      return `edit of ${e.namespace} failed: cluster agent is not connected`;
    case 'stale-read':
      return `read stale ${e.kind} ${e.key} (rv ${e.readRv}; the API server has rv ${e.apiRv}: ${e.change})`;
    case 'stale-write':
      return `writes ${e.kind} ${e.key} built from cached rv ${e.cachedRv}; the API server is at rv ${e.apiRv}`;
    case 'migration-backoff':
      return `MigrationBackoff: backoff migrating vmi ${e.vmi} (${(e.waitMs / 1000).toFixed(1)}s)`;
  }
}
