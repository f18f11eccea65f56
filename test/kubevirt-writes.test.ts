import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ANN_EVACUATION, launcherPod, newMigration, syncedVmiPdb } from '../src/actors/kubevirt.js';
import { migrationReconciler } from '../src/actors/kubevirt/migration-controller.js';
import { Informer } from '../src/cluster/informer.js';
import { Expectations } from '../src/cluster/reconciler.js';
import type { ApiError, ApiResult, Verb } from '../src/cluster/apiserver.js';
import type { Kind, Pod, PodDisruptionBudget, VirtualMachineInstance, VirtualMachineInstanceMigration as Vmim } from '../src/cluster/objects.js';
import { objKey } from '../src/cluster/objects.js';
import { runPlain } from '../src/explore/campaign.js';
import { runPilot } from '../src/explore/pilot.js';
import { runById } from '../src/explore/run-id.js';
import { RandomSelector } from '../src/kernel/choice.js';
import { formatOutcome } from '../src/report/outcome.js';
import { Timeline, type TimelineEntry } from '../src/sim/timeline.js';
import { loadScenario } from '../src/scenario/load.js';
import { DEFAULT_LATENCIES } from '../src/cluster/latency.js';
import type { TraceSink } from '../src/cluster/recorder.js';
import { runOnce } from '../src/sim/run.js';
import { World } from '../src/cluster/world.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * KubeVirt v1.3.1's writes around a migration's target pod, the texts of the webhooks'
 * denials, and what becomes of an evictionStrategy None VM on a drained node (issue 20,
 * items 6–8), checked on the API server and on whole runs.
 */
const dir = mkdtempSync(join(tmpdir(), 'quotarace-kubevirt-'));
let n = 0;
function scenario(yaml: string) {
  const f = join(dir, `s${n++}.yaml`);
  writeFileSync(f, yaml);
  return loadScenario(f, (name) => builtinStrategy(name) !== undefined);
}

function traced(yaml: string, seed: number, strategy = 'v1.4.2') {
  const s = scenario(yaml);
  const t = new Timeline();
  const o = runOnce(s, builtinStrategy(strategy)!, seed, { selector: new RandomSelector(seed), trace: t });
  return { t, o };
}

function must<T>(r: ApiResult<T>): T {
  if (!r.ok) throw new Error(`unexpected refusal ${r.err.code} ${r.err.message}`);
  return r.obj;
}

const DRAIN_TWO = `
name: drain-two
cluster:
  nodes:
    - { name: n1, cpu: 16, memory: 64Gi }
    - { name: n2, cpu: 16, memory: 64Gi }
  rancher: { agentNode: n2 }
  namespaces:
    - name: web
      quota: { limitsCpu: "20", limitsMemory: 40Gi }
      vms:
        - { name: vm-0, node: n1, cpu: 2, memory: 4Gi }
        - { name: vm-1, node: n1, cpu: 2, memory: 4Gi }
actions:
  - drain: n1
    at: 1s
horizon: 10m
`;

const isWrite = (e: TimelineEntry): boolean => e.kind === 'write' && e.actor === 'virt-controller';
const vmimOf = (e: TimelineEntry): Vmim | undefined => (e.cur?.kind === 'VirtualMachineInstanceMigration' ? (e.cur as Vmim) : undefined);

describe('the API server: PATCH', () => {
  function pdbWorld() {
    const w = new World('seed', DEFAULT_LATENCIES, undefined);
    const vmi: VirtualMachineInstance = {
      kind: 'VirtualMachineInstance',
      metadata: { name: 'vm1', namespace: 'ns1', uid: '', resourceVersion: 0, labels: {}, annotations: {} },
      spec: { cpu: 1, memoryLimit: 1, memoryRequest: 1, evictionStrategy: 'LiveMigrate' },
      status: { nodeName: 'n1' },
    };
    const v = must(w.api.create('setup', vmi));
    const pdb = must(w.api.create('setup', syncedVmiPdb(v)));
    return { w, pdb };
  }

  it('is applied to the stored object with no resourceVersion: a copy made stale by a status write still patches (an update with it gets 409), the status stays, a spec change bumps generation', () => {
    const { w, pdb } = pdbWorld();
    // The disruption controller writes status: the copy virt-controller cached is now stale.
    must(w.api.updateStatus('kube-controller-manager', { ...pdb, status: { ...pdb.status, currentHealthy: 0 } }));
    const stale = pdb;
    expect(w.api.update('virt-controller', { ...stale, spec: { ...stale.spec, minAvailable: 2 } })).toMatchObject({ ok: false, err: { code: 409, reason: 'Conflict' } });
    const status = w.api.get('PodDisruptionBudget', objKey(pdb))!.status;
    const patched = must(
      w.api.patch('virt-controller', 'PodDisruptionBudget', objKey(stale), [
        { op: 'replace', path: ['spec', 'minAvailable'], value: 2 },
        { op: 'add', path: ['metadata', 'labels', 'kubevirt.io/migrationName'], value: 'm1' },
      ]),
    );
    expect(patched.spec.minAvailable).toBe(2);
    expect(patched.metadata.labels['kubevirt.io/migrationName']).toBe('m1');
    expect(patched.status).toEqual(status);
    expect(patched.metadata.generation).toBe(2);
    expect(patched.metadata.resourceVersion).toBe(w.api.resourceVersion);
    // The shrink's JSON patch: replace and remove.
    const shrunk = must(
      w.api.patch('virt-controller', 'PodDisruptionBudget', objKey(stale), [
        { op: 'replace', path: ['spec', 'minAvailable'], value: 1 },
        { op: 'remove', path: ['metadata', 'labels', 'kubevirt.io/migrationName'] },
      ]),
    );
    expect(shrunk.spec.minAvailable).toBe(1);
    expect(shrunk.metadata.labels).toEqual({});
    expect(shrunk.metadata.generation).toBe(3);
  });

  it('a patch of an object that is gone is 404 NotFound, recorded as a refused patch', () => {
    const refused: Array<{ verb: Verb; kind: Kind; err: ApiError }> = [];
    const sink: TraceSink = { write() {}, event() {}, refused: (_t, _a, verb, kind, _k, err) => void refused.push({ verb, kind, err }) };
    const w = new World('seed', DEFAULT_LATENCIES, sink);
    const r = w.api.patch('virt-controller', 'Pod', 'ns1/gone', [{ op: 'add', path: ['metadata', 'annotations', 'a'], value: 'b' }]);
    expect(r.ok).toBe(false);
    expect(refused).toEqual([{ verb: 'patch', kind: 'Pod', err: { code: 404, reason: 'NotFound', message: 'pods "gone" not found' } }]);
  });
});

describe('KubeVirt v1.3.1 before the target pod (migration.go execute, sync, handleTargetPodCreation)', () => {
  it('an evacuation\'s trace shows, in order: the API-version annotation write, Pending, the eviction-in-progress mark on its source pod, the PDB patch; then the target pod', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const { t, o } = traced(DRAIN_TWO, seed);
      expect(o.moved).toBe(2);
      const es = t.entries;
      const created = es.filter((e) => isWrite(e) && !e.old && vmimOf(e));
      expect(created.length).toBe(2);
      for (const c of created) {
        const vmim = c.cur as Vmim;
        const name = vmim.metadata.name;
        const mine = (e: TimelineEntry) => vmimOf(e)?.metadata.name === name;
        expect(vmim.metadata.annotations['kubevirt.io/evacuationMigration']).toBe('n1');
        // virt-api's mutating webhook labelled it at creation.
        expect(vmim.metadata.labels['kubevirt.io/vmi-name']).toBe(vmim.spec.vmiName);
        const annotated = es.findIndex(
          (e) =>
            isWrite(e) &&
            mine(e) &&
            e.old !== undefined &&
            (e.old as Vmim).metadata.annotations['kubevirt.io/latest-observed-api-version'] === undefined &&
            vmimOf(e)!.metadata.annotations['kubevirt.io/latest-observed-api-version'] === 'v1' &&
            vmimOf(e)!.metadata.annotations['kubevirt.io/storage-observed-api-version'] === 'v1',
        );
        const pending = es.findIndex((e) => isWrite(e) && mine(e) && vmimOf(e)!.status.phase === 'Pending' && (e.old as Vmim | undefined)?.status.phase === '');
        const marked = es.findIndex(
          (e) =>
            isWrite(e) &&
            e.cur?.kind === 'Pod' &&
            (e.cur as Pod).metadata.labels['vm.kubevirt.io/name'] === vmim.spec.vmiName &&
            (e.cur as Pod).spec.nodeName === 'n1' &&
            (e.old as Pod).metadata.annotations['descheduler.alpha.kubernetes.io/eviction-in-progress'] === undefined &&
            (e.cur as Pod).metadata.annotations['descheduler.alpha.kubernetes.io/eviction-in-progress'] === 'kubevirt',
        );
        const expanded = es.findIndex(
          (e) => isWrite(e) && e.cur?.kind === 'PodDisruptionBudget' && (e.cur as PodDisruptionBudget).spec.minAvailable === 2 && e.cur.metadata.labels['kubevirt.io/migrationName'] === name,
        );
        const target = es.findIndex((e) => isWrite(e) && !e.old && e.cur?.kind === 'Pod' && (e.cur as Pod).metadata.labels['vm.kubevirt.io/name'] === vmim.spec.vmiName);
        expect(es.indexOf(c)).toBeLessThan(annotated);
        expect(annotated, `seed ${seed} ${name}: annotations before Pending`).toBeLessThan(pending);
        expect(pending, `seed ${seed} ${name}: Pending before the mark`).toBeLessThan(marked);
        expect(marked, `seed ${seed} ${name}: the mark before the PDB patch`).toBeLessThan(expanded);
        expect(expanded).toBeLessThan(target);
        // The pass that writes the annotations writes nothing else for this migration.
        expect(es[annotated]!.text).toMatch(/: \+annotation kubevirt\.io\/latest-observed-api-version=v1; \+annotation kubevirt\.io\/storage-observed-api-version=v1 \(rv \d+\)$/);
        expect(es[marked]!.text).toMatch(/^update Pod web\/virt-launcher-vm-\d-\w+: \+annotation descheduler\.alpha\.kubernetes\.io\/eviction-in-progress=kubevirt \(rv \d+\)$/);
        expect(es[expanded]!.text).toContain(`label kubevirt.io/migrationName=${name}; minAvailable 1→2`);
      }
    }
  });

  it('a migration a user asked for (not an evacuation) gets the annotations and Pending but no eviction-in-progress mark; the PDB is still expanded, and shrunk by a patch afterwards', () => {
    const { t, o } = traced(DRAIN_TWO.replace('  - drain: n1\n    at: 1s', '  - migrate: web/vm-0\n    at: 1s'), 3);
    expect(o.moved).toBe(1);
    const es = t.entries;
    expect(es.some((e) => e.cur?.kind === 'Pod' && e.cur.metadata.annotations['descheduler.alpha.kubernetes.io/eviction-in-progress'] !== undefined)).toBe(false);
    expect(es.some((e) => isWrite(e) && vmimOf(e)?.metadata.annotations['kubevirt.io/latest-observed-api-version'] === 'v1' && (e.old as Vmim).metadata.annotations['kubevirt.io/latest-observed-api-version'] === undefined)).toBe(true);
    const shrunk = es.find((e) => isWrite(e) && e.cur?.kind === 'PodDisruptionBudget' && (e.old as PodDisruptionBudget).spec.minAvailable === 2 && (e.cur as PodDisruptionBudget).spec.minAvailable === 1);
    expect(shrunk?.text).toMatch(/: -label kubevirt\.io\/migrationName; minAvailable 2→1 \(rv \d+\)$/);
  });

  it('the mark and expandPDB are patches: sent after the pod and the PDB changed under virt-controller\'s cached copies, both go through and keep those changes', () => {
    const w = new World('seed', DEFAULT_LATENCIES, undefined);
    const vmi = must(
      w.api.create('setup', {
        kind: 'VirtualMachineInstance',
        metadata: { name: 'vm1', namespace: 'ns1', uid: '', resourceVersion: 0, labels: {}, annotations: {} },
        spec: { cpu: 1, memoryLimit: 1, memoryRequest: 1, evictionStrategy: 'LiveMigrate' },
        status: { nodeName: 'n1', evacuationNodeName: 'n1' },
      } satisfies VirtualMachineInstance),
    );
    const pod = must(w.api.create('setup', launcherPod(vmi, 'n1', undefined)));
    const pdb = must(w.api.create('setup', syncedVmiPdb(vmi)));
    const created = must(w.api.create('virt-controller', newMigration(vmi, 'kubevirt-evacuation-', { [ANN_EVACUATION]: 'n1' })));
    const annotations = { ...created.metadata.annotations, 'kubevirt.io/latest-observed-api-version': 'v1', 'kubevirt.io/storage-observed-api-version': 'v1' };
    const vmim = must(w.api.update('virt-controller', { ...created, metadata: { ...created.metadata, annotations }, status: { ...created.status, phase: 'Pending' as const } }));
    const cache = new Informer(w, 'virt-controller', ['VirtualMachineInstanceMigration', 'VirtualMachineInstance', 'Pod', 'PodDisruptionBudget']);
    w.kernel.run(w.now + 1_000);
    const plan = migrationReconciler(cache, new Expectations(), () => w.now, () => undefined)(objKey(vmim));
    const writes = plan?.writes ?? [];
    expect(writes.map((x) => `${x.verb} ${x.object.kind}`)).toEqual(['patch Pod', 'patch PodDisruptionBudget']);
    // The cluster moves on before the writes arrive: a pod label, the PDB's status.
    must(w.api.update('kubelet', { ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, extra: 'x' } } }));
    must(w.api.updateStatus('kube-controller-manager', { ...pdb, status: { ...pdb.status, currentHealthy: 0 } }));
    for (const x of writes) must(w.api.patch('virt-controller', x.object.kind, objKey(x.object), x.patch!));
    const p = w.api.get('Pod', objKey(pod))!;
    expect(p.metadata.annotations['descheduler.alpha.kubernetes.io/eviction-in-progress']).toBe('kubevirt');
    expect(p.metadata.labels.extra).toBe('x');
    const b = w.api.get('PodDisruptionBudget', objKey(pdb))!;
    expect({ minAvailable: b.spec.minAvailable, label: b.metadata.labels['kubevirt.io/migrationName'], currentHealthy: b.status.currentHealthy }).toEqual({ minAvailable: 2, label: vmim.metadata.name, currentHealthy: 0 });
  });

  it('no virt-controller write to a PodDisruptionBudget is ever refused in any run of the incident scenario (expand and shrink are patches)', () => {
    const s = loadScenario('scenarios/1-incident-7178.yaml', (name) => builtinStrategy(name) !== undefined);
    const refusedPdb: string[] = [];
    let pdbPatches = 0;
    const sink: TraceSink = {
      write(_t, actor, _verb, _old, cur) {
        if (actor === 'virt-controller' && cur?.kind === 'PodDisruptionBudget') pdbPatches++;
      },
      event() {},
      refused(_t, actor, verb, kind, key, err) {
        if (actor === 'virt-controller' && kind === 'PodDisruptionBudget') refusedPdb.push(`${verb} ${key}: ${err.code} ${err.message}`);
      },
    };
    for (const name of ['v1.4.2', 'pre-fix']) {
      const strategy = builtinStrategy(name)!;
      const pilot = runPilot(s, strategy, 25);
      for (let seed = s.seed; seed < s.seed + s.runs; seed++) runById(s, strategy, { explorer: 'random', seed, window: 25 }, pilot, { trace: sink });
    }
    expect(pdbPatches).toBeGreaterThan(2 * s.runs);
    expect(refusedPdb).toEqual([]);
  });
});

describe('the webhooks\' denials as the client sees them', () => {
  it('a drain\'s first eviction of a virt-launcher pod is refused with 429 and the API server\'s wrapping of virt-api\'s denial', () => {
    const { t } = traced(DRAIN_TWO, 1);
    const refusals = t.entries.filter((e) => e.kind === 'refused' && e.actor === 'harvester-maintenance');
    const first = refusals.find((e) => e.err!.message.includes('Eviction triggered'))!;
    expect(first.err!.code).toBe(429);
    expect(first.err!.message).toMatch(/^admission webhook "virt-launcher-eviction-interceptor\.kubevirt\.io" denied the request: Eviction triggered evacuation of VMI "web\/vm-[01]"$/);
    // The PDB's own refusal is the eviction API's, not a webhook's: no prefix.
    const pdb = refusals.find((e) => e.err!.message.includes('disruption budget'));
    if (pdb) expect(pdb.err!.message).toBe("Cannot evict pod as it would violate the pod's disruption budget.");
  });
});

const WITH_NONE = `
name: drain-none
cluster:
  nodes:
    - { name: n1, cpu: 16, memory: 64Gi }
    - { name: n2, cpu: 16, memory: 64Gi }
  rancher: { agentNode: n2 }
  namespaces:
    - name: web
      quota: { limitsCpu: "20", limitsMemory: 40Gi }
      vms:
        - { name: vm-0, node: n1, cpu: 2, memory: 4Gi }
        - { name: vm-x, node: n1, cpu: 1, memory: 2Gi, evictionStrategy: None }
actions:
  - drain: n1
    at: 1s
runs: 10
horizon: 10m
`;

describe('evictionStrategy None on a drained node (kubectl drain semantics: evicted, no webhook refusal, no PDB)', () => {
  it('the drain deletes its pod; the VM counts as stopped: not stuck, out of migrationsSucceeded\'s denominator', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const { t, o } = traced(WITH_NONE, seed);
      // The eviction of its pod is not refused: the drain deletes it, and no migration is made for it.
      const deleted = t.entries.find((e) => e.kind === 'write' && e.actor === 'harvester-maintenance' && !e.cur && e.old?.kind === 'Pod' && e.old.metadata.labels['vm.kubevirt.io/name'] === 'vm-x');
      expect(deleted).toBeDefined();
      expect(t.entries.some((e) => e.kind === 'refused' && e.target?.key.startsWith('web/virt-launcher-vm-x-'))).toBe(false);
      expect(t.entries.some((e) => vmimOf(e)?.spec.vmiName === 'vm-x')).toBe(false);
      expect(o.stopped).toEqual(['web/vm-x']);
      expect(o.stuck).toEqual([]);
      expect({ moved: o.moved, mustMove: o.mustMove }).toEqual({ moved: 1, mustMove: 1 });
      expect(o.counters.drainMs).toBeGreaterThan(0);
      expect(formatOutcome(o)).toContain('migrations 1/1 moved; stopped (pod deleted, not counted): web/vm-x');
    }
    const [r] = runPlain(scenario(WITH_NONE), [builtinStrategy('v1.4.2')!], 10, 1);
    expect(r!.migrationsSucceeded).toBe(1);
    expect({ vmsMoved: r!.vmsMoved, vmsToMove: r!.vmsToMove }).toEqual({ vmsMoved: 10, vmsToMove: 10 });
  });

  it('a None VM that nothing evicts keeps running and is not stopped', () => {
    const { o } = traced(WITH_NONE.replace('  - drain: n1\n    at: 1s', '  - migrate: web/vm-0\n    at: 1s'), 1);
    expect(o.stopped).toEqual([]);
    expect(o.mustMove).toBe(1);
  });
});
