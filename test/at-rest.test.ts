import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ApiError, Verb } from '../src/cluster/apiserver.js';
import type { Kind, KObject } from '../src/cluster/objects.js';
import { KINDS } from '../src/cluster/objects.js';
import type { TraceSink } from '../src/cluster/recorder.js';
import { World } from '../src/cluster/world.js';
import { drainOneNode, scaledIncident } from '../src/bench/scenarios.js';
import { atRestTemplate, clusterAtRest, createAtRest, createFromTemplate } from '../src/sim/at-rest.js';
import { loadScenario } from '../src/scenario/load.js';
import type { Scenario } from '../src/scenario/model.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * A scenario's cluster at rest is built directly on its first run and from its recorded
 * template afterwards: both must give a run the same cluster (objects, key order, store order,
 * resourceVersions), the same trace of creates, and leave its random streams at the same
 * place, or a run's trace would depend on how many runs of its scenario came before it.
 */

const DIR = 'scenarios';
const bundled = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => loadScenario(`${DIR}/${f}`, (n) => builtinStrategy(n) !== undefined));

/** A world as a run makes it, after its cluster at rest: everything a run could see of it. */
function rest(scenario: Scenario, seed: number, build: (w: World) => void): string {
  const lines: string[] = [];
  const sink: TraceSink = {
    write: (t: number, actor: string, verb: Verb, old: KObject | undefined, cur: KObject | undefined) => lines.push(JSON.stringify(['write', t, actor, verb, old, cur])),
    refused: (t: number, actor: string, verb: Verb, kind: Kind, key: string, err: ApiError) => lines.push(JSON.stringify(['refused', t, actor, verb, kind, key, err])),
    event: () => {},
  };
  const world = new World(String(seed), scenario.latencies, sink);
  world.settings = Object.freeze({ additionalGuestMemoryOverheadRatio: scenario.harvester.overheadRatio });
  build(world);
  for (const kind of KINDS) lines.push(JSON.stringify([kind, [...world.api.indexed(kind)]]));
  lines.push(`rv ${world.api.resourceVersion}`);
  for (const stream of ['apiserver/names', 'apiserver/uids']) lines.push(`${stream} ${world.rng.get(stream).float()}`);
  return lines.join('\n');
}

function frozenThrough(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  return Object.isFrozen(v) && Object.values(v).every(frozenThrough);
}

describe('the cluster at rest', () => {
  const scenarios = [...bundled, drainOneNode(30), scaledIncident(16, 8)];

  it.each(scenarios.map((s) => [s.name, s] as const))('%s: from the template, as built directly', (_, scenario) => {
    const ratio = scenario.harvester.overheadRatio;
    const template = atRestTemplate(scenario, ratio);
    expect(template).toBeDefined();
    for (const seed of [1, 2, 77]) {
      const direct = rest(scenario, seed, (w) => createAtRest(w.api, scenario, ratio));
      expect(rest(scenario, seed, (w) => createFromTemplate(w.api, template!))).toBe(direct);
    }
    // Every stored object frozen through and through, as create leaves it.
    const w = new World('3', scenario.latencies, undefined);
    createFromTemplate(w.api, template!);
    for (const kind of KINDS) for (const o of w.api.indexed(kind).values()) expect(frozenThrough(o)).toBe(true);
  });

  it('is shared by runs only in parts that are frozen, and runs after the first use the template', () => {
    const scenario = drainOneNode(20);
    const built = [1, 2, 3].map((seed) => rest(scenario, seed, (w) => clusterAtRest(w, scenario)));
    const direct = [1, 2, 3].map((seed) => rest(scenario, seed, (w) => createAtRest(w.api, scenario, scenario.harvester.overheadRatio)));
    expect(built).toEqual(direct);
    // Different seeds give different UIDs and names (the template does not fix them).
    expect(built[1]).not.toBe(built[2]);
    const w = new World('5', scenario.latencies, undefined);
    clusterAtRest(w, scenario);
    const vmis = [...w.api.indexed('VirtualMachineInstance').values()];
    expect(vmis.every((v) => Object.isFrozen(v.spec) && Object.isFrozen(v.metadata))).toBe(true);
  });

  it('refuses the same creates as built directly when generated names clash', () => {
    // One namespace of 1,000 PDBs named kubevirt-disruption-budget-<5 characters>: seeds 16
    // and 147 draw one and two names already taken.
    const scenario = scaledIncident(1000, 200);
    const template = atRestTemplate(scenario, scenario.harvester.overheadRatio)!;
    expect(template.creates.some((c) => c.mayClash)).toBe(true);
    for (const seed of [16, 147]) {
      const direct = rest(scenario, seed, (w) => createAtRest(w.api, scenario, scenario.harvester.overheadRatio));
      expect(direct).toContain('"refused"');
      expect(rest(scenario, seed, (w) => createFromTemplate(w.api, template))).toBe(direct);
    }
  });

  it('is not templated when a generated name could collide with a fixed one', () => {
    const base = drainOneNode(20);
    const ns = base.namespaces[0]!;
    // A pod named like vm-1's launcher pod (virt-launcher-vm-1- and five characters).
    const clash: Scenario = { ...base, namespaces: [{ ...ns, pods: [{ name: 'virt-launcher-vm-1-bcdfg', node: 'node-1', cpu: 1, memory: 1 }] }, ...base.namespaces.slice(1)] };
    expect(atRestTemplate(clash, clash.harvester.overheadRatio)).toBeUndefined();
  });
});
