import { stringify } from 'yaml';
import { parseScenario } from '../scenario/load.js';
import type { Knob } from './space.js';

/**
 * Which optional scenario fields this version's loader accepts. Each knob is probed by
 * parsing a tiny scenario that uses it: a knob the loader refuses is left out of the
 * search (and the "what was searched" statement says so), so the hunt works with today's
 * grammar and picks the new fields up as soon as the loader accepts them.
 */
function base(): Record<string, any> {
  return {
    name: 'probe',
    cluster: {
      nodes: [
        { name: 'node-1', cpu: 8, memory: '32Gi' },
        { name: 'node-2', cpu: 8, memory: '32Gi' },
      ],
      rancher: { agentNode: 'node-1' },
      namespaces: [{ name: 'web', quota: { limitsCpu: '4', limitsMemory: '8Gi' }, vms: [{ name: 'web-0', node: 'node-1', cpu: 1, memory: '1Gi' }] }],
    },
    actions: [],
  };
}

const PROBES: Record<Knob, (s: Record<string, any>) => void> = {
  overheadRatio: (s) => (s.cluster.harvester = { additionalGuestMemoryOverheadRatio: '1.5' }),
  agentReplicas: (s) => (s.cluster.rancher.agentReplicas = 2),
  agentNodes: (s) => (s.cluster.rancher = { agentNodes: ['node-1', 'node-2'] }),
  pods: (s) => (s.cluster.namespaces[0].pods = [{ name: 'app', node: 'node-2', cpu: '100m', memory: '128Mi' }]),
  editQuotaSpec: (s) => s.actions.push({ editQuotaSpec: { namespace: 'web', quota: { limitsCpu: '5' } }, at: '0s' }),
  rolloutAgent: (s) => s.actions.push({ rolloutAgent: {}, at: '0s' }),
  carrier: (s) => (s.cluster.rancher.carrier = 'node-1'),
  syncOnlyChangedObjects: (s) => (s.cluster.rancher.syncOnlyChangedObjects = true),
  // As the hunt writes it (genome.ts projectOf): both quota keys in the default, the namespaces' quotas fitting the limit.
  project: (s) => (s.cluster.rancher.project = { limit: { limitsCpu: '8', limitsMemory: '16Gi' }, namespaceDefault: { limitsCpu: '4', limitsMemory: '8Gi' } }),
};

export function accepts(scenario: object): boolean {
  try {
    parseScenario(stringify(scenario), '<probe>', () => true);
    return true;
  } catch {
    return false;
  }
}

/** The knobs the loader refuses (left out of the search); `loads` is the loader's verdict (a test passes an older loader's). */
export function unsupportedKnobs(loads: (scenario: object) => boolean = accepts): Set<Knob> {
  const off = new Set<Knob>();
  for (const [knob, add] of Object.entries(PROBES) as [Knob, (s: Record<string, any>) => void][]) {
    const s = base();
    add(s);
    if (!loads(s)) off.add(knob);
  }
  return off;
}
