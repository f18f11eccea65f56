import type { Scenario } from '../scenario/model.js';
import { DEFAULT_LATENCIES } from '../cluster/latency.js';

/**
 * The incident's shape at a chosen size, for the scaling benchmark: `vms` 4-vCPU VMs, half
 * of them on node-1 (where the agent runs, and which is drained), the rest spread over the
 * other nodes; the quota 90% used. The work grows with the VMs that must move.
 */
export function scaledIncident(vms: number, nodes: number): Scenario {
  const vmSpecs = Array.from({ length: vms }, (_, i) => ({
    name: `vm-${i + 1}`,
    node: i < vms / 2 ? 'node-1' : `node-${2 + (i % (nodes - 1))}`,
    cpu: 4,
    memory: 8 * 2 ** 30 * 1000,
    evictionStrategy: 'LiveMigrate' as const,
  }));
  const cpu = Math.ceil((vms * 4.015) / 0.9);
  const namespaces = [{ name: 'default', quota: { limitsCpu: String(cpu), limitsMemory: `${Math.ceil((vms * 9) / 0.9)}Gi` }, vms: vmSpecs, pods: [] }];
  return drainingNode1({ file: `bench:${vms}vms-${nodes}nodes`, hash: `bench-${vms}-${nodes}`, name: `scaled-${vms}-vms-${nodes}-nodes` }, nodes, namespaces);
}

/**
 * A cluster of `vms` 4-vCPU VMs, ten per node and one namespace per node (its quota 90% used),
 * in which node-1 is drained: ten VMs move whatever the cluster's size. What a run costs
 * beyond the 20-VM cluster (two nodes) is what the idle rest of the cluster costs.
 */
export function drainOneNode(vms: number): Scenario {
  const nodes = Math.ceil(vms / 10);
  const namespaces = Array.from({ length: nodes }, (_, j) => {
    const here = Math.min(10, vms - j * 10);
    return {
      name: `ns-${j + 1}`,
      quota: { limitsCpu: String(Math.ceil((here * 4.015) / 0.9)), limitsMemory: `${Math.ceil((here * 9) / 0.9)}Gi` },
      vms: Array.from({ length: here }, (_, i) => ({ name: `vm-${i + 1}`, node: `node-${j + 1}`, cpu: 4, memory: 8 * 2 ** 30 * 1000, evictionStrategy: 'LiveMigrate' as const })),
      pods: [],
    };
  });
  return drainingNode1({ file: `bench:drain-one-node-of-${vms}vms`, hash: `bench-drain-${vms}`, name: `drain-one-node-of-${vms}-vms` }, nodes, namespaces);
}

/**
 * A bench scenario of `nodes` large nodes, both agent replicas on node-1 (as in the #7178
 * incident: the drain drops the tunnel) and node-1 drained at once.
 */
function drainingNode1(id: Pick<Scenario, 'file' | 'hash' | 'name'>, nodes: number, namespaces: Scenario['namespaces']): Scenario {
  return {
    ...id,
    description: '',
    nodes: Array.from({ length: nodes }, (_, i) => ({ name: `node-${i + 1}`, cpu: 512_000, memory: 2048 * 2 ** 30 * 1000 })),
    rancher: { agentNodes: ['node-1', 'node-1'] },
    harvester: { overheadRatioText: '1.5', overheadRatio: 1.5 },
    namespaces,
    actions: [{ type: 'drain', node: 'node-1', timing: { at: 0 } }],
    strategies: undefined,
    runs: 1,
    seed: 1,
    horizonMs: 30 * 60_000,
    latencies: DEFAULT_LATENCIES,
    expect: [],
  };
}
