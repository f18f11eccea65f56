/**
 * The hunt's search space: what a generated scenario may contain. Every field has a
 * documented default (README "hunt"); a space file (space-file.ts) narrows or widens it.
 * Ranges are [min, max] inclusive; lists are the values drawn from, uniformly.
 */
export const ACTION_KINDS = ['drain', 'restartAgent', 'rolloutAgent', 'editQuota', 'editQuotaSpec', 'migrate'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

export interface Space {
  readonly nodes: { readonly count: readonly [number, number]; readonly cpu: readonly number[]; readonly memory: readonly string[] };
  readonly namespaces: { readonly count: readonly [number, number]; readonly vms: readonly [number, number]; readonly pods: readonly [number, number] };
  readonly vms: { readonly cpu: readonly number[]; readonly memory: readonly string[]; readonly liveMigrate: number };
  /** Headroom over what the namespace's pods use at the start: milli-CPU and memory quantities. */
  readonly quota: { readonly headroomCpu: readonly string[]; readonly headroomMemory: readonly string[] };
  /** Harvester's additional-guest-memory-overhead-ratio values (a string, as the setting). */
  readonly overheadRatio: readonly string[];
  /** Probability that the cluster is imported into Rancher; the agent's replicas. */
  readonly rancher: { readonly imported: number; readonly agentReplicas: readonly [number, number] };
  readonly actions: { readonly count: readonly [number, number]; readonly kinds: readonly ActionKind[]; readonly times: readonly string[]; readonly windows: number; readonly editCpu: readonly string[] };
  /** Interleavings per generated scenario and explorer, and scenarios per generation. */
  readonly campaign: { readonly runs: number; readonly explorers: readonly ('random' | 'pct')[]; readonly batch: number };
  readonly horizon: string;
}

export const DEFAULT_SPACE: Space = {
  nodes: { count: [2, 5], cpu: [16, 32], memory: ['64Gi', '128Gi'] },
  namespaces: { count: [1, 3], vms: [0, 4], pods: [0, 2] },
  vms: { cpu: [1, 2, 4], memory: ['2Gi', '4Gi', '8Gi'], liveMigrate: 0.9 },
  quota: {
    // Below, at and above the virt-launcher console-log container's 15m CPU / 60M memory, up to ample.
    headroomCpu: ['0', '5m', '10m', '14m', '15m', '20m', '100m', '500m', '1', '2', '4', '8', '16'],
    headroomMemory: ['0', '30M', '59M', '60M', '100Mi', '512Mi', '1Gi', '4Gi', '16Gi', '64Gi'],
  },
  overheadRatio: ['1.0', '1.5', '2.0'],
  rancher: { imported: 0.85, agentReplicas: [1, 2] },
  actions: {
    count: [1, 4],
    kinds: [...ACTION_KINDS],
    times: ['0s', '5s', '10s', '20s', '30s', '60s', '120s'],
    windows: 0.5,
    editCpu: ['-2', '-1', '-500m', '500m', '1', '2', '4'],
  },
  campaign: { runs: 12, explorers: ['random', 'pct'], batch: 8 },
  horizon: '20m',
};

/** The knobs the scenario loader may not accept yet (capabilities.ts probes each). */
export const OPTIONAL_KNOBS = ['overheadRatio', 'agentReplicas', 'agentNodes', 'pods', 'editQuotaSpec', 'rolloutAgent'] as const;
export type Knob = (typeof OPTIONAL_KNOBS)[number];

const range = (r: readonly [number, number]) => (r[0] === r[1] ? `${r[0]}` : `${r[0]}–${r[1]}`);

/** The space in words, for the "what was searched" statement; `off` lists knobs left out. */
export function describeSpace(s: Space, off: ReadonlySet<Knob>): string[] {
  const kinds = s.actions.kinds.filter((k) => !off.has(k as Knob));
  const lines = [
    `nodes ${range(s.nodes.count)} (cpu ${s.nodes.cpu.join('/')}, memory ${s.nodes.memory.join('/')})`,
    `namespaces ${range(s.namespaces.count)}, VMs per namespace ${range(s.namespaces.vms)} (cpu ${s.vms.cpu.join('/')}, memory ${s.vms.memory.join('/')}, LiveMigrate with p=${s.vms.liveMigrate}, placed on any node)` +
      (off.has('pods') ? '' : `, other pods per namespace ${range(s.namespaces.pods)}`),
    `quota headroom cpu ${s.quota.headroomCpu.join(', ')}; memory ${s.quota.headroomMemory.join(', ')}`,
    `Rancher import p=${s.rancher.imported}, agent on any node` + (off.has('agentReplicas') ? '' : `, agent replicas ${range(s.rancher.agentReplicas)}`) + (off.has('agentNodes') ? '' : ', agent node list'),
    off.has('overheadRatio') ? 'overhead ratio: the default 1.5 only' : `overhead ratio ${s.overheadRatio.join(', ')}`,
    s.actions.count[1] === 0 ? 'no actions' : `actions ${range(s.actions.count)} of ${kinds.join(', ')}; times ${s.actions.times.join(', ')}, a window with p=${s.actions.windows}; quota edits by ${s.actions.editCpu.join(', ')} CPU`,
    `per scenario ${s.campaign.runs} interleavings × ${s.campaign.explorers.join(' + ')}, ${s.campaign.batch} scenarios per generation, horizon ${s.horizon}`,
  ];
  const missing = OPTIONAL_KNOBS.filter((k) => off.has(k));
  if (missing.length) lines.push(`left out (this version's scenario loader does not accept them yet): ${missing.join(', ')}`);
  return lines;
}
