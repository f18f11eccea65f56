import { describe, expect, it } from 'vitest';
import { World } from '../src/cluster/world.js';
import { DEFAULT_LATENCIES } from '../src/cluster/latency.js';
import { Informer } from '../src/cluster/informer.js';
import { ANN_CATTLE_STATUS, rancherQuotaSync, validatedCondition } from '../src/actors/rancher-quota-sync.js';
import { usedLimit } from '../src/actors/rancher-server.js';
import { completeQuota, exceedsMessage, isQuotaFit, zeroOutLimit, type RancherProject } from '../src/actors/rancher-project.js';
import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, limitToHard, rancherQuotaAnnotation, type RancherLimit } from '../src/actors/rancher-quota.js';
import type { Namespace, ResourceQuota } from '../src/cluster/objects.js';
import type { ControllerPlan } from '../src/cluster/plan.js';
import { parseScenario } from '../src/scenario/load.js';
import { InputError } from '../src/scenario/errors.js';
import { runOnce } from '../src/sim/run.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * The Rancher project's rules (rancher v2.10.3, pkg/controllers/managementuser/resourcequota
 * and pkg/resourcequota). Rancher's own Go tests at v2.10.3 cover none of these helpers
 * (resource_quota_sync_test.go has TestLimitsChanged and TestSemanticDeepEqual, ported in
 * rancher-conformance.test.ts; pkg/resourcequota has no _test.go at v2.10.3).
 */
const meta = (name: string, namespace: string) => ({ name, namespace, uid: '', resourceVersion: 0, labels: {}, annotations: {} });

interface Ns {
  readonly name: string;
  readonly annotation?: RancherLimit;
  /** The default quota's spec.hard; undefined: no quota. */
  readonly hard?: RancherLimit;
}

function syncOf(project: RancherProject | undefined, namespaces: readonly Ns[], which = namespaces[0]!.name): ControllerPlan | undefined {
  const w = new World('1', DEFAULT_LATENCIES, undefined);
  for (const n of namespaces) {
    const annotations: Record<string, string> = n.annotation ? { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(n.annotation) } : {};
    w.api.create('setup', { kind: 'Namespace', metadata: { ...meta(n.name, ''), annotations } } satisfies Namespace);
    if (n.hard) {
      const spec = limitToHard(n.hard);
      w.api.create('setup', { kind: 'ResourceQuota', metadata: { ...meta('', n.name), generateName: 'default-', labels: { [LABEL_DEFAULT_RQ]: 'true' } }, spec: { hard: spec }, status: { hard: spec, used: {} } } satisfies ResourceQuota);
    }
  }
  const cache = new Informer(w, 'rancher', ['Namespace', 'ResourceQuota']);
  return rancherQuotaSync(cache, () => 0, undefined, project)(which) as ControllerPlan | undefined;
}

const verbs = (p: ControllerPlan | undefined) => (p?.writes ?? []).map((w) => `${w.verb} ${w.object.kind}`);
const project: RancherProject = { limit: { limitsCpu: '20', limitsMemory: '40Gi' }, namespaceDefault: { limitsCpu: '4', limitsMemory: '8Gi' } };

describe('completeQuota (resource_quota_sync.go completeQuota)', () => {
  it('a requested value overrides the default\'s; a default key the namespace lacks is added', () => {
    expect(completeQuota({ limitsCpu: '12' }, { limitsCpu: '4', limitsMemory: '8Gi' })).toEqual({ limitsCpu: '12', limitsMemory: '8Gi' });
  });
  it('"Only override the values for keys (resources) that actually exist in the project quota": a key the default lacks is dropped', () => {
    expect(completeQuota({ limitsCpu: '12', pods: '10' }, { limitsCpu: '4' })).toEqual({ limitsCpu: '12' });
  });
});

describe('IsQuotaFit (pkg/resourcequota/quota_validate.go) with quota.LessThanOrEqual', () => {
  it('the namespace plus the other namespaces against the project limit; equal fits', () => {
    expect(isQuotaFit({ limitsCpu: '12' }, [{ limitsCpu: '8' }], { limitsCpu: '20' })).toEqual({ fit: true, exceeded: {} });
  });
  it('over the limit: exceeded holds the sum over all namespaces (quota.Mask of the total), only for keys over', () => {
    expect(isQuotaFit({ limitsCpu: '13', limitsMemory: '8Gi' }, [{ limitsCpu: '8', limitsMemory: '8Gi' }], { limitsCpu: '20', limitsMemory: '40Gi' })).toEqual({ fit: false, exceeded: { limitsCpu: 21_000 } });
  });
  it('a key the project does not limit never exceeds (LessThanOrEqual ranges over the project limit\'s keys)', () => {
    expect(isQuotaFit({ pods: '1000' }, [], { limitsCpu: '1' }).fit).toBe(true);
  });
  it('the condition message: "Resource quota [%v] exceeds project limit", FormatResourceList\'s sorted key=value items', () => {
    expect(exceedsMessage({ limitsMemory: 48 * 2 ** 30 * 1000, limitsCpu: 21_000 })).toBe('Resource quota [limitsCpu=21,limitsMemory=48Gi] exceeds project limit');
  });
  it('zeroOutResourceQuotaLimit: "0" for each exceeded resource, the others kept', () => {
    expect(zeroOutLimit({ limitsCpu: '13', limitsMemory: '8Gi' }, { limitsCpu: 21_000 })).toEqual({ limitsCpu: '0', limitsMemory: '8Gi' });
  });
});

describe('CreateResourceQuota with a project (resource_quota_sync.go)', () => {
  it('"update" that fits: annotation rewritten with the completed limit, condition True, then spec.hard updated', () => {
    const plan = syncOf(project, [{ name: 'a', annotation: { limitsCpu: '12' }, hard: { limitsCpu: '4', limitsMemory: '8Gi' } }, { name: 'b', annotation: { limitsCpu: '4', limitsMemory: '8Gi' } }]);
    expect(verbs(plan)).toEqual(['update Namespace', 'update Namespace', 'update ResourceQuota']);
    const ns = plan!.writes![0]!.object as Namespace;
    // validateAndSetNamespaceQuota: json.Marshal(&NamespaceResourceQuota{Limit: completed}).
    expect(ns.metadata.annotations[ANN_RANCHER_QUOTA]).toBe('{"limit":{"limitsCpu":"12","limitsMemory":"8Gi"}}');
    expect((plan!.writes![1]!.object as Namespace).metadata.annotations[ANN_CATTLE_STATUS]).toBe(validatedCondition(true, '', 0));
    expect((plan!.writes![2]!.object as ResourceQuota).spec.hard).toEqual(limitToHard({ limitsCpu: '12', limitsMemory: '8Gi' }));
  });

  it('"update" that does not fit: "if !isFit { updated = upd; break }": the condition is False with the message, the quota is not updated', () => {
    const plan = syncOf(project, [{ name: 'a', annotation: { limitsCpu: '17' }, hard: { limitsCpu: '4', limitsMemory: '8Gi' } }, { name: 'b', annotation: { limitsCpu: '4', limitsMemory: '8Gi' } }]);
    expect(verbs(plan)).toEqual(['update Namespace', 'update Namespace']);
    const status = JSON.parse((plan!.writes![1]!.object as Namespace).metadata.annotations[ANN_CATTLE_STATUS]!) as { Conditions: { Type: string; Status: string; Message: string }[] };
    expect(status.Conditions[0]).toMatchObject({ Type: 'ResourceQuotaValidated', Status: 'False', Message: 'Resource quota [limitsCpu=21] exceeds project limit' });
    expect(plan!.event).toEqual({ type: 'quota-unfit', namespace: 'a', message: 'Resource quota [limitsCpu=21] exceeds project limit' });
  });

  it('getNamespacesLimits reads the other namespaces\' annotations as they are: one over the room makes every other namespace\'s update unfit too', () => {
    const plan = syncOf(project, [{ name: 'b', annotation: { limitsCpu: '5', limitsMemory: '8Gi' }, hard: { limitsCpu: '4', limitsMemory: '8Gi' } }, { name: 'a', annotation: { limitsCpu: '17', limitsMemory: '8Gi' } }]);
    expect(verbs(plan)).toEqual(['update Namespace', 'update Namespace']);
    expect(plan!.event).toEqual({ type: 'quota-unfit', namespace: 'b', message: 'Resource quota [limitsCpu=22] exceeds project limit' });
  });

  it('"create" that does not fit: the quota is created with zeros for the exceeded resources', () => {
    const plan = syncOf(project, [{ name: 'a', annotation: { limitsCpu: '17' } }, { name: 'b', annotation: { limitsCpu: '4', limitsMemory: '8Gi' } }]);
    expect(verbs(plan)).toEqual(['update Namespace', 'update Namespace', 'create ResourceQuota']);
    expect((plan!.writes![2]!.object as ResourceQuota).spec.hard).toEqual(limitToHard({ limitsCpu: '0', limitsMemory: '8Gi' }));
  });

  it('no project namespace default: deriveRequestedResourceQuota returns nil, "delete": the annotation is removed, then the quota deleted', () => {
    const plan = syncOf({ limit: project.limit, namespaceDefault: undefined }, [{ name: 'a', annotation: { limitsCpu: '12' }, hard: { limitsCpu: '12' } }]);
    expect(verbs(plan)).toEqual(['update Namespace', 'delete ResourceQuota']);
    expect((plan!.writes![0]!.object as Namespace).metadata.annotations[ANN_RANCHER_QUOTA]).toBeUndefined();
  });

  it('no annotation: the project default is the namespace\'s quota', () => {
    const plan = syncOf(project, [{ name: 'a' }]);
    expect((plan!.writes!.at(-1)!.object as ResourceQuota).spec.hard).toEqual(limitToHard(project.namespaceDefault!));
  });

  it('without a scenario project the sync is unchanged: the implicit project (no completion, every namespace fits)', () => {
    const plan = syncOf(undefined, [{ name: 'a', annotation: { limitsCpu: '170' }, hard: { limitsCpu: '4' } }]);
    expect(verbs(plan)).toEqual(['update Namespace', 'update Namespace', 'update ResourceQuota']);
  });
});

const SCENARIO = (project: string, edit = '17') => `
name: project-test
cluster:
  nodes:
    - { name: node-1, cpu: 32, memory: 64Gi }
    - { name: node-2, cpu: 32, memory: 64Gi }
  rancher:
    agentNode: node-1
${project}
  namespaces:
    - name: a
      quota: { limitsCpu: "4" }
    - name: b
      quota: { limitsCpu: "4", limitsMemory: 8Gi }
actions:
  - editQuota: { namespace: a, quota: { limitsCpu: "${edit}" } }
    at: 10s
horizon: 2m
`;
const PROJECT = '    project:\n      limit: { limitsCpu: "20", limitsMemory: 40Gi }\n      namespaceDefault: { limitsCpu: "4", limitsMemory: 8Gi }';

function problems(text: string): string[] {
  try {
    parseScenario(text, 's.yaml', () => true);
  } catch (e) {
    if (e instanceof InputError) return e.problems.map((p) => `${p.line}:${p.field}: ${p.message}`);
    throw e;
  }
  return [];
}

describe('cluster.rancher.project in a scenario', () => {
  it('is loaded with both parts; located errors for a missing part, an unknown key, a namespace key the default lacks, and an at-rest overrun', () => {
    expect(parseScenario(SCENARIO(PROJECT), 's.yaml', () => true).rancher!.project).toEqual({ limit: { limitsCpu: '20', limitsMemory: '40Gi' }, namespaceDefault: { limitsCpu: '4', limitsMemory: '8Gi' } });
    expect(problems(SCENARIO('    project:\n      limit: { limitsCpu: "20" }'))).toEqual([expect.stringMatching(/^10:cluster\.rancher\.project: expected namespaceDefault/)]);
    expect(problems(SCENARIO(PROJECT + '\n      used: {}'))).toEqual(['12:cluster.rancher.project.used: unknown key "used" (expected one of: limit, namespaceDefault)']);
    expect(problems(SCENARIO('    project:\n      limit: { limitsCpu: "20" }\n      namespaceDefault: { limitsCpu: "4" }'))).toEqual([
      expect.stringMatching(/^16:cluster\.namespaces\[1\]\.quota\.limitsMemory: limitsMemory is not in cluster\.rancher\.project\.namespaceDefault \(limitsCpu\)/),
    ]);
    expect(problems(SCENARIO('    project:\n      limit: { limitsCpu: "6", limitsMemory: 40Gi }\n      namespaceDefault: { limitsCpu: "4", limitsMemory: 8Gi }'))).toEqual([
      expect.stringMatching(/^10:cluster\.rancher\.project\.limit: at rest .*Resource quota \[limitsCpu=8\] exceeds project limit/),
    ]);
  });

  it('at rest the namespaces carry the completed limit; an edit over the project limit leaves the quota as it was, one within it is applied', () => {
    const strategy = builtinStrategy('v1.4.2')!;
    const hardOf = (text: string) => {
      let api: import('../src/cluster/apiserver.js').ApiServer | undefined;
      runOnce(parseScenario(text, 's.yaml', () => true), strategy, 1, { inspect: (w) => (api = w.api) });
      return { a: api!.list('ResourceQuota', 'a')[0]!.spec.hard, ns: api!.get('Namespace', 'a')! };
    };
    const over = hardOf(SCENARIO(PROJECT, '17'));
    expect(over.a).toEqual(limitToHard({ limitsCpu: '4', limitsMemory: '8Gi' }));
    expect(over.ns.metadata.annotations[ANN_CATTLE_STATUS]).toContain('Resource quota [limitsCpu=21] exceeds project limit');
    const within = hardOf(SCENARIO(PROJECT, '16'));
    expect(within.a).toEqual(limitToHard({ limitsCpu: '16', limitsMemory: '8Gi' }));
    // Without the project the same edit is applied as written (the implicit project).
    expect(hardOf(SCENARIO('', '17')).a).toEqual(limitToHard({ limitsCpu: '17' }));
  });

  it('a namespace edit that changes the project\'s UsedLimit re-syncs every namespace of the project (resourceQuotaNamespacesReconcileController)', () => {
    // An administrator's kubectl edit of b's quota at 5 s: Rancher's sync handles Namespace events only, so it stays
    // until something enqueues b. The UI edit of a at 10 s changes UsedLimit; the Project event enqueues b, whose quota goes back.
    const text = SCENARIO(PROJECT, '16').replace('horizon: 2m', '  - editQuotaSpec: { namespace: b, quota: { limitsCpu: "9" } }\n    at: 5s\nhorizon: 2m');
    let api: import('../src/cluster/apiserver.js').ApiServer | undefined;
    // pre-fix: Harvester's controller does not put a spec edit back itself (v1.4.2's does).
    runOnce(parseScenario(text, 's.yaml', () => true), builtinStrategy('pre-fix')!, 1, { inspect: (w) => (api = w.api) });
    expect(api!.list('ResourceQuota', 'b')[0]!.spec.hard).toEqual(limitToHard({ limitsCpu: '4', limitsMemory: '8Gi' }));
  });

  it('UsedLimit sums the annotation limits of the namespaces whose ResourceQuotaValidated is True (calculateProjectResourceQuota)', () => {
    const ns = (name: string, limit: RancherLimit, fit: boolean | undefined): Namespace => ({
      kind: 'Namespace',
      metadata: { ...meta(name, ''), annotations: { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(limit), ...(fit === undefined ? {} : { [ANN_CATTLE_STATUS]: validatedCondition(fit, fit ? '' : 'x', 0) }) } },
    });
    expect(usedLimit([ns('a', { limitsCpu: '17' }, true), ns('b', { limitsCpu: '4' }, true)])).toBe('limits.cpu=21000');
    // A namespace that does not fit, or was never validated, drops out of the sum.
    expect(usedLimit([ns('a', { limitsCpu: '17' }, false), ns('b', { limitsCpu: '4' }, true), ns('c', { limitsCpu: '1' }, undefined)])).toBe('limits.cpu=4000');
  });
});

