import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../src/scenario/load.js';
import { InputError } from '../src/scenario/errors.js';
import { runOnce } from '../src/sim/run.js';
import { RandomSelector } from '../src/kernel/choice.js';
import { Timeline, type TimelineEntry } from '../src/sim/timeline.js';
import { builtinStrategy } from '../src/strategies/builtin.js';
import { LIMITS_CPU, LIMITS_MEMORY } from '../src/cluster/resources.js';
import type { PodDisruptionBudget, VirtualMachineInstanceMigration } from '../src/cluster/objects.js';

/**
 * The second fidelity pass (KubeVirt v1.3.1's PDB gate and phases, Rancher's sync in the
 * server behind the agents' tunnel, the cluster's own settings), checked on whole runs.
 */
const dir = mkdtempSync(join(tmpdir(), 'quotarace-fidelity-'));
let n = 0;
function scenario(yaml: string) {
  const f = join(dir, `s${n++}.yaml`);
  writeFileSync(f, yaml);
  return loadScenario(f, () => true);
}

const MIGRATE_ONE = `
name: one-migration
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
actions:
  - migrate: web/vm-0
    at: 1s
horizon: 10m
`;

function traced(yaml: string, strategy = 'v1.4.2', seed = 1) {
  const s = scenario(yaml);
  const t = new Timeline();
  const o = runOnce(s, builtinStrategy(strategy)!, seed, { selector: new RandomSelector(seed), trace: t });
  return { s, t, o };
}

const writesOf = (t: Timeline, kind: string) => t.entries.filter((e) => e.kind === 'write' && e.cur?.kind === kind);
const firstIndex = (es: readonly TimelineEntry[], f: (e: TimelineEntry) => boolean) => es.findIndex(f);

describe('KubeVirt v1.3.1 migration controller: phases and the PDB gate', () => {
  it('a new VMIM is Unset; virt-controller writes Pending, expands the PDB, waits for the disruption controller, only then creates the target pod', () => {
    const { t, o } = traced(MIGRATE_ONE);
    expect(o.moved).toBe(1);
    const es = t.entries;
    const created = firstIndex(es, (e) => e.kind === 'write' && e.cur?.kind === 'VirtualMachineInstanceMigration' && !e.old);
    expect((es[created]!.cur as VirtualMachineInstanceMigration).status.phase).toBe('');
    const pending = firstIndex(es, (e) => e.kind === 'write' && e.actor === 'virt-controller' && (e.cur as VirtualMachineInstanceMigration | undefined)?.status?.phase === 'Pending' && (e.old as VirtualMachineInstanceMigration | undefined)?.status.phase === '');
    const expanded = firstIndex(es, (e) => e.kind === 'write' && e.cur?.kind === 'PodDisruptionBudget' && (e.cur as PodDisruptionBudget).spec.minAvailable === 2 && e.actor === 'virt-controller');
    const observed = firstIndex(es, (e) => e.kind === 'write' && e.cur?.kind === 'PodDisruptionBudget' && (e.cur as PodDisruptionBudget).status.desiredHealthy === 2 && e.actor === 'kube-controller-manager');
    const target = firstIndex(es, (e) => (e.kind === 'write' || e.kind === 'refused') && e.actor === 'virt-controller' && (e.cur?.kind === 'Pod' || e.target?.kind === 'Pod'));
    expect(created).toBeGreaterThanOrEqual(0);
    expect(pending).toBeGreaterThan(created);
    expect(expanded).toBeGreaterThan(pending);
    expect(observed).toBeGreaterThan(expanded);
    expect(target).toBeGreaterThan(observed);
    expect((es[expanded]!.cur as PodDisruptionBudget).metadata.labels['kubevirt.io/migrationName']).toBe((es[created]!.cur as VirtualMachineInstanceMigration).metadata.name);
  });

  it('the VMIM goes Succeeded one controller pass after virt-handler completes the VMI\'s migration; the PDB shrinks only once the source pod has completed', () => {
    const { t } = traced(MIGRATE_ONE);
    const es = t.entries;
    const handover = firstIndex(es, (e) => e.kind === 'write' && e.actor === 'virt-handler' && e.cur?.kind === 'VirtualMachineInstance' && (e.cur as { status: { migrationCompleted?: boolean } }).status.migrationCompleted === true);
    const succeeded = firstIndex(es, (e) => e.kind === 'write' && (e.cur as VirtualMachineInstanceMigration | undefined)?.status?.phase === 'Succeeded');
    expect(handover).toBeGreaterThan(0);
    expect(succeeded).toBeGreaterThan(handover);
    expect(es[succeeded]!.actor).toBe('virt-controller');
    expect(es[succeeded]!.t).toBeGreaterThan(es[handover]!.t);
    const sourceDone = firstIndex(es, (e) => e.kind === 'write' && e.actor === 'kubelet' && e.cur?.kind === 'Pod' && (e.cur as { status: { phase: string } }).status.phase === 'Succeeded');
    const shrunk = firstIndex(es, (e) => e.kind === 'write' && e.cur?.kind === 'PodDisruptionBudget' && (e.old as PodDisruptionBudget | undefined)?.spec.minAvailable === 2 && (e.cur as PodDisruptionBudget).spec.minAvailable === 1);
    expect(sourceDone).toBeGreaterThan(succeeded);
    expect(shrunk).toBeGreaterThan(sourceDone);
    expect((es[shrunk]!.cur as PodDisruptionBudget).metadata.labels['kubevirt.io/migrationName']).toBeUndefined();
  });

  it('v1.4.2 on a single migration with room for Harvester\'s raise: refusals by quota are rare, not the rule (the gate lets Harvester raise first most of the time)', () => {
    const s = scenario(MIGRATE_ONE.replace('quota: { limitsCpu: "20", limitsMemory: 40Gi }', 'quota: { limitsCpu: "2100m", limitsMemory: 6Gi }'));
    let refused = 0;
    let moved = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const o = runOnce(s, builtinStrategy('v1.4.2')!, seed, { selector: new RandomSelector(seed) });
      refused += o.counters.targetPodsRejectedByQuota;
      moved += o.moved;
    }
    expect(moved).toBe(40);
    expect(refused / 40).toBeLessThan(3);
  });
});

describe('the cluster\'s settings and objects', () => {
  it('additionalGuestMemoryOverheadRatio flows into rendered launcher pods and into strategies\' view.settings', () => {
    const seen: Array<number | undefined> = [];
    for (const ratio of ['"1.5"', '"2"', '""']) {
      const { t } = traced(MIGRATE_ONE.replace('  rancher: { agentNode: n2 }', `  rancher: { agentNode: n2 }\n  harvester: { additionalGuestMemoryOverheadRatio: ${ratio} }`));
      const target = writesOf(t, 'Pod').find((e) => !e.old && e.actor === 'virt-controller')!;
      seen.push((target.cur as { spec: { limits: Record<string, number> } }).spec.limits[LIMITS_MEMORY]);
      const annotated = writesOf(t, 'ResourceQuota').find((e) => e.actor.startsWith('harvester/') && Object.keys(e.cur!.metadata.annotations).some((k) => k.startsWith('harvesterhci.io/migratingUID-')))!;
      const delta = JSON.parse(Object.entries(annotated.cur!.metadata.annotations).find(([k]) => k.startsWith('harvesterhci.io/migratingUID-'))![1]) as Record<string, string>;
      expect(delta[LIMITS_CPU]).toBe('2');
    }
    expect(seen[1]!).toBeGreaterThan(seen[0]!);
    expect(seen[0]!).toBeGreaterThan(seen[2]!);
  });

  it('a bad ratio is a located error', () => {
    expect(() => scenario(MIGRATE_ONE.replace('  rancher: { agentNode: n2 }', '  rancher: { agentNode: n2 }\n  harvester: { additionalGuestMemoryOverheadRatio: "11" }'))).toThrow(InputError);
    try {
      scenario(MIGRATE_ONE.replace('  rancher: { agentNode: n2 }', '  rancher: { agentNode: n2 }\n  harvester: { additionalGuestMemoryOverheadRatio: 1.5 }'));
    } catch (e) {
      const p = (e as InputError).problems[0]!;
      expect(p.line).toBe(8);
      expect(p.message).toContain('a string such as "1.5"');
    }
  });

  it('non-VM pods count against the quota', () => {
    const s = scenario(MIGRATE_ONE.replace('        - { name: vm-0, node: n1, cpu: 2, memory: 4Gi }', '        - { name: vm-0, node: n1, cpu: 2, memory: 4Gi }\n      pods:\n        - { name: sidecar, node: n2, cpu: 400m, memory: 1Gi }'));
    let used = 0;
    runOnce(s, builtinStrategy('v1.4.2')!, 1, { horizonMs: 1, inspect: (w) => (used = w.api.list('ResourceQuota', 'web')[0]!.status.used[LIMITS_CPU]!) });
    expect(used).toBe(2015 + 400);
  });

  const KUBECTL_EDIT = `
name: kubectl-edit
cluster:
  nodes:
    - { name: n1, cpu: 16, memory: 64Gi }
    - { name: n2, cpu: 16, memory: 64Gi }
  rancher: { agentNode: n2 }
  namespaces:
    - name: web
      quota: { limitsCpu: "20", limitsMemory: 40Gi }
actions:
  - editQuotaSpec: { namespace: web, quota: { limitsCpu: "25" } }
    at: 1s
  - restartAgent: {}
    at: 30s
horizon: 5m
`;
  const cpuChanges = (t: Timeline) =>
    writesOf(t, 'ResourceQuota')
      .filter((e) => e.cur && e.old && (e.cur as { spec: { hard: Record<string, number> } }).spec.hard[LIMITS_CPU] !== (e.old as { spec: { hard: Record<string, number> } }).spec.hard[LIMITS_CPU])
      .map((e) => [e.actor, (e.cur as { spec: { hard: Record<string, number> } }).spec.hard[LIMITS_CPU], e.t] as const);

  it('an administrator\'s direct edit of spec.hard holds (pre-fix) until Rancher syncs the namespace, then reverts', () => {
    const { t, o } = traced(KUBECTL_EDIT, 'pre-fix');
    const changes = cpuChanges(t);
    expect(changes.map(([a, v]) => [a, v])).toEqual([
      ['admin', 25_000],
      ['rancher', 20_000],
    ]);
    expect(changes[1]![2]).toBeGreaterThan(30_000);
    expect(o.quotaCorrect).toBe(true);
  });

  it("with v1.4.2 Harvester's own quota controller puts base + deltas back at once", () => {
    const { t } = traced(KUBECTL_EDIT, 'v1.4.2');
    const changes = cpuChanges(t);
    expect(changes.map(([a, v]) => [a, v])).toEqual([
      ['admin', 25_000],
      ['harvester/resourceQuotaController', 20_000],
    ]);
    expect(changes[1]![2]).toBeLessThan(30_000);
  });

});

describe('a wish refused for good', () => {
  it('an edit below what the namespace uses is judged against the last accepted wish and shown separately', () => {
    const { o } = traced(`
name: below-used
cluster:
  nodes:
    - { name: n1, cpu: 16, memory: 64Gi }
    - { name: n2, cpu: 16, memory: 64Gi }
  rancher: { agentNode: n2 }
  namespaces:
    - name: web
      quota: { limitsCpu: "6", limitsMemory: 12Gi }
      vms:
        - { name: vm-0, node: n1, cpu: 2, memory: 4Gi }
        - { name: vm-1, node: n1, cpu: 2, memory: 4Gi }
actions:
  - editQuota: { namespace: web, quota: { limitsCpu: "1" } }
    at: 5s
horizon: 5m
`);
    expect(o.counters.editsRefused).toBeGreaterThan(0);
    expect(o.quotaCorrect).toBe(true);
    const cpu = o.quota.find((c) => c.resource === LIMITS_CPU)!;
    expect(cpu.wanted).toBe(6_000);
    expect(cpu.refusedWish).toBe(1_000);
  });
});

describe('the fidelity table', () => {
  it('README.md carries exactly the table every report prints (src/report/fidelity.ts)', async () => {
    const { readFileSync } = await import('node:fs');
    const { fidelityMarkdown, FIDELITY } = await import('../src/report/fidelity.js');
    expect(readFileSync(new URL('../README.md', import.meta.url), 'utf8')).toContain(fidelityMarkdown());
    // Every row names a source with a version or an issue, or says UNVERIFIED.
    for (const [rule, , source] of FIDELITY) expect(source, rule).toMatch(/v\d|#\d|UNVERIFIED|same file|test\//);
  });
});

describe('API server and Rancher details', () => {
  it('an update that changes nothing is not written: no new resourceVersion, no watch event', async () => {
    const { World } = await import('../src/cluster/world.js');
    const { DEFAULT_LATENCIES } = await import('../src/cluster/latency.js');
    const w = new World('s', DEFAULT_LATENCIES, undefined);
    const created = w.api.create('t', { kind: 'Namespace', metadata: { name: 'ns', namespace: '', uid: '', resourceVersion: 0, labels: {}, annotations: { a: '1' } } });
    if (!created.ok) throw new Error('create');
    let events = 0;
    w.api.watch('Namespace', () => events++);
    const same = w.api.update('t', { ...created.obj, metadata: { ...created.obj.metadata, annotations: { a: '1' } } });
    expect(same.ok && same.obj.metadata.resourceVersion).toBe(created.obj.metadata.resourceVersion);
    expect(events).toBe(0);
    const changed = w.api.update('t', { ...created.obj, metadata: { ...created.obj.metadata, annotations: { a: '2' } } });
    expect(changed.ok && changed.obj.metadata.resourceVersion).toBeGreaterThan(created.obj.metadata.resourceVersion);
    expect(events).toBe(1);
  });

  it("a user's quota edit in one namespace makes Rancher re-sync its sibling namespaces (the project's UsedLimit changes)", () => {
    const { t } = traced(`
name: siblings
cluster:
  nodes:
    - { name: n1, cpu: 16, memory: 64Gi }
    - { name: n2, cpu: 16, memory: 64Gi }
  rancher: { agentNode: n2 }
  namespaces:
    - name: web
      quota: { limitsCpu: "20", limitsMemory: 40Gi }
    - name: db
      quota: { limitsCpu: "10", limitsMemory: 20Gi }
actions:
  - editQuotaSpec: { namespace: db, quota: { limitsCpu: "15" } }
    at: 1s
  - editQuota: { namespace: web, quota: { limitsCpu: "21" } }
    at: 10s
horizon: 2m
`, 'pre-fix');
    const db = cpuOf(t, 'db');
    expect(db.map(([a, v]) => [a, v])).toEqual([
      ['admin', 15_000],
      ['rancher', 10_000],
    ]);
    expect(db[1]![2]).toBeGreaterThan(10_000);
  });
});

function cpuOf(t: Timeline, ns: string) {
  return writesOf(t, 'ResourceQuota')
    .filter((e) => e.cur!.metadata.namespace === ns && e.old && (e.cur as { spec: { hard: Record<string, number> } }).spec.hard[LIMITS_CPU] !== (e.old as { spec: { hard: Record<string, number> } }).spec.hard[LIMITS_CPU])
    .map((e) => [e.actor, (e.cur as { spec: { hard: Record<string, number> } }).spec.hard[LIMITS_CPU], e.t] as const);
}

describe('editing through Rancher with two agents', () => {
  it('with one of two agents down, the user\'s edit goes through the other; with both down it waits for one', () => {
    const base = `
name: edit-one-agent-down
cluster:
  nodes:
    - { name: n1, cpu: 16, memory: 64Gi }
    - { name: n2, cpu: 16, memory: 64Gi }
  rancher: { agentNodes: [n1, n2] }
  namespaces:
    - name: web
      quota: { limitsCpu: "20", limitsMemory: 40Gi }
actions:
  - restartAgent: { pods: PODS }
    at: 1s
  - editQuota: { namespace: web, quota: { limitsCpu: "22" } }
    at: 2s
horizon: 5m
`;
    const one = traced(base.replace('PODS', '1'), 'v1.4.2');
    expect(one.o.counters.editsRefused).toBe(0);
    expect(one.o.quotaCorrect).toBe(true);
    const both = traced(base.replace('PODS', '2'), 'v1.4.2');
    expect(both.o.counters.editsRefused).toBeGreaterThan(0);
    expect(both.t.entries.some((e) => e.event?.type === 'edit-agent-down')).toBe(true);
    expect(both.o.quotaCorrect).toBe(true);
  });
});
