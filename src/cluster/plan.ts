import type { SimEvent } from './events.js';
import type { PatchOp } from './apiserver.js';
import type { KObject } from './objects.js';

/**
 * What a reconciler returns (controller-runtime's `Reconcile(request) → Result`, with the
 * writes made explicit so that the runtime, not the reconciler, spends the API latency and
 * performs them in order):
 * - `writes`: made one after another, each after an API round trip, each carrying the
 *   resourceVersion of the object it was built from; the first refused one stops the plan
 *   and the key is re-queued with the controller's rate limiter (a returned error);
 * - `requeueAfter`: the key comes back after this many ms (Result{RequeueAfter});
 * - `error`: re-queue with the rate limiter, with or without writes (a returned error).
 */
export type WriteVerb = 'create' | 'update' | 'updateStatus' | 'delete';

export interface Write {
  readonly verb: WriteVerb;
  /** For delete, only its kind and metadata (namespace, name) are read. */
  readonly object: KObject;
}

export interface Plan {
  readonly writes?: readonly Write[];
  readonly requeueAfter?: number;
  readonly error?: string;
}

/** A reconciler may return a plan, its writes alone, one write, or nothing to do. */
export type ReconcileResult = Plan | readonly Write[] | Write | undefined;

/** What the cluster's own controllers may add to a write (not part of the strategy API). */
export interface PlannedWrite extends Omit<Write, 'verb'> {
  /**
   * 'patch': `patch` applied to the stored object (`object` names it: kind, namespace, name),
   * with no resourceVersion, so it never conflicts: KubeVirt's PDB and pod patches.
   */
  readonly verb: WriteVerb | 'patch';
  readonly patch?: readonly PatchOp[];
  /**
   * controller.Expectations: the write is a creation this controller expects to see in its
   * cache under this key; the runtime raises the expectation when the plan starts and lowers
   * it if the write is refused or never sent. The controller's event handler observes it.
   */
  readonly expect?: string;
  /**
   * Writes made in the same reconcile when this one is refused with a message containing
   * `when` (KubeVirt records a quota refusal on the migration's status before it re-queues).
   */
  readonly orElse?: { readonly when: string; readonly writes: readonly PlannedWrite[] };
  /** Recorded just before the write is sent (what the controller logs). */
  readonly event?: SimEvent;
}

/** A plan of the cluster's own controllers. */
export interface ControllerPlan extends Omit<Plan, 'writes'> {
  readonly writes?: readonly PlannedWrite[];
  /** Recorded when the reconcile returns (what the controller logs as it decides). */
  readonly event?: SimEvent;
}

/** What the reconciler runtime accepts: a strategy's result or a controller's plan. */
export type AnyResult = ReconcileResult | ControllerPlan;

export function isPlan(r: AnyResult): r is Plan | ControllerPlan {
  return r !== undefined && !Array.isArray(r) && !('verb' in (r as object));
}

const NOTHING: readonly PlannedWrite[] = [];

/** The writes of any result shape. */
export function writesOf(r: AnyResult): readonly PlannedWrite[] {
  if (r === undefined) return NOTHING;
  if (Array.isArray(r)) return r as readonly Write[];
  if (isPlan(r)) return r.writes ?? NOTHING;
  return [r as Write];
}
