import { afterAll, describe, expect, it } from 'vitest';
import { parseQuantity } from '../src/cluster/quantity.js';
import { WorkerPool } from '../src/explore/pool.js';
import { accepts, unsupportedKnobs } from '../src/hunt/capabilities.js';
import { evaluateBatch } from '../src/hunt/evaluate.js';
import { randomGenome } from '../src/hunt/generate.js';
import type { Genome } from '../src/hunt/genome.js';
import { mutate } from '../src/hunt/mutate.js';
import { candidateText } from '../src/hunt/search.js';
import { shrinkScenario } from '../src/hunt/shrink-scenario.js';
import { DEFAULT_SPACE, describeSpace, type Knob, type Space } from '../src/hunt/space.js';
import { parseSpace } from '../src/hunt/space-file.js';
import { Rng } from '../src/kernel/rng.js';
import { kindsOf } from '../src/report/kind.js';
import { InputError } from '../src/scenario/errors.js';
import { parseScenario } from '../src/scenario/load.js';
import type { Scenario } from '../src/scenario/model.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * hunt's Rancher-side knobs (cluster.rancher.carrier, syncOnlyChangedObjects, project): they
 * decide verdicts about Rancher-side mitigations, so a hunt must draw them, mutate them, load
 * them, and shrink them away when a failure does not need them.
 */
const RANCHER_KNOBS = ['carrier', 'syncOnlyChangedObjects', 'project'] as const;

const pools: WorkerPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

/** Fresh scenarios (and, with `mutants`, a mutant after each), each loaded by the real loader. */
function draw(space: Space, off: ReadonlySet<Knob>, n: number, mutants = false): Scenario[] {
  const rng = new Rng('hunt-rancher');
  const out: Scenario[] = [];
  for (let i = 0; i < n; i++) {
    let g = randomGenome(rng, space, off, i);
    out.push(parseScenario(candidateText(g, { name: 'gen', off, space }), 'gen.yaml', () => true));
    if (mutants) {
      g = mutate(rng, g, space, off, i);
      out.push(parseScenario(candidateText(g, { name: 'gen', off, space }), 'gen.yaml', () => true));
    }
  }
  return out;
}

/** Share of imported clusters with each knob. */
function rates(scenarios: readonly Scenario[]): { imported: number; carrier: number; syncOnlyChangedObjects: number; project: number } {
  const r = scenarios.filter((s) => s.rancher).map((s) => s.rancher!);
  const share = (f: (x: (typeof r)[number]) => boolean) => r.filter(f).length / r.length;
  return { imported: r.length / scenarios.length, carrier: share((x) => x.carrier !== undefined), syncOnlyChangedObjects: share((x) => x.syncOnlyChangedObjects === true), project: share((x) => x.project !== undefined) };
}

const space = (yaml: string) => parseSpace(yaml, 'space.yaml');

describe('hunt: Rancher-side knobs', () => {
  it('generated scenarios carry each knob at about its probability, and always load', () => {
    const off = unsupportedKnobs();
    for (const k of RANCHER_KNOBS) expect(off.has(k), `${k} is accepted by this loader`).toBe(false);
    // draw() loads each one: a scenario the loader refused would throw here.
    const d = rates(draw(DEFAULT_SPACE, off, 800));
    expect(d.imported).toBeCloseTo(0.85, 1);
    expect(Math.abs(d.carrier - DEFAULT_SPACE.rancher.carrier)).toBeLessThan(0.06);
    expect(Math.abs(d.syncOnlyChangedObjects - DEFAULT_SPACE.rancher.syncOnlyChangedObjects)).toBeLessThan(0.06);
    expect(Math.abs(d.project - DEFAULT_SPACE.rancher.project.p)).toBeLessThan(0.06);
    // The probabilities are the space's, not constants.
    const s = space('rancher: { imported: 1, carrier: 0.7, syncOnlyChangedObjects: 0.6, project: 0.8 }\n');
    const c = rates(draw(s, off, 400, true));
    expect(c.imported).toBe(1);
    expect(Math.abs(c.carrier - 0.7)).toBeLessThan(0.08);
    expect(Math.abs(c.syncOnlyChangedObjects - 0.6)).toBeLessThan(0.08);
    expect(Math.abs(c.project - 0.8)).toBeLessThan(0.08);
  });

  it('a pinned carrier is a node of an agent replica; a project leaves room for every user edit, so it stays satisfiable', () => {
    const off = unsupportedKnobs();
    const all = draw(space('rancher: { imported: 1, carrier: 1, project: { p: 1, roomCpu: ["0"], roomMemory: ["0"] } }\n'), off, 300, true);
    let edits = 0;
    let tight = 0;
    let projects = 0;
    const q = (v: string | undefined) => parseQuantity(v!)!;
    for (const s of all) {
      // A mutant may have dropped them (or Rancher); the fresh draws all have them.
      if (s.rancher?.carrier !== undefined) expect(s.rancher.agentNodes).toContain(s.rancher.carrier);
      const p = s.rancher?.project;
      if (!p) continue;
      projects++;
      expect(Object.keys(p.namespaceDefault!).sort()).toEqual(['limitsCpu', 'limitsMemory']);
      // Each namespace at its highest: its quota, or a user's edit up (an edit over the room would never apply, for any strategy).
      const high = s.namespaces.map((ns) => q(ns.quota.limitsCpu));
      for (const a of s.actions) {
        if (a.type !== 'editQuota') continue;
        const i = s.namespaces.findIndex((ns) => ns.name === a.namespace);
        high[i] = Math.max(high[i]!, q(a.quota.limitsCpu));
        edits++;
      }
      const sum = high.reduce((x, y) => x + y, 0);
      // Room 0: the limit is exactly that, a full project.
      expect(q(p.limit.limitsCpu)).toBe(sum);
      expect(q(p.limit.limitsMemory)).toBe(s.namespaces.reduce((x, ns) => x + q(ns.quota.limitsMemory), 0));
      if (high.some((h, i) => h > q(s.namespaces[i]!.quota.limitsCpu))) tight++;
    }
    expect(projects).toBeGreaterThan(400);
    expect(edits).toBeGreaterThan(50);
    expect(tight).toBeGreaterThan(10); // edits up that the limit made room for
  });

  it('a space file switches each knob off and on; a bad value is refused with its line and column', () => {
    const off = unsupportedKnobs();
    const none = rates(draw(space('rancher: { imported: 1, carrier: 0, syncOnlyChangedObjects: 0, project: 0 }\n'), off, 200, true));
    expect([none.carrier, none.syncOnlyChangedObjects, none.project]).toEqual([0, 0, 0]);
    const every = rates(draw(space('rancher:\n  imported: 1\n  carrier: 1\n  syncOnlyChangedObjects: 1\n  project: { p: 1, roomCpu: ["2"], roomMemory: [1Gi] }\n'), off, 200));
    expect([every.carrier, every.syncOnlyChangedObjects, every.project]).toEqual([1, 1, 1]);
    // Each on its own, the others at their defaults.
    for (const k of RANCHER_KNOBS) {
      const s = space(`rancher: { ${k}: 0 }\n`);
      const r = rates(draw(s, off, 150));
      for (const other of RANCHER_KNOBS) if (other === k) expect(r[other]).toBe(0);
      else expect(r[other]).toBeGreaterThan(0);
    }
    expect(space('rancher: { project: { roomCpu: ["1"] } }\n').rancher.project).toEqual({ p: DEFAULT_SPACE.rancher.project.p, roomCpu: ['1'], roomMemory: DEFAULT_SPACE.rancher.project.roomMemory });
    const problems = (yaml: string): string[] => {
      try {
        parseSpace(yaml, 'space.yaml');
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as InputError).problems.map((p) => `${p.line}:${p.col}: ${p.field}: ${p.message}`);
      }
      return [];
    };
    expect(problems('rancher:\n  carrier: 1.5\n')).toEqual(['2:12: rancher.carrier: expected a probability in [0, 1]']);
    expect(problems('rancher:\n  syncOnlyChangedObjects: yes\n')[0]).toMatch(/^2:27: rancher\.syncOnlyChangedObjects: /);
    expect(problems('rancher:\n  project: 2\n')).toEqual(['2:12: rancher.project.p: expected a probability in [0, 1]']);
    const bad = problems('rancher:\n  project:\n    p: 0.5\n    roomCpu: [lots]\n    limit: 4\n');
    expect(bad).toContain('4:15: rancher.project.roomCpu[0]: expected a Kubernetes quantity such as "15m", "2" or "4Gi", got "lots"');
    expect(bad).toContain('5:5: rancher.project.limit: unknown key "limit"');
    expect(problems('rancher:\n  project: [0.5]\n')[0]).toMatch(/^2:12: rancher\.project: expected a probability, or \{ p:/);
  });

  it('the capability probe leaves out a field the loader refuses, and the statement of what was searched says so', () => {
    for (const k of RANCHER_KNOBS) {
      // An older loader: the real one, except that it has no cluster.rancher.<k>.
      const older = (s: object) => !(k in (((s as { cluster?: { rancher?: object } }).cluster?.rancher ?? {}) as object)) && accepts(s);
      const off = unsupportedKnobs(older);
      expect([...off]).toEqual([k]);
      const s = space('rancher: { imported: 1, carrier: 1, syncOnlyChangedObjects: 1, project: 1 }\n');
      const r = rates(draw(s, off, 60));
      for (const other of RANCHER_KNOBS) expect(r[other], `${other} with ${k} refused`).toBe(other === k ? 0 : 1);
      // Mutants never add it either.
      expect(rates(draw(s, off, 60, true))[k]).toBe(0);
      const lines = describeSpace(s, off);
      expect(lines.at(-1)).toBe(`left out (this version's scenario loader does not accept them yet): ${k}`);
      expect(lines.find((l) => l.startsWith('Rancher import'))).not.toContain(k === 'project' ? 'a project' : k);
    }
    expect(describeSpace(DEFAULT_SPACE, new Set()).find((l) => l.startsWith('Rancher import'))).toContain('carrier pinned to a replica\'s node with p=0.3 (else the run draws it); syncOnlyChangedObjects with p=0.25; a project with p=0.25');
  });

  it('the scenario shrinker drops a knob the failure does not need', async () => {
    const pool = new WorkerPool(1);
    pools.push(pool);
    const off = unsupportedKnobs();
    const o = { strategy: builtinStrategy('pre-fix')!, space: DEFAULT_SPACE, off, name: 'shrink-rancher', file: 'shrink-rancher.yaml', budget: 200 };
    // The #7178 drift: a drain of the node of the agent (and of the VM) at 0s, and a user edit while
    // the agent is away. syncOnlyChangedObjects alone would stop the re-sync; the edit changes the
    // namespace, so it is synced anyway. A pinned carrier and a project are along for the ride.
    const start: Genome = {
      seed: 1,
      nodes: [{ cpu: 16, memory: '64Gi' }, { cpu: 16, memory: '64Gi' }, { cpu: 16, memory: '64Gi' }],
      rancher: { node: 0, replicas: 2, nodes: [], carrier: 0, syncOnlyChanged: true, project: { roomCpu: '2', roomMemory: '1Gi' } },
      ratio: null,
      namespaces: [{ vms: [{ cpu: 2, memory: '4Gi', node: 0, liveMigrate: true }], pods: [], headroomCpu: '2', headroomMemory: '4Gi' }],
      actions: [{ act: { kind: 'drain', node: 0 }, at: '0s' }, { act: { kind: 'editQuota', ns: 0, cpu: '1' }, at: '0s' }],
    };
    const text = candidateText(start, o);
    expect(text).toMatch(/carrier: node-1/);
    expect(text).toMatch(/syncOnlyChangedObjects: true/);
    expect(text).toMatch(/project:/);
    const [r] = await evaluateBatch([text], o.file, o.strategy, DEFAULT_SPACE.campaign, pool);
    const kind = kindsOf(r!.tally).find((k) => k.kind.includes('quota-below-user-value'))!;
    expect(kind).toBeDefined();
    const shrunk = await shrinkScenario(start, kind.kind, kind.run, o, pool);
    // The drift needs Rancher (its re-sync is the reset), not the three fields.
    const g = shrunk.genome;
    expect(g.rancher).not.toBeNull();
    expect([g.rancher!.carrier, g.rancher!.syncOnlyChanged, g.rancher!.project]).toEqual([null, false, null]);
    const out = candidateText(g, o);
    for (const k of RANCHER_KNOBS) expect(out).not.toContain(`${k}:`);
  });
});
