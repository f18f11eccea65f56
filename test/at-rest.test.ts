import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ApiError, Verb } from '../src/cluster/apiserver.js';
import type { Kind, KObject } from '../src/cluster/objects.js';
import { KINDS } from '../src/cluster/objects.js';
import type { TraceSink } from '../src/cluster/recorder.js';
import { World } from '../src/cluster/world.js';
import { drainOneNode, scaledIncident } from '../src/bench/scenarios.js';
import { AT_REST_SEED, clusterAtRest, createAtRest, sharedAtRest } from '../src/sim/at-rest.js';
import { runOnce } from '../src/sim/run.js';
import { loadScenario } from '../src/scenario/load.js';
import type { Scenario } from '../src/scenario/model.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * A scenario's cluster at rest is one cluster, built once and shared by its runs. Every run
 * must start from exactly the cluster a run building it itself would have (objects, key order,
 * store order, resourceVersions, the creates' trace) had it drawn from the cluster's own
 * streams; its own UID and name streams must stand where building it would have left them (what
 * a run creates keeps its name: a migration's name breaks ties); and no run's writes may reach
 * the shared cluster or another run.
 */

const DIR = 'scenarios';
const bundled = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => loadScenario(`${DIR}/${f}`, (n) => builtinStrategy(n) !== undefined));

/** A world as a run makes it after its cluster at rest: the cluster, the trace of its creates, and the streams' next draws. */
function rest(scenario: Scenario, seed: string, build: (w: World) => void): { cluster: string; streams: string } {
  const lines: string[] = [];
  const sink: TraceSink = {
    write: (t: number, actor: string, verb: Verb, old: KObject | undefined, cur: KObject | undefined) => lines.push(JSON.stringify(['write', t, actor, verb, old, cur])),
    refused: (t: number, actor: string, verb: Verb, kind: Kind, key: string, err: ApiError) => lines.push(JSON.stringify(['refused', t, actor, verb, kind, key, err])),
    event: () => {},
  };
  const world = new World(seed, scenario.latencies, sink);
  world.settings = Object.freeze({ additionalGuestMemoryOverheadRatio: scenario.harvester.overheadRatio });
  build(world);
  for (const kind of KINDS) lines.push(JSON.stringify([kind, [...world.api.indexed(kind)]]));
  lines.push(`rv ${world.api.resourceVersion}`);
  const streams = ['apiserver/names', 'apiserver/uids'].map((s) => `${s} ${world.rng.get(s).float()}`).join('\n');
  return { cluster: lines.join('\n'), streams };
}

function frozenThrough(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  return Object.isFrozen(v) && Object.values(v).every(frozenThrough);
}

describe('the cluster at rest', () => {
  const scenarios = [...bundled, drainOneNode(30), scaledIncident(16, 8)];
  const direct = (scenario: Scenario) => (w: World) => createAtRest(w.api, scenario, scenario.harvester.overheadRatio);
  const shared = (scenario: Scenario) => (w: World) => clusterAtRest(w, scenario);

  it.each(scenarios.map((s) => [s.name, s] as const))('%s: every run starts from the cluster built from its own streams, its streams past it', (_, scenario) => {
    const built = rest(scenario, AT_REST_SEED, direct(scenario));
    for (const seed of ['1', '2', '77']) {
      const run = rest(scenario, seed, shared(scenario));
      expect(run.cluster).toBe(built.cluster);
      // The run's streams where its own build would have left them.
      expect(run.streams).toBe(rest(scenario, seed, direct(scenario)).streams);
    }
    const w = new World('3', scenario.latencies, undefined);
    clusterAtRest(w, scenario);
    for (const kind of KINDS) for (const o of w.api.indexed(kind).values()) expect(frozenThrough(o)).toBe(true);
  });

  it("replays the creates' refusals too", () => {
    // Two pods of one name (a hand-made scenario: the loader refuses it): the second create is refused.
    const base = drainOneNode(20);
    const ns = base.namespaces[0]!;
    const pod = { name: 'twin', node: 'node-1', cpu: 1, memory: 1 };
    const scenario: Scenario = { ...base, namespaces: [{ ...ns, pods: [pod, pod] }, ...base.namespaces.slice(1)] };
    expect(sharedAtRest(scenario).reports.filter((r) => r[0] === 'refused')).toHaveLength(1);
    const run = rest(scenario, '5', shared(scenario));
    expect(run.cluster).toContain('"refused"');
    expect(run.cluster).toBe(rest(scenario, AT_REST_SEED, direct(scenario)).cluster);
  });

  it("keeps each run's writes its own: neither the shared cluster nor a later run sees them", () => {
    const scenario = drainOneNode(20);
    const a = new World('1', scenario.latencies, undefined);
    clusterAtRest(a, scenario);
    const before = rest(scenario, '2', shared(scenario)).cluster;
    const quota = a.api.list('ResourceQuota', 'ns-1')[0]!;
    expect(a.api.update('test', { ...quota, spec: { hard: { ...quota.spec.hard, 'limits.cpu': 1 } } }).ok).toBe(true);
    const pod = a.api.list('Pod', 'ns-2')[0]!;
    expect(a.api.delete('test', 'Pod', `${pod.metadata.namespace}/${pod.metadata.name}`).ok).toBe(true);
    expect(rest(scenario, '2', shared(scenario)).cluster).toBe(before);
    // Built once: the runs hold the cluster's very objects (until they write their own).
    const b = new World('2', scenario.latencies, undefined);
    clusterAtRest(b, scenario);
    const vmi = b.api.list('VirtualMachineInstance')[0]!;
    expect(a.api.get('VirtualMachineInstance', `${vmi.metadata.namespace}/${vmi.metadata.name}`)).toBe(vmi);
    expect(sharedAtRest(scenario)).toBe(sharedAtRest(scenario));
    // A whole run, writes and all, between two others: the same outcome for the same seed.
    const strategy = builtinStrategy('pre-fix')!;
    const first = runOnce(scenario, strategy, 4);
    runOnce(scenario, strategy, 9);
    expect(runOnce(scenario, strategy, 4)).toEqual(first);
  });
});
