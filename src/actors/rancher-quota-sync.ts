import type { Informer } from '../cluster/informer.js';
import type { Namespace, ResourceQuota } from '../cluster/objects.js';
import { objKey } from '../cluster/objects.js';
import type { ControllerPlan } from '../cluster/plan.js';
import { equal, type ResourceList } from '../cluster/resources.js';
import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, parseRancherQuota, rancherQuotaAnnotation } from './rancher-quota.js';

/** The namespace annotation holding Rancher's conditions (namespaceutil.SetNamespaceCondition). */
const ANN_CATTLE_STATUS = 'cattle.io/status';

/** A design's change to Rancher's sync (Strategy.agentQuotaSync); undefined = Rancher v2.10. */
export type QuotaDerivation = (requested: ResourceList, existing: ResourceQuota) => ResourceList;

/**
 * Rancher's resourceQuotaSyncController (rancher v2.10.3 pkg/controllers/managementuser/
 * resourcequota/resource_quota_sync.go), keyed by namespace:
 * - CreateResourceQuota: spec.hard derived from the namespace annotation
 *   field.cattle.io/resourceQuota; no quota yet → create the default one;
 * - if the existing default quota's spec.hard is not semantically equal
 *   (apiequality.Semantic.DeepEqual: quantities compared by value, "1000m" = "1"),
 *   validateAndSetNamespaceQuota first Updates the namespace with field.cattle.io/resourceQuota
 *   set to json.Marshal of the limit completed by the project default (a no-op the API server
 *   does not store when the text is unchanged), then writes its ResourceQuotaValidated
 *   condition (setValidated: SetNamespaceCondition stamps its update time), then
 *   updateResourceQuota replaces the whole spec (metadata, and with it Harvester's migration
 *   annotations, kept), all with cached resourceVersions; the condition write re-triggers a
 *   sync of the namespace, which is how Rancher re-checks what it wrote. A refused namespace
 *   write (Harvester's webhook) stops the sync before the quota update, as the returned error does.
 * Taken as given (README "Simplifications"): the namespace's project has a resource quota
 * whose namespace default covers exactly the keys the namespace sets (completeQuota changes
 * nothing; never the "delete" operation), and a project limit every namespace fits (isFit
 * true: no "Resource quota [...] exceeds project limit" condition).
 */
export function rancherQuotaSync(cache: Informer, now: () => number, derive: QuotaDerivation | undefined): (nsName: string) => ControllerPlan | undefined {
  return (nsName) => {
    const ns = cache.get('Namespace', nsName);
    if (!ns) return undefined;
    const requested = parseRancherQuota(ns.metadata.annotations[ANN_RANCHER_QUOTA]);
    if (!requested) return undefined;
    const existing = cache.list('ResourceQuota', nsName).find((q) => q.metadata.labels[LABEL_DEFAULT_RQ] === 'true');
    const hard = existing && derive ? derive(requested.hard, existing) : requested.hard;
    if (existing && equal(existing.spec.hard, hard)) return undefined;
    if (!existing) {
      const rq: ResourceQuota = {
        kind: 'ResourceQuota',
        metadata: { name: '', generateName: 'default-', namespace: nsName, uid: '', resourceVersion: 0, labels: { [LABEL_DEFAULT_RQ]: 'true' }, annotations: {} },
        spec: { hard: requested.hard },
        status: { hard: {}, used: {} },
      };
      return { writes: [{ verb: 'create', object: rq }] };
    }
    const annotation = rancherQuotaAnnotation(requested.limit);
    const rewritten: Namespace = annotation === ns.metadata.annotations[ANN_RANCHER_QUOTA]
      ? ns
      : { ...ns, metadata: { ...ns.metadata, annotations: { ...ns.metadata.annotations, [ANN_RANCHER_QUOTA]: annotation } } };
    const stamped: Namespace = {
      ...rewritten,
      metadata: {
        ...rewritten.metadata,
        annotations: {
          ...rewritten.metadata.annotations,
          // SetNamespaceCondition(ns, time.Second, ...): the time, one second ahead, in RFC 3339 (whole seconds):
          // the same condition set again within the second is the same annotation, a no-op update.
          [ANN_CATTLE_STATUS]: JSON.stringify({ Conditions: [{ Type: 'ResourceQuotaValidated', Status: 'True', LastUpdateTime: Math.floor((now() + 1000) / 1000) }] }),
        },
      },
    };
    return {
      writes: [
        // validateAndSetNamespaceQuota's Update of the annotation: sent even when unchanged (a round trip, stored only if it changed).
        { verb: 'update', object: rewritten },
        // setValidated's write, built on what that Update returned (same resourceVersion when it stored nothing).
        { verb: 'update', object: stamped },
        {
          verb: 'update',
          object: { ...existing, spec: { hard } },
          event: { type: 'quota-reset', namespace: nsName, quota: objKey(existing), readRv: existing.metadata.resourceVersion },
        },
      ],
    };
  };
}
