import { describe, expect, it } from 'vitest';
import type { Node, Pod } from '../src/cluster/objects.js';
import { DEFAULT_LATENCIES } from '../src/cluster/latency.js';
import { pickNode, SCHEDULER_TIE_STREAM } from '../src/cluster/scheduler.js';
import { World } from '../src/cluster/world.js';
import { explore } from '../src/explore/exhaustive.js';
import { runPilot } from '../src/explore/pilot.js';
import { RandomSelector, ReplaySelector, type ChoiceKind, type ChoiceLog, type Selector } from '../src/kernel/choice.js';
import { parseScenario } from '../src/scenario/load.js';
import { runOnce } from '../src/sim/run.js';
import { stateKey } from '../src/sim/state.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * kube-scheduler takes one of the top-scored nodes uniformly at random (kubernetes
 * pkg/scheduler/schedule_one.go selectHost, reservoir sampling): a tie between equally free
 * nodes is a choice of the run, never the lowest name. Random runs draw it; an exhaustive search
 * enumerates it as a 'pick'.
 */
const CPU = 1000;
const GI = 1024 * 1024 * 1024 * 1000;

/** A selector that logs every choice asked of it and answers from a script (0 past its end). */
class Scripted implements Selector {
  readonly name = 'scripted';
  readonly enumeratesPicks = true;
  readonly asked: Array<[ChoiceKind, number, string]> = [];
  constructor(private readonly answers: number[] = []) {}
  choose(kind: ChoiceKind, n: number, stream: string): number {
    this.asked.push([kind, n, stream]);
    return this.answers.shift() ?? 0;
  }
}

function node(name: string, cpu: number): Node {
  return {
    kind: 'Node',
    metadata: { name, namespace: '', uid: '', resourceVersion: 0, labels: {}, annotations: {} },
    spec: { unschedulable: false },
    status: { allocatable: { cpu: cpu * CPU, memory: 64 * GI } },
  };
}

const pod: Pod = {
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', uid: '', resourceVersion: 0, labels: {}, annotations: {} },
  spec: { nodeName: '', limits: {}, requests: { 'requests.cpu': 1 * CPU, 'requests.memory': 1 * GI } },
  status: { phase: 'Pending' },
};

/** A world with the given nodes, created in this order, choosing through `selector`. */
function worldWith(nodes: readonly Node[], selector: Selector): World {
  const w = new World('1', DEFAULT_LATENCIES, undefined, selector);
  for (const n of nodes) {
    const r = w.api.create('setup', n);
    if (!r.ok) throw new Error(r.err.message);
  }
  return w;
}

describe("pickNode: a tie between equally free nodes is the run's choice", () => {
  // node-c has less free cpu than the two empty, identical nodes: never the best.
  const nodes = [node('node-b', 8), node('node-a', 8), node('node-c', 4)];

  it('random runs land the pod on each of the tied nodes, never on a less free one', () => {
    const landed = new Map<string, number>();
    for (let seed = 1; seed <= 64; seed++) {
      const w = worldWith(nodes, new RandomSelector(seed));
      const n = pickNode(w.api, w.choices, pod)!;
      landed.set(n, (landed.get(n) ?? 0) + 1);
      expect(w.choices.log.kinds).toEqual(['draw']);
    }
    expect([...landed.keys()].sort()).toEqual(['node-a', 'node-b']);
    // Uniform: 64 fair draws give each node far more than a handful.
    for (const count of landed.values()) expect(count).toBeGreaterThan(16);
  });

  it('an enumerating selector is asked one pick among the tied nodes, by name, whatever the store order', () => {
    const byDefault = new Scripted();
    const w0 = worldWith(nodes, byDefault);
    expect(pickNode(w0.api, w0.choices, pod)).toBe('node-a');
    expect(byDefault.asked).toEqual([['pick', 2, SCHEDULER_TIE_STREAM]]);
    const w1 = worldWith(nodes, new Scripted([1]));
    expect(pickNode(w1.api, w1.choices, pod)).toBe('node-b');
  });

  it('without a tie (or with the tie excluded) nothing is asked', () => {
    const s = new Scripted();
    const w = worldWith([node('node-b', 8), node('node-a', 6)], s);
    expect(pickNode(w.api, w.choices, pod)).toBe('node-b');
    const w2 = worldWith(nodes, s);
    expect(pickNode(w2.api, w2.choices, pod, 'node-a')).toBe('node-b');
    expect(pickNode(w2.api, w2.choices, pod, undefined, (n) => n !== 'node-b')).toBe('node-a');
    expect(s.asked).toEqual([]);
  });
});

/** One VM on node-1, drained; node-2 and node-3 identical and empty: its target pod's node is a tie. */
const TWO_EQUAL_TARGETS = `
name: scheduler-tie
cluster:
  nodes:
    - { name: node-1, cpu: 8, memory: 32Gi }
    - { name: node-2, cpu: 8, memory: 32Gi }
    - { name: node-3, cpu: 8, memory: 32Gi }
  rancher:
    agentNodes: [node-1]
  namespaces:
    - name: web
      quota: { limitsCpu: "10", limitsMemory: 24Gi }
      vms:
        - { name: web-0, node: node-1, cpu: 2, memory: 4Gi }
actions:
  - drain: node-1
    at: 0s
runs: 10
seed: 1
horizon: 20m
`;

describe('the exhaustive search enumerates the scheduler tie', () => {
  it('a drained VM with two identical, empty nodes to go to ends on each of them in some run', () => {
    const scenario = parseScenario(TWO_EQUAL_TARGETS, 'scheduler-tie.yaml', (n) => builtinStrategy(n) !== undefined);
    const strategy = builtinStrategy('v1.4.2')!;
    const r = explore(scenario, strategy, runPilot(scenario, strategy, 0), 0, 20_000, scenario.seed, stateKey);
    expect(r.complete).toBe(true);
    // Where web-0 ran at the end (the outcome's fingerprint holds a "vm@node" line per VM).
    const ended = new Set(r.outcomes.map((o) => /^web-0@(node-\d)$/m.exec(o.fingerprint)?.[1]));
    // Taken by the lowest name, the tie sent it to node-2 in every run.
    expect([...ended].sort()).toEqual(['node-2', 'node-3']);
  });

  it("random runs of it land on both; the run's choice log replays where it landed", () => {
    const scenario = parseScenario(TWO_EQUAL_TARGETS, 'scheduler-tie.yaml', (n) => builtinStrategy(n) !== undefined);
    const strategy = builtinStrategy('v1.4.2')!;
    const ended = new Set<string | undefined>();
    for (let seed = 1; seed <= 16; seed++) {
      let log: ChoiceLog | undefined;
      const o = runOnce(scenario, strategy, seed, { inspect: (w) => (log = w.choices.log) });
      ended.add(/^web-0@(node-\d)$/m.exec(o.fingerprint)?.[1]);
      const replayed = runOnce(scenario, strategy, seed, { selector: new ReplaySelector(log!, true) });
      expect(replayed.fingerprint).toBe(o.fingerprint);
    }
    expect([...ended].sort()).toEqual(['node-2', 'node-3']);
  });
});
