import { produce, type Draft } from 'immer';
import type { Kind, KObject, ObjectOf, ResourceQuota } from '../cluster/objects.js';
import type { ReconcileResult } from '../cluster/plan.js';
import type { ResourceList } from '../cluster/resources.js';

export type { Plan, ReconcileResult, Write, WriteVerb } from '../cluster/plan.js';

/**
 * The public strategy API: the Harvester-side controllers and webhooks under test.
 *
 * A reconciler is level-triggered, like a Kubernetes controller: it is handed a key and
 * a view of its process's informer cache (which may lag the API server) and returns the
 * writes it wants, or a {@link Plan} (writes, `requeueAfter`, `error`). The runtime makes the
 * writes in order, each after an API round trip, each carrying the resourceVersion of the
 * object it was built from; the first that fails (409 Conflict, 422 Invalid ...) stops the
 * sync and the key is re-queued with lasso's rate limiter, as a wrangler OnChange handler
 * returning an error is. The cluster's own controllers run on the same runtime.
 *
 * Objects read from the view are frozen: build a changed copy with {@link update} (or
 * spreads); a strategy that assigns to what it read is stopped and named.
 *
 * A webhook validates a write to the API server before it is stored, reading the same cache.
 */
export interface View {
  /** Simulated time in ms. */
  readonly now: number;
  get<K extends Kind>(kind: K, key: string): ObjectOf<K> | undefined;
  list<K extends Kind>(kind: K, namespace?: string): ObjectOf<K>[];
  /**
   * Harvester settings the strategies read: additional-guest-memory-overhead-ratio as a number
   * (GetAdditionalGuestMemoryOverheadRatioWithoutError), undefined when the setting is cleared.
   */
  readonly settings: Readonly<{ additionalGuestMemoryOverheadRatio: number | undefined }>;
}

export interface ReconcilerDef {
  readonly name: string;
  /** Kinds whose events (add, update, delete) enqueue keys. */
  readonly watches: readonly Kind[];
  /** The keys an event enqueues; default: the object's own "namespace/name". */
  keys?(object: KObject, view: View): readonly string[];
  reconcile(key: string, view: View): ReconcileResult;
}

export interface AdmissionRequest {
  readonly operation: 'CREATE' | 'UPDATE';
  readonly old: KObject | undefined;
  readonly object: KObject;
  /** The actor making the request ("user", "cattle-cluster-agent", ...). */
  readonly user: string;
}

export interface WebhookDef {
  readonly name: string;
  readonly kind: Kind;
  /** A denial message, or undefined to allow. */
  validate(req: AdmissionRequest, view: View): string | undefined;
}

/**
 * For designs that change Rancher's side too: the spec.hard Rancher's cluster agent writes,
 * given what the namespace annotation asks for and the quota it found in its cache. Without
 * it the agent behaves as Rancher v2.10 does: it writes `requested` whenever spec.hard differs.
 */
export type AgentQuotaSync = (requested: ResourceList, existing: ResourceQuota) => ResourceList;

export interface Strategy {
  readonly name: string;
  readonly description: string;
  readonly reconcilers: readonly ReconcilerDef[];
  readonly webhooks: readonly WebhookDef[];
  readonly agentQuotaSync?: AgentQuotaSync;
}

/**
 * A changed copy of an object read from the cache (immer's produce): `recipe` edits a draft,
 * and the result shares every part it did not touch. The resourceVersion is kept, so the
 * write is checked against the version it was built from.
 *
 *   update(rq, (d) => { d.spec.hard[LIMITS_CPU] += delta; })
 */
export function update<T extends KObject>(obj: T, recipe: (draft: Draft<T>) => void): T {
  return produce(obj, recipe);
}

/** The typed helper a strategy module default-exports. */
export function defineStrategy(s: Strategy): Strategy {
  return s;
}
