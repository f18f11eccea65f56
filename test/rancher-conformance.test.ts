import { describe, expect, it } from 'vitest';
import { World } from '../src/cluster/world.js';
import { DEFAULT_LATENCIES } from '../src/cluster/latency.js';
import { Informer } from '../src/cluster/informer.js';
import { rancherQuotaSync } from '../src/actors/rancher-quota-sync.js';
import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, parseRancherQuota, rancherQuotaAnnotation, type RancherLimit } from '../src/actors/rancher-quota.js';
import type { Namespace, ResourceQuota } from '../src/cluster/objects.js';
import type { ControllerPlan } from '../src/cluster/plan.js';

/**
 * Rancher v2.10.3's own unit tests of the resourcequota controller
 * (pkg/controllers/managementuser/resourcequota/resource_quota_sync_test.go), ported where
 * they exercise what the model has:
 * - TestSemanticDeepEqual: the limits a quota is compared with are compared semantically
 *   (apiequality.Semantic.DeepEqual): {pods 30, requestsCpu "1000m"} equals
 *   {pods 30, requestsCpu "1"}, though reflect.DeepEqual of the texts says they differ.
 *   CreateResourceQuota updates only when !Semantic.DeepEqual(existing.Spec.Hard, new), so
 *   the model's sync must see no change there, and a change when a value differs.
 * - TestLimitsChanged compares LimitRanges (limitsChanged), which the model does not have:
 *   not ported.
 * The file has no other test at v2.10.3 (resource_quota_common_test.go and
 * resource_quota_calculate_used_test.go come later).
 */
function syncOf(annotation: RancherLimit, hard: RancherLimit): ControllerPlan | undefined {
  const w = new World('1', DEFAULT_LATENCIES, undefined);
  const meta = (name: string, namespace: string) => ({ name, namespace, uid: '', resourceVersion: 0, labels: {}, annotations: {} });
  w.api.create('setup', { kind: 'Namespace', metadata: { ...meta('ns1', ''), annotations: { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(annotation) } } } satisfies Namespace);
  const spec = parseRancherQuota(rancherQuotaAnnotation(hard))!.hard;
  w.api.create('setup', { kind: 'ResourceQuota', metadata: { ...meta('', 'ns1'), generateName: 'default-', labels: { [LABEL_DEFAULT_RQ]: 'true' } }, spec: { hard: spec }, status: { hard: spec, used: {} } } satisfies ResourceQuota);
  const cache = new Informer(w, 'rancher', ['Namespace', 'ResourceQuota']);
  return rancherQuotaSync(cache, () => 0, undefined)('ns1') as ControllerPlan | undefined;
}

describe('rancher v2.10.3 resource_quota_sync_test.go TestSemanticDeepEqual', () => {
  const src: RancherLimit = { pods: '30', requestsCpu: '1000m' };
  const dst: RancherLimit = { pods: '30', requestsCpu: '1' };

  it('"compare ResourceQuota using reflect.DeepEqual": the texts differ (expected false)', () => {
    expect(rancherQuotaAnnotation(src)).not.toBe(rancherQuotaAnnotation(dst));
  });

  it('"compare ResourceQuota using semantic.DeepEqual": the limits are equal (expected true), so the sync writes nothing', () => {
    expect(parseRancherQuota(rancherQuotaAnnotation(src))!.hard).toEqual(parseRancherQuota(rancherQuotaAnnotation(dst))!.hard);
    expect(syncOf(src, dst)).toBeUndefined();
    expect(syncOf(dst, src)).toBeUndefined();
  });

  it('a value that differs semantically makes the sync rewrite the annotation (no-op), write the condition, then update spec.hard', () => {
    const plan = syncOf({ pods: '30', requestsCpu: '2' }, dst)!;
    expect(plan.writes!.map((w) => `${w.verb} ${w.object.kind}`)).toEqual(['update Namespace', 'update Namespace', 'update ResourceQuota']);
    expect((plan.writes![2]!.object as ResourceQuota).spec.hard).toEqual({ pods: 30_000, 'requests.cpu': 2_000 });
  });

  it('the annotation text is json.Marshal of ResourceQuotaLimit: fields in the struct\'s order, empty ones omitted', () => {
    expect(rancherQuotaAnnotation({ limitsMemory: '60Gi', limitsCpu: '30', requestsCpu: '1', pods: '10', requestsMemory: '' })).toBe('{"limit":{"pods":"10","requestsCpu":"1","limitsCpu":"30","limitsMemory":"60Gi"}}');
  });
});
