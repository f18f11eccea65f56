import type { Informer } from '../cluster/informer.js';
import type { Namespace, ResourceQuota } from '../cluster/objects.js';
import { objKey } from '../cluster/objects.js';
import type { ControllerPlan, PlannedWrite } from '../cluster/plan.js';
import { equal, type ResourceList } from '../cluster/resources.js';
import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, limitToHard, parseRancherQuota, rancherQuotaAnnotation, type RancherLimit } from './rancher-quota.js';
import { deriveRequestedLimit, exceedsMessage, isQuotaFit, zeroOutLimit, type RancherProject } from './rancher-project.js';

/** The namespace annotation holding Rancher's conditions (namespaceutil.SetNamespaceCondition). */
export const ANN_CATTLE_STATUS = 'cattle.io/status';

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
 * Without a scenario project (cluster.rancher.project) this is taken as given: the
 * namespace's project has a resource quota whose namespace default covers exactly the keys
 * the namespace sets (completeQuota changes nothing; never the "delete" operation), and a
 * project limit every namespace fits (isFit true). With one, projectQuotaSync below.
 */
export function rancherQuotaSync(cache: Informer, now: () => number, derive: QuotaDerivation | undefined, project?: RancherProject): (nsName: string) => ControllerPlan | undefined {
  if (project) return projectQuotaSync(cache, now, derive, project);
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

/**
 * The ResourceQuotaValidated condition as SetNamespaceCondition writes it (rancher v2.10.3
 * pkg/namespace/namespace_utils.go GenerateConditionAnnotation: struct condition's fields
 * Type, Status, Message, LastUpdateTime, none omitted; the message kept only when the status
 * is not "True"; the time one second ahead, whole seconds). The model keeps only this
 * condition in the annotation (ResourceQuotaInit is taken as set at import).
 */
export function validatedCondition(fit: boolean, message: string, nowMs: number): string {
  return JSON.stringify({ Conditions: [{ Type: 'ResourceQuotaValidated', Status: fit ? 'True' : 'False', Message: fit ? '' : message, LastUpdateTime: Math.floor((nowMs + 1000) / 1000) }] });
}

/** Whether a namespace's ResourceQuotaValidated condition is True (namespaceutil.IsNamespaceConditionSet). */
export function isValidated(ns: Namespace): boolean {
  const text = ns.metadata.annotations[ANN_CATTLE_STATUS];
  if (!text) return false;
  const st = JSON.parse(text) as { Conditions?: { Type: string; Status: string }[] };
  return (st.Conditions ?? []).some((c) => c.Type === 'ResourceQuotaValidated' && c.Status === 'True');
}

/** The namespace with one annotation set (or removed: undefined). */
function withAnnotation(ns: Namespace, key: string, value: string | undefined): Namespace {
  const annotations = { ...ns.metadata.annotations };
  if (value === undefined) delete annotations[key];
  else annotations[key] = value;
  return { ...ns, metadata: { ...ns.metadata, annotations } };
}

/**
 * rancher v2.10.3 pkg/controllers/managementuser/resourcequota/resource_quota_sync.go
 * CreateResourceQuota with the scenario's project (every namespace in it):
 * - the limit: deriveRequestedResourceQuota (the annotation completed by the project's
 *   namespace default; none when the project has no default);
 * - no quota and a limit → "create"; a quota and no limit → "delete": the namespace is
 *   Updated without field.cattle.io/resourceQuota, then the quota is deleted; a quota whose
 *   spec.hard differs (Semantic.DeepEqual) → "update";
 * - "create" and "update" first run validateAndSetNamespaceQuota: the namespace is Updated
 *   with the annotation set to json.Marshal of the completed limit (sent even when the text
 *   is unchanged: a round trip the API server does not store), then under the project lock
 *   validate.IsQuotaFit(completed, the other namespaces' annotation limits (getNamespacesLimits,
 *   read from the informer's index), the project limit), then setValidated writes the
 *   ResourceQuotaValidated condition, False with "Resource quota [...] exceeds project limit"
 *   when it does not fit;
 * - "update" and not fit: the quota is left as it is ("if !isFit { updated = upd; break }");
 *   "create" and not fit: the quota is created with "0" for each exceeded resource
 *   (zeroOutResourceQuotaLimit).
 */
function projectQuotaSync(cache: Informer, now: () => number, derive: QuotaDerivation | undefined, project: RancherProject): (nsName: string) => ControllerPlan | undefined {
  return (nsName) => {
    const ns = cache.get('Namespace', nsName);
    if (!ns) return undefined;
    const requested = parseRancherQuota(ns.metadata.annotations[ANN_RANCHER_QUOTA])?.limit;
    const limit = deriveRequestedLimit(requested, project);
    const base = limit ? limitToHard(limit) : undefined;
    const existing = cache.list('ResourceQuota', nsName).find((q) => q.metadata.labels[LABEL_DEFAULT_RQ] === 'true');
    const empty = !base || Object.keys(base).length === 0;
    if (!existing) {
      if (empty) return undefined;
      const v = validate(ns, limit!);
      const hard = v.fit ? base : limitToHard(zeroOutLimit(limit!, v.exceeded));
      const rq: ResourceQuota = {
        kind: 'ResourceQuota',
        metadata: { name: '', generateName: 'default-', namespace: nsName, uid: '', resourceVersion: 0, labels: { [LABEL_DEFAULT_RQ]: 'true' }, annotations: {} },
        spec: { hard },
        status: { hard: {}, used: {} },
      };
      return { writes: [...v.writes, { verb: 'create', object: rq }] };
    }
    if (empty) {
      // "delete": the annotation goes first, then the quota (deleteResourceQuota).
      return { writes: [{ verb: 'update', object: withAnnotation(ns, ANN_RANCHER_QUOTA, undefined) }, { verb: 'delete', object: existing }] };
    }
    const hard = derive ? derive(base, existing) : base;
    if (equal(existing.spec.hard, hard)) return undefined;
    const v = validate(ns, limit!);
    if (!v.fit) return { writes: v.writes, event: { type: 'quota-unfit', namespace: nsName, message: v.message } };
    return {
      writes: [
        ...v.writes,
        { verb: 'update', object: { ...existing, spec: { hard } }, event: { type: 'quota-reset', namespace: nsName, quota: objKey(existing), readRv: existing.metadata.resourceVersion } },
      ],
    };
  };

  function validate(ns: Namespace, limit: RancherLimit): { fit: boolean; message: string; exceeded: ReturnType<typeof isQuotaFit>['exceeded']; writes: PlannedWrite[] } {
    const rewritten = withAnnotation(ns, ANN_RANCHER_QUOTA, rancherQuotaAnnotation(limit));
    const others: RancherLimit[] = [];
    for (const o of cache.list('Namespace')) {
      if (o.metadata.name === ns.metadata.name) continue;
      // getNamespacesLimits: each other namespace's annotation as it is (a namespace without one adds nothing).
      others.push(parseRancherQuota(o.metadata.annotations[ANN_RANCHER_QUOTA])?.limit ?? {});
    }
    const { fit, exceeded } = isQuotaFit(limit, others, project.limit);
    const message = fit ? '' : exceedsMessage(exceeded);
    const stamped = withAnnotation(rewritten, ANN_CATTLE_STATUS, validatedCondition(fit, message, now()));
    return { fit, message, exceeded, writes: [{ verb: 'update', object: rewritten }, { verb: 'update', object: stamped }] };
  }
}
