import type { Scenario } from '../scenario/model.js';
import { DEFAULT_LATENCIES } from '../cluster/latency.js';

/**
 * The incident's shape at a chosen size, for the scaling benchmark: `vms` 4-vCPU VMs, half
 * of them on node-1 (where the agent runs, and which is drained), the rest spread over the
 * other nodes; the quota 90% used. The work grows with the VMs that must move.
 */
export function scaledIncident(vms: number, nodes: number): Scenario {
  const nodeSpecs = Array.from({ length: nodes }, (_, i) => ({ name: `node-${i + 1}`, cpu: 512_000, memory: 2048 * 2 ** 30 * 1000 }));
  const vmSpecs = Array.from({ length: vms }, (_, i) => ({
    name: `vm-${i + 1}`,
    node: i < vms / 2 ? 'node-1' : `node-${2 + (i % (nodes - 1))}`,
    cpu: 4,
    memory: 8 * 2 ** 30 * 1000,
    evictionStrategy: 'LiveMigrate' as const,
  }));
  const cpu = Math.ceil((vms * 4.015) / 0.9);
  return {
    file: `bench:${vms}vms-${nodes}nodes`,
    hash: `bench-${vms}-${nodes}`,
    name: `scaled-${vms}-vms-${nodes}-nodes`,
    description: '',
    nodes: nodeSpecs,
    // Both agent replicas on the drained node, as in the #7178 incident: the drain drops the tunnel.
    rancher: { agentNodes: ['node-1', 'node-1'] },
    harvester: { overheadRatioText: '1.5', overheadRatio: 1.5 },
    namespaces: [{ name: 'default', quota: { limitsCpu: String(cpu), limitsMemory: `${Math.ceil((vms * 9) / 0.9)}Gi` }, vms: vmSpecs, pods: [] }],
    actions: [{ type: 'drain', node: 'node-1', timing: { at: 0 } }],
    strategies: undefined,
    runs: 1,
    seed: 1,
    horizonMs: 30 * 60_000,
    latencies: DEFAULT_LATENCIES,
    expect: [],
  };
}
