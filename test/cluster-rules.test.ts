import { isPlan, type ReconcileResult } from '../src/cluster/plan.js';
import { describe, expect, it } from 'vitest';
import { syncedVmiPdb, installEvictionWebhook, launcherPod, newMigration, startKubeVirt } from '../src/actors/kubevirt.js';
import { startQuotaController } from '../src/actors/quota-controller.js';
import { AgentDeployment, agentPod, AGENT_NAMESPACE } from '../src/actors/rancher-agent.js';
import { RancherServer } from '../src/actors/rancher-server.js';
import { Tunnel } from '../src/actors/rancher-tunnel.js';
import { startDisruptionController } from '../src/actors/disruption-controller.js';
import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, parseRancherQuota, rancherQuotaAnnotation } from '../src/actors/rancher-quota.js';
import type { ApiError, ApiResult } from '../src/cluster/apiserver.js';
import { EvictionApi } from '../src/cluster/eviction.js';
import { Informer } from '../src/cluster/informer.js';
import { harvesterRequests, launcherPodResources } from '../src/cluster/launcher.js';
import type {
  Kind,
  KObject,
  Namespace,
  Node,
  ObjectMeta,
  ObjectOf,
  Pod,
  ResourceQuota,
  VirtualMachineInstance,
  VirtualMachineInstanceMigration,
} from '../src/cluster/objects.js';
import { migrationRunning, objKey } from '../src/cluster/objects.js';
import { parseQuantity } from '../src/cluster/quantity.js';
import { installQuotaAdmission } from '../src/cluster/quota-admission.js';
import { ExponentialRateLimiter, LassoRateLimiter } from '../src/cluster/ratelimit.js';
import type { ResourceList } from '../src/cluster/resources.js';
import { LIMITS_CPU, LIMITS_MEMORY, PODS, REQUESTS_CPU } from '../src/cluster/resources.js';
import { WorkQueue } from '../src/cluster/workqueue.js';
import { Kernel } from '../src/kernel/kernel.js';
import { DEFAULT_LATENCIES, type Latencies } from '../src/cluster/latency.js';
import { World } from '../src/cluster/world.js';
import type { View, Write } from '../src/strategies/api.js';
import {
  ANN_MIGRATING_NAME_PREFIX,
  ANN_MIGRATING_UID_PREFIX,
  decodeDelta,
  encodeDelta,
  namespaceValidator,
  vmiDelta,
} from '../src/strategies/harvester-quota.js';
import preFix from '../src/strategies/pre-fix.js';
import { installStrategy } from '../src/strategies/runtime.js';
import v142 from '../src/strategies/v1.4.2.js';

// ---------------------------------------------------------------- helpers

const SETUP = 'setup';
const q = (text: string): number => {
  const v = parseQuantity(text);
  if (v === undefined) throw new Error(`bad quantity ${text}`);
  return v;
};

function newWorld(lat: Partial<Latencies> = {}, seed = 'seed'): World {
  return new World(seed, { ...DEFAULT_LATENCIES, ...lat }, undefined);
}

function meta(name: string, namespace: string, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return { name, namespace, uid: '', resourceVersion: 0, labels: {}, annotations: {}, ...extra };
}

function must<T>(r: ApiResult<T>): T {
  if (!r.ok) throw new Error(`unexpected refusal ${r.err.code} ${r.err.message}`);
  return r.obj;
}

function refusal<T>(r: ApiResult<T>): ApiError {
  if (r.ok) throw new Error('expected a refusal, the write was accepted');
  return r.err;
}

function quota(name: string, ns: string, hard: ResourceList, used: ResourceList, extra: Partial<ObjectMeta> = {}): ResourceQuota {
  return { kind: 'ResourceQuota', metadata: meta(name, ns, extra), spec: { hard }, status: { hard, used } };
}

/** A VMI as Harvester creates it: memory request from the overcommit defaults. */
function vmi(name: string, ns: string, cpu: number, memory: string, node: string, uid = ''): VirtualMachineInstance {
  const memoryLimit = q(memory);
  return {
    kind: 'VirtualMachineInstance',
    metadata: meta(name, ns, { uid }),
    spec: { cpu, memoryLimit, memoryRequest: harvesterRequests(cpu, memoryLimit).memory, evictionStrategy: 'LiveMigrate' },
    status: { nodeName: node },
  };
}

function node(name: string, cpu = '64', memory = '256Gi'): Node {
  return { kind: 'Node', metadata: meta(name, ''), spec: { unschedulable: false }, status: { allocatable: { cpu: q(cpu), memory: q(memory) } } };
}

function namespace(name: string, annotations: Record<string, string> = {}): Namespace {
  return { kind: 'Namespace', metadata: meta(name, '', { annotations }) };
}

/** A View over a fixed set of objects, as a strategy's informer cache would give. */
function viewOf(objects: readonly KObject[], ratio = 1.5): View {
  return {
    now: 0,
    get: <K extends Kind>(kind: K, key: string) => objects.find((o) => o.kind === kind && objKey(o) === key) as ObjectOf<K> | undefined,
    list: <K extends Kind>(kind: K, ns?: string) =>
      objects.filter((o) => o.kind === kind && (ns === undefined || o.metadata.namespace === ns)) as ObjectOf<K>[],
    settings: { additionalGuestMemoryOverheadRatio: ratio },
  };
}

function single(r: ReconcileResult): Write | undefined {
  if (r === undefined) return undefined;
  const w = isPlan(r) ? r.writes : r;
  if (w === undefined) return undefined;
  if (Array.isArray(w)) {
    expect(w).toHaveLength(1);
    return w[0] as Write;
  }
  return w as Write;
}

function reconciler(strategy: typeof preFix, name: string) {
  const r = strategy.reconcilers.find((d) => d.name === name);
  if (!r) throw new Error(`no reconciler ${name}`);
  return r;
}

const NAME_CHARS = '[a-z0-9]{5}';
const CACHE_MAX = DEFAULT_LATENCIES.cacheLag.max;

// ---------------------------------------------------------------- 1. API server

describe('ApiServer: optimistic concurrency, spec/status split, annotation validation', () => {
  it('refuses an update carrying a stale resourceVersion with 409 Conflict and the real message, storing nothing', () => {
    const w = newWorld();
    const created = must(w.api.create(SETUP, quota('default-4tmmk', 'ns1', { [LIMITS_CPU]: q('30') }, { [LIMITS_CPU]: 0 })));
    const rancher = must(w.api.update('rancher', { ...created, spec: { hard: { [LIMITS_CPU]: q('34') } } }));
    expect(rancher.metadata.resourceVersion).toBeGreaterThan(created.metadata.resourceVersion);

    const err = refusal(w.api.update('harvester', { ...created, spec: { hard: { [LIMITS_CPU]: q('26') } } }));
    expect(err).toEqual({
      code: 409,
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on resourcequotas "default-4tmmk": the object has been modified; please apply your changes to the latest version and try again',
    });
    const stored = w.api.get('ResourceQuota', 'ns1/default-4tmmk')!;
    expect(stored.spec.hard[LIMITS_CPU]).toBe(q('34'));
    expect(stored.metadata.resourceVersion).toBe(rancher.metadata.resourceVersion);
    // updateStatus checks the resourceVersion too.
    expect(refusal(w.api.updateStatus('kube-controller-manager', { ...created })).code).toBe(409);
  });

  it('an update with resourceVersion 0 is unconditional: last writer wins', () => {
    const w = newWorld();
    const created = must(w.api.create(SETUP, quota('q', 'ns1', { [LIMITS_CPU]: q('30') }, { [LIMITS_CPU]: 0 })));
    must(w.api.update('rancher', { ...created, spec: { hard: { [LIMITS_CPU]: q('34') } } }));
    const stale = { ...created, metadata: { ...created.metadata, resourceVersion: 0 }, spec: { hard: { [LIMITS_CPU]: q('26') } } };
    const r = must(w.api.update('someone', stale));
    expect(r.spec.hard[LIMITS_CPU]).toBe(q('26'));
    expect(w.api.get('ResourceQuota', 'ns1/q')!.spec.hard[LIMITS_CPU]).toBe(q('26'));
    expect(r.metadata.resourceVersion).toBe(w.api.resourceVersion);
  });

  it('a spec update keeps the stored status, updateStatus keeps the stored spec, and both bump the one resourceVersion', () => {
    const w = newWorld();
    const created = must(w.api.create(SETUP, quota('q', 'ns1', { [LIMITS_CPU]: q('10') }, { [LIMITS_CPU]: q('2') })));

    const bogusStatus = { hard: { [LIMITS_CPU]: 1 }, used: { [LIMITS_CPU]: 1 } };
    const afterSpec = must(w.api.update('user', { ...created, spec: { hard: { [LIMITS_CPU]: q('20') } }, status: bogusStatus }));
    expect(afterSpec.spec.hard).toEqual({ [LIMITS_CPU]: q('20') });
    expect(afterSpec.status).toEqual({ hard: { [LIMITS_CPU]: q('10') }, used: { [LIMITS_CPU]: q('2') } });

    const afterStatus = must(
      w.api.updateStatus('kube-controller-manager', {
        ...afterSpec,
        spec: { hard: { [LIMITS_CPU]: 1 } },
        status: { hard: { [LIMITS_CPU]: q('20') }, used: { [LIMITS_CPU]: q('3') } },
      }),
    );
    expect(afterStatus.spec.hard).toEqual({ [LIMITS_CPU]: q('20') });
    expect(afterStatus.status).toEqual({ hard: { [LIMITS_CPU]: q('20') }, used: { [LIMITS_CPU]: q('3') } });
    expect(afterStatus.metadata.resourceVersion).toBeGreaterThan(afterSpec.metadata.resourceVersion);

    // A spec writer still holding the copy from before the status write conflicts.
    const err = refusal(w.api.update('rancher', { ...afterSpec, spec: { hard: { [LIMITS_CPU]: q('30') } } }));
    expect(err.reason).toBe('Conflict');
    expect(w.api.get('ResourceQuota', 'ns1/q')!.spec.hard[LIMITS_CPU]).toBe(q('20'));
  });

  it('refuses an annotation key whose name part is over 63 characters with 422 Invalid and accepts the 49-char migratingUID key', () => {
    const w = newWorld();
    const created = must(w.api.create(SETUP, quota('default-abcde', 'ns1', { [LIMITS_CPU]: q('10') }, { [LIMITS_CPU]: 0 })));
    const longVm = 'v'.repeat(54); // "migrating-" (10) + 54 = 64 > 63: harvester/harvester#7464
    const badKey = ANN_MIGRATING_NAME_PREFIX + longVm;
    const err = refusal(w.api.update('harvester', { ...created, metadata: { ...created.metadata, annotations: { [badKey]: '{}' } } }));
    expect(err.code).toBe(422);
    expect(err.reason).toBe('Invalid');
    expect(err.message).toContain('name part must be no more than 63 characters');
    expect(err.message).toContain(badKey);
    expect(err.message).toMatch(/^ResourceQuota "default-abcde" is invalid: metadata\.annotations: Invalid value: /);
    expect(w.api.get('ResourceQuota', 'ns1/default-abcde')!.metadata.annotations).toEqual({});

    // 63 characters exactly is still valid.
    const edgeKey = ANN_MIGRATING_NAME_PREFIX + 'v'.repeat(53);
    const edge = must(w.api.update('harvester', { ...created, metadata: { ...created.metadata, annotations: { [edgeKey]: '{}' } } }));

    const uidKey = ANN_MIGRATING_UID_PREFIX + '94ec5ca6-6f24-402c-8b48-2690976e2f0c';
    expect(uidKey.slice(uidKey.indexOf('/') + 1)).toHaveLength(49);
    const ok = must(w.api.update('harvester', { ...edge, metadata: { ...edge.metadata, annotations: { [uidKey]: '{}' } } }));
    expect(ok.metadata.annotations[uidKey]).toBe('{}');

    // Create validates too.
    const createErr = refusal(w.api.create(SETUP, quota('other', 'ns1', {}, {}, { annotations: { [badKey]: '{}' } })));
    expect(createErr.code).toBe(422);
  });
});

// ---------------------------------------------------------------- 2. quota admission

describe('ResourceQuota admission', () => {
  const vm4 = vmi('x', 'ns1', 4, '8Gi', '');
  const APISERVER_LAG = DEFAULT_LATENCIES.apiserverCacheLag.max + 1;

  function admissionWorld(rq: ResourceQuota): World {
    const w = newWorld();
    must(w.api.create(SETUP, rq));
    installQuotaAdmission(w);
    return w;
  }

  it('checks status.hard, not spec.hard: a raised spec alone still refuses; once status.hard follows, the pod is admitted', () => {
    const hard = { [LIMITS_CPU]: q('26'), [LIMITS_MEMORY]: q('60Gi') };
    const w = admissionWorld(quota('default-q', 'ns1', hard, { [LIMITS_CPU]: q('24'), [LIMITS_MEMORY]: 0 }));
    expect(refusal(w.api.create('virt-controller', launcherPod(vm4, '', 1.5))).code).toBe(403);

    const cur = w.api.get('ResourceQuota', 'ns1/default-q')!;
    must(w.api.update('rancher', { ...cur, spec: { hard: { ...hard, [LIMITS_CPU]: q('30') } } }));
    w.kernel.run(w.now + APISERVER_LAG);
    const stillRefused = refusal(w.api.create('virt-controller', launcherPod(vm4, '', 1.5)));
    expect(stillRefused.message).toContain('exceeded quota: default-q');
    expect(stillRefused.message).toContain('limited: limits.cpu=26');

    const raised = w.api.get('ResourceQuota', 'ns1/default-q')!;
    must(w.api.updateStatus('kube-controller-manager', { ...raised, status: { ...raised.status, hard: raised.spec.hard } }));
    w.kernel.run(w.now + APISERVER_LAG);
    const pod = must(w.api.create('virt-controller', launcherPod(vm4, '', 1.5)));
    expect(w.api.get('Pod', objKey(pod))).toBeDefined();
  });

  it('refuses with the exact text shape, listing only the exceeded resources (the #7178 log line)', () => {
    const hard = { [LIMITS_CPU]: q('26'), [LIMITS_MEMORY]: q('60Gi') };
    const w = admissionWorld(quota('default-4tmmk', 'ns1', hard, { [LIMITS_CPU]: q('28505m'), [LIMITS_MEMORY]: q('10Gi') }));
    const err = refusal(w.api.create('virt-controller', launcherPod(vm4, '', 1.5)));
    expect(err.code).toBe(403);
    expect(err.reason).toBe('Forbidden');
    // The apiserver generates the name before admission runs, so the message carries the generated
    // name (as in a real Harvester virt-controller log: pods "virt-launcher-vm1-5wcz6" is forbidden ...).
    expect(err.message).toMatch(
      new RegExp(
        `^pods "virt-launcher-x-${NAME_CHARS}" is forbidden: exceeded quota: default-4tmmk, requested: limits\\.cpu=4015m, used: limits\\.cpu=28505m, limited: limits\\.cpu=26$`,
      ),
    );
    expect(w.api.list('Pod')).toHaveLength(0);

    // Both over: both listed, sorted by key.
    const w2 = admissionWorld(quota('default-4tmmk', 'ns1', hard, { [LIMITS_CPU]: q('28505m'), [LIMITS_MEMORY]: q('59Gi') }));
    const err2 = refusal(w2.api.create('virt-controller', launcherPod(vm4, '', 1.5)));
    expect(err2.message).toMatch(
      /exceeded quota: default-4tmmk, requested: limits\.cpu=4015m,limits\.memory=[0-9]+(Ki|Mi|Gi)?, used: limits\.cpu=28505m,limits\.memory=59Gi, limited: limits\.cpu=26,limits\.memory=60Gi$/,
    );
  });

  it('charges status.used on admission, which bumps the resourceVersion under a spec writer', () => {
    const hard = { [LIMITS_CPU]: q('30'), [LIMITS_MEMORY]: q('60Gi'), [PODS]: q('10') };
    const w = admissionWorld(quota('q', 'ns1', hard, { [LIMITS_CPU]: q('2'), [LIMITS_MEMORY]: q('1Gi'), [PODS]: q('1') }));
    const before = w.api.get('ResourceQuota', 'ns1/q')!;
    const pod = must(w.api.create('virt-controller', launcherPod(vm4, '', 1.5)));
    const after = w.api.get('ResourceQuota', 'ns1/q')!;
    expect(after.status.used[LIMITS_CPU]).toBe(q('2') + q('4015m'));
    expect(after.status.used[LIMITS_MEMORY]).toBe(q('1Gi') + pod.spec.limits[LIMITS_MEMORY]!);
    expect(after.status.used[PODS]).toBe(q('2'));
    expect(after.status.hard).toEqual(hard);
    expect(after.spec).toEqual(before.spec);
    expect(after.metadata.resourceVersion).toBeGreaterThan(before.metadata.resourceVersion);
    expect(refusal(w.api.update('rancher', { ...before, spec: { hard: { ...hard, [LIMITS_CPU]: q('31') } } })).reason).toBe('Conflict');

    // A refused pod charges nothing.
    const small = admissionWorld(quota('q', 'ns1', { [LIMITS_CPU]: q('1') }, { [LIMITS_CPU]: 0 }));
    const rv = small.api.resourceVersion;
    refusal(small.api.create('virt-controller', launcherPod(vm4, '', 1.5)));
    expect(small.api.get('ResourceQuota', 'ns1/q')!.status.used[LIMITS_CPU]).toBe(0);
    expect(small.api.resourceVersion).toBe(rv);
  });

  it('lets spec.hard and status.hard be lowered below used; existing pods stay, new ones are refused', () => {
    const hard = { [LIMITS_CPU]: q('30'), [LIMITS_MEMORY]: q('60Gi') };
    const w = admissionWorld(quota('q', 'ns1', hard, { [LIMITS_CPU]: 0, [LIMITS_MEMORY]: 0 }));
    const pod = must(w.api.create('virt-controller', launcherPod(vm4, '', 1.5)));
    const cur = w.api.get('ResourceQuota', 'ns1/q')!;
    const lowered = { ...hard, [LIMITS_CPU]: q('1') };
    const s = must(w.api.update('user', { ...cur, spec: { hard: lowered } }));
    const st = must(w.api.updateStatus('kube-controller-manager', { ...s, status: { ...s.status, hard: lowered } }));
    expect(st.status.used[LIMITS_CPU]).toBe(q('4015m'));
    expect(st.status.hard[LIMITS_CPU]).toBeLessThan(st.status.used[LIMITS_CPU]!);
    expect(w.api.get('Pod', objKey(pod))).toBe(pod);
    w.kernel.run(w.now + APISERVER_LAG);
    const tiny = vmi('tiny', 'ns1', 1, '64Mi', '');
    expect(refusal(w.api.create('virt-controller', launcherPod(tiny, '', 1.5))).message).toContain('limited: limits.cpu=1');
  });

  it('masks: a pod that does not use the over-limit resource is still admitted', () => {
    const hard = { [LIMITS_CPU]: q('30'), 'requests.storage': q('10Gi') };
    const w = admissionWorld(quota('q', 'ns1', hard, { [LIMITS_CPU]: 0, 'requests.storage': q('20Gi') }));
    must(w.api.create('virt-controller', launcherPod(vm4, '', 1.5)));
    const after = w.api.get('ResourceQuota', 'ns1/q')!;
    expect(after.status.used['requests.storage']).toBe(q('20Gi'));
    expect(after.status.used[LIMITS_CPU]).toBe(q('4015m'));
    // ... while the same quota over on a resource the pod does use refuses it.
    const w2 = admissionWorld(quota('q', 'ns1', hard, { [LIMITS_CPU]: q('30'), 'requests.storage': q('20Gi') }));
    const err = refusal(w2.api.create('virt-controller', launcherPod(vm4, '', 1.5)));
    expect(err.message).toContain('requested: limits.cpu=4015m, used: limits.cpu=30, limited: limits.cpu=30');
  });
});

// ---------------------------------------------------------------- 3. quota controller

describe('kube-controller-manager quota controller', () => {
  const vm1 = vmi('vm1', 'ns1', 1, '1Gi', 'n1');
  const SETTLE = 2_000;

  function qcWorld() {
    const w = newWorld();
    const p1 = must(w.api.create(SETUP, launcherPod(vm1, 'n1', 1.5)));
    const p2 = must(w.api.create(SETUP, launcherPod(vmi('vm2', 'ns1', 1, '1Gi', 'n1'), 'n1', 1.5)));
    // 1 vCPU launcher = 1015m limits.cpu (1 core + the 15m console-log container).
    const used = { [LIMITS_CPU]: q('2030m'), [PODS]: q('2') };
    must(w.api.create(SETUP, quota('q', 'ns1', { [LIMITS_CPU]: q('10'), [PODS]: q('10') }, used)));
    startQuotaController(w);
    return { w, p1, p2 };
  }
  const rq = (w: World) => w.api.get('ResourceQuota', 'ns1/q')!;

  it('copies spec.hard to status.hard after a spec change', () => {
    const { w } = qcWorld();
    must(w.api.update('user', { ...rq(w), spec: { hard: { [LIMITS_CPU]: q('20'), [PODS]: q('10') } } }));
    expect(rq(w).status.hard[LIMITS_CPU]).toBe(q('10'));
    w.kernel.run(w.now + SETTLE);
    expect(rq(w).status.hard).toEqual({ [LIMITS_CPU]: q('20'), [PODS]: q('10') });
    expect(rq(w).status.used).toEqual({ [LIMITS_CPU]: q('2030m'), [PODS]: q('2') });
  });

  it('replenishes used when a pod goes Succeeded, then when one is deleted', () => {
    const { w, p1, p2 } = qcWorld();
    must(w.api.update('kubelet', { ...p2, status: { phase: 'Succeeded' } }));
    w.kernel.run(w.now + SETTLE);
    expect(rq(w).status.used).toEqual({ [LIMITS_CPU]: q('1015m'), [PODS]: q('1') });
    must(w.api.delete('kubelet', 'Pod', objKey(p1)));
    w.kernel.run(w.now + SETTLE);
    expect(rq(w).status.used).toEqual({ [LIMITS_CPU]: 0, [PODS]: 0 });
  });

  it('ignores status-only updates (and pod creation); the next spec change recomputes', () => {
    const { w } = qcWorld();
    const wrong = { [LIMITS_CPU]: q('7777m'), [PODS]: q('1') };
    must(w.api.updateStatus('someone', { ...rq(w), status: { hard: rq(w).status.hard, used: wrong } }));
    must(w.api.create(SETUP, launcherPod(vmi('vm3', 'ns1', 1, '1Gi', 'n1'), 'n1', 1.5)));
    w.kernel.run(w.now + 60_000); // well inside the 5 min full resync
    expect(rq(w).status.used).toEqual(wrong);

    must(w.api.update('user', { ...rq(w), spec: { hard: { [LIMITS_CPU]: q('11'), [PODS]: q('10') } } }));
    w.kernel.run(w.now + SETTLE);
    expect(rq(w).status.used).toEqual({ [LIMITS_CPU]: q('3045m'), [PODS]: q('3') });
  });
});

// ---------------------------------------------------------------- 4. informer

describe('Informer', () => {
  it('lags the API server: a read right after a write sees the old version, after the max cacheLag the new one', () => {
    const w = newWorld();
    const ns = must(w.api.create(SETUP, namespace('ns1')));
    const inf = new Informer(w, 'test', ['Namespace']);
    expect(inf.get('Namespace', 'ns1')).toBe(ns); // the initial LIST
    const v2 = must(w.api.update('user', { ...ns, metadata: { ...ns.metadata, labels: { a: 'b' } } }));
    expect(inf.get('Namespace', 'ns1')).toBe(ns);
    const created = must(w.api.create(SETUP, namespace('ns2')));
    expect(inf.get('Namespace', 'ns2')).toBeUndefined();
    w.kernel.run(w.now + CACHE_MAX);
    expect(inf.get('Namespace', 'ns1')).toBe(v2);
    expect(inf.get('Namespace', 'ns2')).toBe(created);
    must(w.api.delete('user', 'Namespace', 'ns2'));
    expect(inf.get('Namespace', 'ns2')).toBe(created);
    w.kernel.run(w.now + CACHE_MAX);
    expect(inf.get('Namespace', 'ns2')).toBeUndefined();
  });

  it('delivers one kind’s events in order, each no earlier than the minimum lag', () => {
    const w = newWorld();
    must(w.api.create(SETUP, namespace('ns1')));
    const inf = new Informer(w, 'test', ['Namespace']);
    const seen: Array<{ rv: number; at: number }> = [];
    inf.on('Namespace', (_o, cur) => {
      if (cur) seen.push({ rv: cur.metadata.resourceVersion, at: w.now });
    });
    const written: Array<{ rv: number; at: number }> = [];
    for (let i = 0; i < 60; i++) {
      w.kernel.schedule(i * 2, () => {
        const cur = w.api.get('Namespace', 'ns1')!;
        const r = must(w.api.update('user', { ...cur, metadata: { ...cur.metadata, labels: { i: String(i) } } }));
        written.push({ rv: r.metadata.resourceVersion, at: w.now });
      });
    }
    w.kernel.run(10_000);
    expect(written).toHaveLength(60);
    expect(seen.map((s) => s.rv)).toEqual(written.map((x) => x.rv));
    seen.forEach((s, i) => expect(s.at).toBeGreaterThanOrEqual(written[i]!.at + DEFAULT_LATENCIES.cacheLag.min));
    expect(inf.get('Namespace', 'ns1')!.metadata.resourceVersion).toBe(written[59]!.rv);
  });
});

// ---------------------------------------------------------------- 5. work queue and rate limiters

describe('WorkQueue and rate limiters', () => {
  it('queues a key at most once, and re-queues a key added while it is processed when done', () => {
    const k = new Kernel();
    let ready = 0;
    const wq = new WorkQueue(k, new ExponentialRateLimiter(), () => ready++);
    wq.add('a');
    wq.add('a');
    wq.add('b');
    expect(wq.length).toBe(2);
    expect(ready).toBe(2);
    expect(wq.get()).toBe('a');
    wq.add('a'); // while processing
    expect(wq.length).toBe(1);
    expect(wq.get()).toBe('b');
    expect(wq.get()).toBeUndefined();
    wq.add('a'); // still deduplicated while it waits for done
    wq.done('a');
    expect(wq.length).toBe(1);
    expect(wq.get()).toBe('a');
    wq.done('a');
    wq.done('b');
    expect(wq.get()).toBeUndefined();
  });

  it('addAfter keeps the earliest time; addRateLimited waits the limiter delay; forget resets it', () => {
    const k = new Kernel();
    const wq = new WorkQueue(k, new ExponentialRateLimiter(), () => undefined);
    wq.addAfter('c', 100);
    wq.addAfter('c', 50);
    wq.addAfter('c', 200);
    k.run(49);
    expect(wq.length).toBe(0);
    k.run(50);
    expect(wq.get()).toBe('c');
    wq.done('c');
    k.run(1_000);
    expect(wq.length).toBe(0);

    const t0 = k.now;
    const arrivals: number[] = [];
    for (let i = 0; i < 3; i++) {
      wq.addRateLimited('d');
      k.run(k.now + 10_000);
      expect(wq.get()).toBe('d');
      arrivals.push(k.now);
      wq.done('d');
    }
    expect([arrivals[0]! - t0, arrivals[1]! - arrivals[0]!, arrivals[2]! - arrivals[1]!]).toEqual([5, 10, 20]);
    wq.forget('d');
    const t1 = k.now;
    wq.addRateLimited('d');
    k.run(k.now + 10_000);
    expect(wq.get()).toBe('d');
    expect(k.now - t1).toBe(5);
  });

  it('ExponentialRateLimiter: 5ms·2^n per key, capped at 1000 s; forget resets', () => {
    const l = new ExponentialRateLimiter();
    const d = Array.from({ length: 25 }, () => l.when('k'));
    expect(d.slice(0, 4)).toEqual([5, 10, 20, 40]);
    expect(d[17]).toBe(655_360);
    expect(d.slice(18)).toEqual(Array(7).fill(1_000_000));
    d.forEach((x, n) => expect(x).toBe(Math.min(5 * 2 ** n, 1_000_000)));
    expect(l.when('other')).toBe(5);
    l.forget('k');
    expect(l.when('k')).toBe(5);
  });

  it('LassoRateLimiter: max(exponential 5ms..30s, 1ms for 30 failures then 2 min); forget resets', () => {
    const l = new LassoRateLimiter();
    const d = Array.from({ length: 33 }, () => l.when('k'));
    expect(d.slice(0, 4)).toEqual([5, 10, 20, 40]);
    expect(d[12]).toBe(20_480);
    expect(d.slice(13, 30)).toEqual(Array(17).fill(30_000)); // failures 14..30
    expect(d.slice(30)).toEqual([120_000, 120_000, 120_000]); // failure 31 on
    expect(l.when('other')).toBe(5);
    l.forget('k');
    expect(l.when('k')).toBe(5);
  });
});

// ---------------------------------------------------------------- 6. Rancher agent

describe('Rancher cluster agent', () => {
  const base = { limitsCpu: '30', limitsMemory: '60Gi' };
  const uidKey = `${ANN_MIGRATING_UID_PREFIX}94ec5ca6-6f24-402c-8b48-2690976e2f0c`;

  function agentWorld(lat: Partial<Latencies> = {}, agentNodes: readonly string[] = ['n1']) {
    const w = newWorld(lat);
    must(w.api.create(SETUP, node('n1')));
    must(w.api.create(SETUP, node('n2')));
    must(w.api.create(SETUP, namespace('ns1', { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(base) })));
    const hard = parseRancherQuota(rancherQuotaAnnotation(base))!.hard;
    const rq = must(
      w.api.create(SETUP, {
        ...quota('', 'ns1', hard, { [LIMITS_CPU]: 0, [LIMITS_MEMORY]: 0 }, { generateName: 'default-', labels: { [LABEL_DEFAULT_RQ]: 'true' } }),
      }),
    );
    const tunnel = new Tunnel(w);
    const server = new RancherServer(w, tunnel, undefined);
    const agent = new AgentDeployment(w, agentNodes.length, tunnel);
    const pods = agentNodes.map((n) => must(w.api.create(SETUP, agentPod(n))));
    // The first listed pod connected first (carries Rancher's connections).
    agent.adoptRunning(pods.map(objKey), objKey(pods[0]!));
    return { w, agent, server, rqKey: objKey(rq), pod: pods[0]!, pods, hard };
  }

  /** What Harvester (pre-fix) does at Pending: raise spec.hard and add its annotation. */
  function harvesterRaise(w: World, rqKey: string): ResourceQuota {
    const cur = w.api.get('ResourceQuota', rqKey)!;
    const annotations = { ...cur.metadata.annotations, [uidKey]: '{"limits.cpu":"4","limits.memory":"8880039936"}', 'other.io/keep': 'x' };
    return must(
      w.api.update('harvester', {
        ...cur,
        metadata: { ...cur.metadata, annotations },
        spec: { hard: { [LIMITS_CPU]: q('34'), [LIMITS_MEMORY]: q('60Gi') + q('8880039936') } },
      }),
    );
  }

  it('does not react to a ResourceQuota change while running (no RQ watch), but a Namespace event resets it', () => {
    const { w, rqKey, hard } = agentWorld();
    const raised = harvesterRaise(w, rqKey);
    w.kernel.run(w.now + 10 * 60_000);
    expect(w.api.get('ResourceQuota', rqKey)).toBe(raised);

    const ns = w.api.get('Namespace', 'ns1')!;
    must(w.api.update('user', { ...ns, metadata: { ...ns.metadata, labels: { touched: 'yes' } } }));
    w.kernel.run(w.now + 2_000);
    expect(w.api.get('ResourceQuota', rqKey)!.spec.hard).toEqual(hard);
    expect(w.api.get('ResourceQuota', rqKey)!.metadata.resourceVersion).toBeGreaterThan(raised.metadata.resourceVersion);
  });

  it('after its only pod is deleted, Rancher loses the cluster; it re-lists at the first dialer poll after the new agent connects, and replaces spec.hard, keeping Harvester annotations', () => {
    const podStart = 5_000;
    const agentStart = 7_000;
    const { w, agent, server, rqKey, pod, hard } = agentWorld({
      podStart: { min: podStart, max: podStart },
      agentStart: { min: agentStart, max: agentStart },
    });
    const raised = harvesterRaise(w, rqKey);
    w.kernel.run(w.now + 1_000);
    const t0 = w.now;
    must(w.api.delete('operator', 'Pod', objKey(pod)));
    expect(agent.connected).toBe(false);
    expect(server.connected).toBe(false);
    expect(w.recorder.counters.agentRestarts).toBe(1);

    w.kernel.run(t0 + podStart + agentStart - 1);
    expect(w.api.get('ResourceQuota', rqKey)).toBe(raised);
    expect(agent.connected).toBe(false);

    // The reflector's LIST waits in clusterDialer's polls (5–10 s apart) or lasso's
    // waitHealthy (15 s pings): the reset lands within a minute of the agent connecting.
    w.kernel.run(t0 + podStart + agentStart + 60_000);
    expect(agent.connected).toBe(true);
    const reset = w.api.get('ResourceQuota', rqKey)!;
    expect(reset.spec.hard).toEqual(hard);
    expect(reset.metadata.annotations[uidKey]).toBe(raised.metadata.annotations[uidKey]);
    expect(reset.metadata.annotations['other.io/keep']).toBe('x');
    expect(reset.status).toEqual(raised.status);

    const agents = w.api.list('Pod', AGENT_NAMESPACE);
    expect(agents).toHaveLength(1);
    expect(objKey(agents[0]!)).not.toBe(objKey(pod));
    expect(agents[0]!.status.phase).toBe('Running');
  });

  // remotedialer v0.4.0 session_manager.go getDialer: sessions[0] carries every connection.
  it('with two agent replicas, losing the one that connected second breaks nothing; losing the carrier re-lists through the other and resets', () => {
    const { w, agent, server, rqKey, pods, hard } = agentWorld({}, ['n1', 'n2']);
    const raised = harvesterRaise(w, rqKey);
    w.kernel.run(w.now + 1_000);
    must(w.api.delete('operator', 'Pod', objKey(pods[1]!)));
    expect(agent.connected).toBe(true);
    w.kernel.run(w.now + 5 * 60_000);
    expect(w.api.get('ResourceQuota', rqKey)).toBe(raised);

    harvesterRaise(w, rqKey);
    must(w.api.delete('operator', 'Pod', objKey(pods[0]!)));
    // The replacement of pods[1] is connected: the carrier's loss still re-lists.
    expect(server.connected).toBe(true);
    w.kernel.run(w.now + 5_000);
    expect(w.api.get('ResourceQuota', rqKey)!.spec.hard).toEqual(hard);
  });

  it("Rancher's watches miss what happens while no agent is connected, until the re-list", () => {
    const podStart = 5_000;
    const agentStart = 7_000;
    const { w, server, rqKey, pod, hard } = agentWorld({ podStart: { min: podStart, max: podStart }, agentStart: { min: agentStart, max: agentStart } });
    harvesterRaise(w, rqKey);
    w.kernel.run(w.now + 1_000);
    must(w.api.delete('operator', 'Pod', objKey(pod)));
    // A namespace event while Rancher is blind: it is only seen through the re-list.
    const ns = w.api.get('Namespace', 'ns1')!;
    must(w.api.update('user', { ...ns, metadata: { ...ns.metadata, labels: { touched: 'yes' } } }));
    w.kernel.run(w.now + podStart);
    expect(server.connected).toBe(false);
    expect(w.api.get('ResourceQuota', rqKey)!.spec.hard[LIMITS_CPU]).toBe(q('34'));
    w.kernel.run(w.now + agentStart + 60_000);
    expect(server.connected).toBe(true);
    expect(w.api.get('ResourceQuota', rqKey)!.spec.hard).toEqual(hard);
  });

  it('a rollout replaces every agent pod with one of the new template, one at a time (surge 1, unavailable 0)', () => {
    const { w, agent, pods } = agentWorld({}, ['n1', 'n2']);
    agent.rollout();
    let minPods = Infinity;
    w.observe({ afterStep: () => (minPods = Math.min(minPods, w.api.list('Pod', AGENT_NAMESPACE).filter((p) => p.status.phase === 'Running').length)) });
    w.kernel.run(w.now + 5 * 60_000);
    const now = w.api.list('Pod', AGENT_NAMESPACE);
    expect(now).toHaveLength(2);
    for (const p of now) expect(pods.map(objKey)).not.toContain(objKey(p));
    for (const p of now) expect(p.metadata.labels['pod-template-hash']).toBe('2');
    expect(minPods).toBeGreaterThanOrEqual(2);
    expect(w.recorder.counters.agentRestarts).toBe(2);
  });
});

// ---------------------------------------------------------------- 7. eviction

describe('Eviction with KubeVirt’s eviction webhook', () => {
  function evictionWorld() {
    const w = newWorld();
    const v = must(w.api.create(SETUP, vmi('vm1', 'ns1', 1, '1Gi', 'n1')));
    const pod = must(w.api.create(SETUP, launcherPod(v, 'n1', 1.5)));
    const eviction = new EvictionApi(w.api);
    installEvictionWebhook(w, eviction);
    return { w, eviction, pod };
  }

  it('KubeVirt 1.3: the first eviction marks the VMI for evacuation (429); later ones are left to the VMI\'s PDB, which refuses while it allows no disruption', () => {
    const { w, eviction, pod } = evictionWorld();
    const first = refusal(eviction.evict('drain', objKey(pod)));
    // As the API server returns a validating webhook's denial (ToStatusErr): the webhook's name first.
    expect(first).toEqual({ code: 429, reason: 'TooManyRequests', message: 'admission webhook "virt-launcher-eviction-interceptor.kubevirt.io" denied the request: Eviction triggered evacuation of VMI "ns1/vm1"' });
    expect(w.api.get('VirtualMachineInstance', 'ns1/vm1')!.status.evacuationNodeName).toBe('n1');
    expect(w.api.get('Pod', objKey(pod))).toBeDefined();

    // No "Evacuation in progress" (KubeVirt 1.5): the webhook lets it through, the PDB decides.
    const v = w.api.get('VirtualMachineInstance', 'ns1/vm1')!;
    const pdb = must(w.api.create(SETUP, syncedVmiPdb(v)));
    const second = refusal(eviction.evict('drain', objKey(pod)));
    expect(second).toEqual({ code: 429, reason: 'TooManyRequests', message: "Cannot evict pod as it would violate the pod's disruption budget." });
    expect(w.api.get('Pod', objKey(pod))).toBeDefined();
    // A PDB whose spec changed and was not yet seen by the disruption controller refuses too.
    must(w.api.updateStatus('kube-controller-manager', { ...w.api.get('PodDisruptionBudget', objKey(pdb))!, status: { ...pdb.status, disruptionsAllowed: 1 } }));
    must(w.api.update('virt-controller', { ...w.api.get('PodDisruptionBudget', objKey(pdb))!, spec: { ...pdb.spec, minAvailable: 2 } }));
    expect(w.api.get('PodDisruptionBudget', objKey(pdb))!.metadata.generation).toBe(2);
    expect(refusal(eviction.evict('drain', objKey(pod))).code).toBe(429);
    // One that allows a disruption lets the pod go, and counts it.
    const cur = w.api.get('PodDisruptionBudget', objKey(pdb))!;
    must(w.api.updateStatus('kube-controller-manager', { ...cur, status: { ...cur.status, observedGeneration: 2, disruptionsAllowed: 1 } }));
    must(eviction.evict('drain', objKey(pod)));
    expect(w.api.get('Pod', objKey(pod))).toBeUndefined();
    expect(w.api.get('PodDisruptionBudget', objKey(pdb))!.status.disruptionsAllowed).toBe(0);
  });

  it('a Succeeded pod is deleted at once; a VMI without LiveMigrate lets its pod go', () => {
    const { w, eviction, pod } = evictionWorld();
    must(w.api.update('kubelet', { ...pod, status: { phase: 'Succeeded' } }));
    must(eviction.evict('drain', objKey(pod)));
    expect(w.api.get('Pod', objKey(pod))).toBeUndefined();
    expect(w.api.get('VirtualMachineInstance', 'ns1/vm1')!.status.evacuationNodeName).toBeUndefined();

    const plain = must(w.api.create(SETUP, { ...vmi('vm2', 'ns1', 1, '1Gi', 'n1') }));
    must(w.api.update(SETUP, { ...plain, spec: { ...plain.spec, evictionStrategy: 'None' } }));
    const p2 = must(w.api.create(SETUP, launcherPod(w.api.get('VirtualMachineInstance', 'ns1/vm2')!, 'n1', 1.5)));
    must(eviction.evict('drain', objKey(p2)));
    expect(w.api.get('Pod', objKey(p2))).toBeUndefined();
  });
});

// ---------------------------------------------------------------- 8. KubeVirt migration

describe('KubeVirt migration and evacuation', () => {
  const T = 300_000;

  /** The PDB KubeVirt keeps for a LiveMigrate VMI, as the disruption controller has synced it. */
  function protectedByPdb(w: World, v: VirtualMachineInstance): void {
    must(w.api.create(SETUP, syncedVmiPdb(v)));
  }

  function migrationWorld(seed: string) {
    const w = newWorld({}, seed);
    must(w.api.create(SETUP, node('n1')));
    must(w.api.create(SETUP, node('n2')));
    const v = must(w.api.create(SETUP, vmi('vm1', 'ns1', 1, '1Gi', 'n1')));
    const src = must(w.api.create(SETUP, launcherPod(v, 'n1', 1.5)));
    protectedByPdb(w, v);
    // The quota fits exactly the source pod: no room for the target.
    const used = { [LIMITS_CPU]: src.spec.limits[LIMITS_CPU]!, [LIMITS_MEMORY]: src.spec.limits[LIMITS_MEMORY]! };
    must(w.api.create(SETUP, quota('q', 'ns1', used, used)));
    installQuotaAdmission(w);
    startQuotaController(w);
    startDisruptionController(w);
    startKubeVirt(w);
    const vmim = must(w.api.create('operator', newMigration(v, 'vm1-migration-')));
    return { w, vmimKey: objKey(vmim), used };
  }

  it('a target pod refused by quota leaves the VMIM Pending with rejectedByResourceQuota; raising the quota lets it proceed at once', () => {
    const run = migrationWorld('1');
    const control = migrationWorld('1');
    for (const { w } of [run, control]) w.kernel.run(T);
    const vmim = (x: typeof run) => x.w.api.get('VirtualMachineInstanceMigration', x.vmimKey)!;

    expect(vmim(run).status.phase).toBe('Pending');
    expect(vmim(run).status.rejectedByResourceQuota).toBe(true);
    expect(run.w.api.list('Pod', 'ns1')).toHaveLength(1);
    const rejections = run.w.recorder.counters.targetPodsRejectedByQuota;
    expect(rejections).toBeGreaterThan(1);

    // Raise spec and status (the quota controller would copy it; do both at once).
    const cur = run.w.api.get('ResourceQuota', 'ns1/q')!;
    const raisedHard = { [LIMITS_CPU]: run.used[LIMITS_CPU]! * 3, [LIMITS_MEMORY]: run.used[LIMITS_MEMORY]! * 3 };
    const s = must(run.w.api.update('user', { ...cur, spec: { hard: raisedHard } }));
    must(run.w.api.updateStatus('kube-controller-manager', { ...s, status: { ...s.status, hard: raisedHard } }));

    const window = 2_000;
    for (const { w } of [run, control]) w.kernel.run(T + window);
    // Without the raise nothing would have retried in this window: the rate limiter's delay is long by now.
    expect(vmim(control).status.phase).toBe('Pending');
    expect(control.w.recorder.counters.targetPodsRejectedByQuota).toBe(rejections);
    // With it, the ResourceQuota events re-enqueued the VMIM and the target pod got in.
    expect(vmim(run).status.phase).not.toBe('Pending');
    expect(vmim(run).status.rejectedByResourceQuota).toBe(false);
    expect(vmim(run).status.targetPod).toBeDefined();
    expect(run.w.api.list('Pod', 'ns1')).toHaveLength(2);

    run.w.kernel.run(T + 10 * 60_000);
    expect(vmim(run).status.phase).toBe('Succeeded');
    expect(run.w.api.get('VirtualMachineInstance', 'ns1/vm1')!.status.nodeName).toBe('n2');
  });

  function evacuationWorld(seed: string, vms: number) {
    const w = newWorld({}, seed);
    for (const n of ['n1', 'n2', 'n3']) must(w.api.create(SETUP, node(n)));
    const pods: Pod[] = [];
    for (let i = 0; i < vms; i++) {
      const v = must(w.api.create(SETUP, vmi(`vm${i}`, 'ns1', 1, '1Gi', 'n1')));
      pods.push(must(w.api.create(SETUP, launcherPod(v, 'n1', 1.5))));
      protectedByPdb(w, v);
    }
    installQuotaAdmission(w);
    startDisruptionController(w);
    const eviction = new EvictionApi(w.api);
    installEvictionWebhook(w, eviction);
    startKubeVirt(w);
    for (const p of pods) expect(refusal(eviction.evict('drain', objKey(p))).code).toBe(429);
    return w;
  }

  const outboundRunning = (ms: readonly VirtualMachineInstanceMigration[], from: string) =>
    ms.filter((m) => m.status.sourceNode === from && migrationRunning(m.status.phase)).length;

  /** Steps the kernel one event at a time; returns the most outbound migrations from n1 running at once. */
  function evacuate(w: World): { max: number; first?: string } {
    let max = 0;
    let first: string | undefined;
    while (w.now < 3_600_000 && w.kernel.step()) {
      const ms = w.api.list('VirtualMachineInstanceMigration');
      const n = outboundRunning(ms, 'n1');
      if (n > 2 && first === undefined) {
        const running = ms.filter((m) => migrationRunning(m.status.phase)).map((m) => `${m.spec.vmiName}:${m.status.phase}`);
        first = `${n} outbound at ${w.now} ms: ${running.join(', ')}`;
      }
      max = Math.max(max, n);
    }
    return { max, ...(first === undefined ? {} : { first }) };
  }

  const SEEDS = ['1', '2', '3', '4', '5', '6', '7', '8'];
  const VMS = 6;

  it('evacuates every LiveMigrate VM off the node, running migrations in parallel', () => {
    for (const seed of SEEDS) {
      const w = evacuationWorld(seed, VMS);
      const { max } = evacuate(w);
      expect(max, `seed ${seed}`).toBeGreaterThanOrEqual(2);
      expect(w.api.list('VirtualMachineInstance').filter((v) => v.status.nodeName === 'n1'), `seed ${seed}`).toHaveLength(0);
      const succeeded = w.api.list('VirtualMachineInstanceMigration').filter((m) => m.status.phase === 'Succeeded');
      expect(new Set(succeeded.map((m) => m.spec.vmiName)).size, `seed ${seed}`).toBe(VMS);
    }
  });

  // Regression test for a bug found while writing these tests (fixed).
  it('never has more than 2 outbound migrations running from one node, checked at every kernel step', () => {
    for (const seed of SEEDS) {
      const { max, first } = evacuate(evacuationWorld(seed, VMS));
      expect(first, `seed ${seed}`).toBeUndefined();
      expect(max, `seed ${seed}`).toBe(2);
    }
  });
});

// ---------------------------------------------------------------- 9. Harvester namespace webhook

describe('Harvester namespace webhook', () => {
  const uidKey = `${ANN_MIGRATING_UID_PREFIX}94ec5ca6-6f24-402c-8b48-2690976e2f0c`;
  const base = { limitsCpu: '10', limitsMemory: '20Gi' };

  function webhookWorld(migrating: boolean) {
    const w = newWorld();
    must(w.api.create(SETUP, namespace('ns1', { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(base) })));
    const hard = parseRancherQuota(rancherQuotaAnnotation(base))!.hard;
    const annotations: Record<string, string> = migrating ? { [uidKey]: '{"limits.cpu":"1","limits.memory":"1456469952"}' } : {};
    must(
      w.api.create(
        SETUP,
        quota('default-abcde', 'ns1', hard, { [LIMITS_CPU]: q('4015m'), [LIMITS_MEMORY]: q('9Gi') }, { labels: { [LABEL_DEFAULT_RQ]: 'true' }, annotations }),
      ),
    );
    installStrategy(w, v142);
    w.kernel.run(w.now + CACHE_MAX);
    return w;
  }

  function setQuota(w: World, limit: Record<string, string>) {
    const ns = w.api.get('Namespace', 'ns1')!;
    return w.api.update('user', {
      ...ns,
      metadata: { ...ns.metadata, annotations: { ...ns.metadata.annotations, [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(limit) } },
    });
  }

  it('refuses a change of field.cattle.io/resourceQuota while the default quota has a migrating annotation', () => {
    const w = webhookWorld(true);
    const before = w.api.get('Namespace', 'ns1')!;
    const err = refusal(setQuota(w, { ...base, limitsCpu: '12' }));
    // harvester pkg/webhook/server/server.go registers the webhook as validator.harvesterhci.io.
    expect(err.message).toBe('admission webhook "validator.harvesterhci.io" denied the request: namespace ns1 has migrating VMs, can\'t change resource quotas');
    // A validator's plain error is werror.NewInternalError in Harvester's webhook server
    // (v1.4.2 pkg/webhook/types/admission.go AdmissionHandler.admit): HTTP 500, kept by the API server.
    expect({ code: err.code, reason: err.reason }).toEqual({ code: 500, reason: 'InternalError' });
    expect(w.api.get('Namespace', 'ns1')).toBe(before);
    // Other namespace edits go through.
    must(w.api.update('user', { ...before, metadata: { ...before.metadata, labels: { team: 'a' } } }));
  });

  it('refuses a new limitsCpu below status.used and accepts one above it', () => {
    const w = webhookWorld(false);
    const low = refusal(setQuota(w, { ...base, limitsCpu: '4' }));
    expect(low.code).toBe(500);
    expect(low.message).toContain(
      "can't update the resource quota of namespace ns1, error: new CPU limit 4 is lower than the current used CPU limit 4015m",
    );
    const ok = must(setQuota(w, { ...base, limitsCpu: '12' }));
    expect(parseRancherQuota(ok.metadata.annotations[ANN_RANCHER_QUOTA])!.hard[LIMITS_CPU]).toBe(q('12'));
  });

  it('v1.4.1 and v1.4.2 differ only in wording', () => {
    const ns = namespace('ns1', { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(base) });
    const rq = quota('d', 'ns1', {}, {}, { labels: { [LABEL_DEFAULT_RQ]: 'true' }, annotations: { [uidKey]: '{}' } });
    const next = namespace('ns1', { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation({ limitsCpu: '11' }) });
    const req = { operation: 'UPDATE' as const, old: ns, object: next, user: 'user' };
    expect(namespaceValidator('v1.4.1').validate(req, viewOf([rq]))).toBe("namespace ns1 has migrating VMs, so you can't change resource quotas");
    expect(namespaceValidator('v1.4.2').validate(req, viewOf([rq]))).toBe("namespace ns1 has migrating VMs, can't change resource quotas");
    expect(namespaceValidator('v1.4.2').validate({ ...req, object: ns }, viewOf([rq]))).toBeUndefined();
  });

  // harvester v1.4.1 / v1.4.2 pkg/webhook/resources/namespace/validator.go Update and
  // checkIfNewResourceQuotaIsSufficient (no upstream unit test exists for this validator).
  describe('checkIfNewResourceQuotaIsSufficient and its wrapping', () => {
    const ns = namespace('ns1', { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(base) });
    const rq = quota('d', 'ns1', { [LIMITS_CPU]: q('10') }, { [LIMITS_CPU]: q('4015m'), [LIMITS_MEMORY]: q('9Gi') }, { labels: { [LABEL_DEFAULT_RQ]: 'true' } });
    const ask = (wording: 'v1.4.1' | 'v1.4.2', text: string) =>
      namespaceValidator(wording).validate(
        { operation: 'UPDATE', old: ns, object: namespace('ns1', { [ANN_RANCHER_QUOTA]: text }), user: 'user' },
        viewOf([rq]),
      );
    const FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

    it('a limit below used: v1.4.1 "cannot update …, error: %s", v1.4.2 "can\'t update …, error: %w"', () => {
      const low = rancherQuotaAnnotation({ limitsCpu: '10', limitsMemory: '8Gi' });
      expect(ask('v1.4.1', low)).toBe('cannot update the resource quota of namespace ns1, error: new Memory limit 8Gi is lower than the current used Memory limit 9Gi');
      expect(ask('v1.4.2', low)).toBe("can't update the resource quota of namespace ns1, error: new Memory limit 8Gi is lower than the current used Memory limit 9Gi");
      // A limit of 0 is below anything used; one equal to used is accepted.
      expect(ask('v1.4.2', rancherQuotaAnnotation({ limitsCpu: '0' }))).toContain('new CPU limit 0 is lower than the current used CPU limit 4015m');
      expect(ask('v1.4.2', rancherQuotaAnnotation({ limitsCpu: '4015m', limitsMemory: '9Gi' }))).toBeUndefined();
    });

    it('an unparsable limit: v1.4.2 says "invalid LimitsCPU …", v1.4.1 gives the parser\'s error alone', () => {
      const bad = rancherQuotaAnnotation({ limitsCpu: '10000m invalid' });
      expect(ask('v1.4.2', bad)).toBe(`can't update the resource quota of namespace ns1, error: invalid LimitsCPU 10000m invalid, error: ${FORMAT}`);
      expect(ask('v1.4.1', bad)).toBe(`cannot update the resource quota of namespace ns1, error: ${FORMAT}`);
      expect(ask('v1.4.2', rancherQuotaAnnotation({ limitsMemory: '2Gi x' }))).toContain('error: invalid LimitsMemory 2Gi x, error: ');
    });

    it('annotation JSON that does not unmarshal: v1.4.2 says "invalid NamespaceResourceQuota …"', () => {
      expect(ask('v1.4.2', '{"limit":')).toMatch(/^can't update the resource quota of namespace ns1, error: invalid NamespaceResourceQuota \{"limit":, error: /);
      expect(ask('v1.4.1', '{"limit":{"limitsCpu":4}}')).toMatch(/^cannot update the resource quota of namespace ns1, error: json: cannot unmarshal number/);
      // Go's encoding/json: no limits at all is allowed; field names match case-insensitively.
      expect(ask('v1.4.2', '{"limit":{}}')).toBeUndefined();
      expect(ask('v1.4.2', '{"limit":{"LIMITSCPU":"1"}}')).toContain('new CPU limit 1 is lower');
    });
  });
});

// ---------------------------------------------------------------- 10. strategies as pure reconcilers

describe('strategies as pure reconcilers', () => {
  const VM_UID = '94ec5ca6-6f24-402c-8b48-2690976e2f0c';
  // The #7178 VM: 4 cores, 8Gi.
  const vm = vmi('vm1', 'ns1', 4, '8Gi', 'n1', VM_UID);
  const base = { [LIMITS_CPU]: q('30'), [LIMITS_MEMORY]: q('60Gi') };
  const rqOf = (hard: ResourceList, annotations: Record<string, string> = {}) =>
    quota('default-4tmmk', 'ns1', hard, { [LIMITS_CPU]: 0, [LIMITS_MEMORY]: 0 }, {
      labels: { [LABEL_DEFAULT_RQ]: 'true' },
      annotations,
      resourceVersion: 42,
    });
  const vmimAt = (phase: VirtualMachineInstanceMigration['status']['phase']): VirtualMachineInstanceMigration => ({
    ...newMigration(vm, 'm-'),
    metadata: meta('m1', 'ns1', { uid: 'mig-uid' }),
    status: { phase, rejectedByResourceQuota: false, sourceNode: 'n1' },
  });
  const nsObj = namespace('ns1', { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation({ limitsCpu: '30', limitsMemory: '60Gi' }) });

  describe('pre-fix (v1.4.1)', () => {
    const r = reconciler(preFix, 'vm-migration-controller');
    const nameKey = `${ANN_MIGRATING_NAME_PREFIX}vm1`;

    it('at Pending adds the delta to spec.hard and a VM-name-keyed annotation, in one update from the cached copy', () => {
      const rq = rqOf({ ...base, [REQUESTS_CPU]: q('5') });
      const w = single(r.reconcile('ns1/m1', viewOf([vmimAt('Pending'), vm, rq, nsObj])))!;
      expect(w.verb).toBe('update');
      const out = w.object as ResourceQuota;
      expect(out.metadata.resourceVersion).toBe(42);
      const delta = decodeDelta(out.metadata.annotations[nameKey]!);
      expect(delta[LIMITS_CPU]).toBe(q('4'));
      expect(delta[LIMITS_MEMORY]).toBe(q('8880039936')); // ratio nil: 8Gi + overhead
      expect(out.spec.hard).toEqual({ [LIMITS_CPU]: q('34'), [LIMITS_MEMORY]: q('60Gi') + q('8880039936'), [REQUESTS_CPU]: q('5') });
      // Already annotated (e.g. after Rancher reset spec.hard): never re-applied.
      expect(r.reconcile('ns1/m1', viewOf([vmimAt('Pending'), vm, out, nsObj]))).toBeUndefined();
    });

    it('at Succeeded subtracts the delta from the CURRENT spec.hard: after a Rancher reset it leaves base − delta (#7178: 30 → 26)', () => {
      const annotations = { [nameKey]: encodeDelta(vmiDelta(vm, undefined)) };
      const afterReset = rqOf(base, annotations);
      const w = single(r.reconcile('ns1/m1', viewOf([vmimAt('Succeeded'), vm, afterReset, nsObj])))!;
      const out = w.object as ResourceQuota;
      expect(out.spec.hard[LIMITS_CPU]).toBe(q('26'));
      expect(out.spec.hard[LIMITS_MEMORY]).toBe(q('54242646Ki')); // the incident's figure
      expect(out.metadata.annotations[nameKey]).toBeUndefined();
      // Without a reset it restores the base exactly.
      const raised = rqOf({ [LIMITS_CPU]: q('34'), [LIMITS_MEMORY]: q('60Gi') + q('8880039936') }, annotations);
      const w2 = single(r.reconcile('ns1/m1', viewOf([vmimAt('Succeeded'), vm, raised, nsObj])))!;
      expect((w2.object as ResourceQuota).spec.hard).toEqual(base);
    });

    it('at Succeeded, an annotation that does not unmarshal re-queues with an error and writes nothing (GetResourceListFromMigratingVM)', () => {
      for (const bad of ['{"limits.cpu":"4","limits.memory":"8Gi invalid"}', 'not json']) {
        const r = r_(vmimAt('Succeeded'), rqOf(base, { [nameKey]: bad }));
        expect(r !== undefined && isPlan(r) && r.error).toBe(`failed to restore resource quota with vmi: cannot unmarshal ${nameKey}=${bad}`);
        expect(single(r)).toBeUndefined();
      }
      function r_(m: VirtualMachineInstanceMigration, q: ResourceQuota) {
        return r.reconcile('ns1/m1', viewOf([m, vm, q, nsObj]));
      }
    });

    it('at Succeeded, an empty quota keeps its annotation (checkResourceQuotaAndVMI)', () => {
      const empty = rqOf({ [LIMITS_CPU]: 0 }, { [nameKey]: encodeDelta(vmiDelta(vm, undefined)) });
      expect(r.reconcile('ns1/m1', viewOf([vmimAt('Succeeded'), vm, empty, nsObj]))).toBeUndefined();
    });

    it('records and adds only the keys spec.hard has; the delta ignores the cluster ratio (ratio nil)', () => {
      const cpuOnly = rqOf({ [LIMITS_CPU]: q('30') });
      const out = single(r.reconcile('ns1/m1', viewOf([vmimAt('Pending'), vm, cpuOnly, nsObj], 3)))!.object as ResourceQuota;
      expect(out.metadata.annotations[nameKey]).toBe('{"limits.cpu":"4"}');
      expect(out.spec.hard).toEqual({ [LIMITS_CPU]: q('34') });
      const both = single(r.reconcile('ns1/m1', viewOf([vmimAt('Pending'), vm, rqOf(base), nsObj], 3)))!.object as ResourceQuota;
      // 8880039936 bytes = 8671914Ki: Go's canonical BinarySI text.
      expect(both.metadata.annotations[nameKey]).toBe('{"limits.cpu":"4","limits.memory":"8671914Ki"}');
    });
  });

  describe('v1.4.2', () => {
    const rqc = reconciler(v142, 'resourceQuotaController');
    const vmimc = reconciler(v142, 'vm-migration-controller');
    const uidKey = `${ANN_MIGRATING_UID_PREFIX}${VM_UID}`;
    const d1 = '{"limits.cpu":"1","limits.memory":"1456469952"}';
    const d4 = '{"limits.cpu":"4","limits.memory":"8880039936"}';

    it('resourceQuotaController sets spec.hard = base + Σ deltas (UID and legacy name keys) and writes nothing when equal', () => {
      const annotations = { [uidKey]: d1, [`${ANN_MIGRATING_NAME_PREFIX}old-vm`]: d4 };
      const reset = rqOf({ ...base, [PODS]: q('20') }, annotations);
      const w = single(rqc.reconcile('ns1/default-4tmmk', viewOf([reset, nsObj])))!;
      const out = w.object as ResourceQuota;
      expect(out.metadata.resourceVersion).toBe(42);
      expect(out.metadata.annotations).toEqual(annotations);
      expect(out.spec.hard).toEqual({
        [LIMITS_CPU]: q('35'),
        [LIMITS_MEMORY]: q('60Gi') + q('1456469952') + q('8880039936'),
        [PODS]: q('20'),
      });
      expect(rqc.reconcile('ns1/default-4tmmk', viewOf([out, nsObj]))).toBeUndefined();

      // Migrations over: back to the base exactly (it can go down too).
      const done = rqOf(out.spec.hard, {});
      expect((single(rqc.reconcile('ns1/default-4tmmk', viewOf([done, nsObj])))!.object as ResourceQuota).spec.hard).toEqual({ ...base, [PODS]: q('20') });
      // Not Rancher's default quota: left alone.
      const foreign = { ...reset, metadata: { ...reset.metadata, labels: {} } };
      expect(rqc.reconcile('ns1/default-4tmmk', viewOf([foreign, nsObj]))).toBeUndefined();
    });

    it('vm-migration-controller writes only an annotation keyed migratingUID-<uid>, and removes it at the end', () => {
      const v1 = vmi('vm1', 'ns1', 1, '1Gi', 'n1', VM_UID);
      const rq = rqOf(base);
      const w = single(vmimc.reconcile('ns1/m1', viewOf([vmimAt('Pending'), v1, rq, nsObj])))!;
      const out = w.object as ResourceQuota;
      expect(out.spec).toEqual(rq.spec);
      expect(out.status).toEqual(rq.status);
      expect(out.metadata.resourceVersion).toBe(42);
      expect(out.metadata.annotations).toEqual({ [uidKey]: d1 }); // PR #7504's example value
      expect(vmimc.reconcile('ns1/m1', viewOf([vmimAt('Pending'), v1, out, nsObj]))).toBeUndefined();

      const end = single(vmimc.reconcile('ns1/m1', viewOf([vmimAt('Succeeded'), v1, out, nsObj])))!;
      expect((end.object as ResourceQuota).metadata.annotations).toEqual({});
      expect((end.object as ResourceQuota).spec).toEqual(rq.spec);
      expect(vmimc.reconcile('ns1/m1', viewOf([vmimAt('Failed'), v1, rq, nsObj]))).toBeUndefined();
    });

    it('vm-migration-controller records only the keys spec.hard has (CalculateScaleResourceQuotaWithVMI)', () => {
      const v1 = vmi('vm1', 'ns1', 1, '1Gi', 'n1', VM_UID);
      const memOnly = rqOf({ [LIMITS_MEMORY]: q('60Gi') });
      const out = single(vmimc.reconcile('ns1/m1', viewOf([vmimAt('Pending'), v1, memOnly, nsObj])))!.object as ResourceQuota;
      expect(out.metadata.annotations).toEqual({ [uidKey]: '{"limits.memory":"1456469952"}' });
    });

    it('resourceQuotaController: one unparsable migrating annotation freezes scaling (errSkipScaling); a namespace missing from the cache re-queues', () => {
      const frozen = rqOf(base, { [uidKey]: d1, [`${ANN_MIGRATING_NAME_PREFIX}old-vm`]: '{"limits.cpu":"x"}' });
      expect(rqc.reconcile('ns1/default-4tmmk', viewOf([frozen, nsObj]))).toBeUndefined();
      // The same quota with the bad annotation gone is scaled.
      const ok = rqOf(base, { [uidKey]: d1 });
      expect((single(rqc.reconcile('ns1/default-4tmmk', viewOf([ok, nsObj])))!.object as ResourceQuota).spec.hard[LIMITS_CPU]).toBe(q('31'));
      const r = rqc.reconcile('ns1/default-4tmmk', viewOf([ok]));
      expect(r !== undefined && isPlan(r) && r.error).toBe("can't find resourcequota ns1/default-4tmmk related namespace");
      expect(single(r)).toBeUndefined();
    });
  });
});

// ---------------------------------------------------------------- 11. KubeVirt memory overhead

describe('KubeVirt launcher sizing', () => {
  it('a 1 vCPU, 1Gi VM gives Harvester delta limits.memory = 1456469952 bytes at ratio 1.5 (PR #7504)', () => {
    const v = vmi('vm1', 'ns1', 1, '1Gi', 'n1');
    const d = vmiDelta(v, 1.5);
    expect(d[LIMITS_MEMORY]).toBe(1_456_469_952_000);
    expect(d[LIMITS_CPU]).toBe(1000);
  });

  it('a 4-vCPU pod asks limits.cpu = 4015m (#7178), a 1-vCPU pod 1015m', () => {
    const r4 = launcherPodResources(vmi('a', 'ns1', 4, '8Gi', '').spec, 1.5);
    expect(r4.limits[LIMITS_CPU]).toBe(q('4015m'));
    expect(launcherPodResources(vmi('b', 'ns1', 1, '1Gi', '').spec, 1.5).limits[LIMITS_CPU]).toBe(q('1015m'));
    // With the overhead-ratio setting cleared, KubeVirt's own overhead: the #7178 pod's 8940039936.
    expect(launcherPodResources(vmi('a', 'ns1', 4, '8Gi', '').spec, undefined).limits[LIMITS_MEMORY]).toBe(q('8940039936'));
    expect(launcherPodResources(vmi('a', 'ns1', 4, '8Gi', '').spec, 1.5).limits[LIMITS_MEMORY]).toBeGreaterThan(q('8940039936'));
    // The pod's memory limit covers the VM, its overhead and the console-log container.
    expect(r4.limits[LIMITS_MEMORY]!).toBeGreaterThan(vmiDelta(vmi('a', 'ns1', 4, '8Gi', ''), 1.5)[LIMITS_MEMORY]!);
  });
});


