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
  /**
   * Probability that the cluster is imported into Rancher; the agent's replicas; and, for an
   * imported cluster, the Rancher-side fields: the probability that the carrier (the replica
   * whose tunnel session carries Rancher's connections) is pinned to one replica's node instead
   * of drawn by the run, that CATTLE_SYNC_ONLY_CHANGED_OBJECTS is set, and that the namespaces
   * sit in a Rancher project, whose limit is the namespaces' quotas at their highest (user edits
   * included) plus a drawn room (milli-CPU and memory quantities).
   */
  readonly rancher: {
    readonly imported: number;
    readonly agentReplicas: readonly [number, number];
    readonly carrier: number;
    readonly syncOnlyChangedObjects: number;
    readonly project: { readonly p: number; readonly roomCpu: readonly string[]; readonly roomMemory: readonly string[] };
  };
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
  rancher: {
    imported: 0.85,
    agentReplicas: [1, 2],
    // Mostly left to the run (exploration covers which replica connected first); pinned often
    // enough that a scenario whose failure needs one carrier can say which.
    carrier: 0.3,
    // A mitigation: on in a quarter of imported clusters, so that a failure it prevents (or
    // one it does not) shows up without masking the re-sync on the other three quarters.
    syncOnlyChangedObjects: 0.25,
    // Room from none (a full project, every quota update at its limit) to ample.
    project: { p: 0.25, roomCpu: ['0', '15m', '500m', '2', '16'], roomMemory: ['0', '60M', '1Gi', '64Gi'] },
  },
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
export const OPTIONAL_KNOBS = ['overheadRatio', 'agentReplicas', 'agentNodes', 'pods', 'editQuotaSpec', 'rolloutAgent', 'carrier', 'syncOnlyChangedObjects', 'project'] as const;
export type Knob = (typeof OPTIONAL_KNOBS)[number];

const range = (r: readonly [number, number]) => (r[0] === r[1] ? `${r[0]}` : `${r[0]}–${r[1]}`);

/** Whether a Rancher-side knob is drawn at all: the loader accepts it and its probability is above 0. */
export function rancherKnobOn(s: Space, off: ReadonlySet<Knob>, k: 'carrier' | 'syncOnlyChangedObjects' | 'project'): boolean {
  return !off.has(k) && (k === 'project' ? s.rancher.project.p : s.rancher[k]) > 0;
}

function rancherSide(s: Space, off: ReadonlySet<Knob>): string {
  const r = s.rancher;
  const parts = [
    off.has('carrier') ? '' : r.carrier > 0 ? `carrier pinned to a replica's node with p=${r.carrier} (else the run draws it)` : 'carrier always drawn by the run',
    off.has('syncOnlyChangedObjects') ? '' : `syncOnlyChangedObjects with p=${r.syncOnlyChangedObjects}`,
    off.has('project') ? '' : r.project.p > 0 ? `a project with p=${r.project.p} (limit: the namespaces' quotas at their highest plus room cpu ${r.project.roomCpu.join(', ')}; memory ${r.project.roomMemory.join(', ')})` : 'no project',
  ].filter((x) => x);
  return parts.length ? `; ${parts.join('; ')}` : '';
}

/** The space in words, for the "what was searched" statement; `off` lists knobs left out. */
export function describeSpace(s: Space, off: ReadonlySet<Knob>): string[] {
  const kinds = s.actions.kinds.filter((k) => !off.has(k as Knob));
  const lines = [
    `nodes ${range(s.nodes.count)} (cpu ${s.nodes.cpu.join('/')}, memory ${s.nodes.memory.join('/')})`,
    `namespaces ${range(s.namespaces.count)}, VMs per namespace ${range(s.namespaces.vms)} (cpu ${s.vms.cpu.join('/')}, memory ${s.vms.memory.join('/')}, LiveMigrate with p=${s.vms.liveMigrate}, placed on any node)` +
      (off.has('pods') ? '' : `, other pods per namespace ${range(s.namespaces.pods)}`),
    `quota headroom cpu ${s.quota.headroomCpu.join(', ')}; memory ${s.quota.headroomMemory.join(', ')}`,
    `Rancher import p=${s.rancher.imported}, agent on any node` + (off.has('agentReplicas') ? '' : `, agent replicas ${range(s.rancher.agentReplicas)}`) + (off.has('agentNodes') ? '' : ', agent node list') + rancherSide(s, off),
    off.has('overheadRatio') ? 'overhead ratio: the default 1.5 only' : `overhead ratio ${s.overheadRatio.join(', ')}`,
    s.actions.count[1] === 0 ? 'no actions' : `actions ${range(s.actions.count)} of ${kinds.join(', ')}; times ${s.actions.times.join(', ')}, a window with p=${s.actions.windows}; quota edits by ${s.actions.editCpu.join(', ')} CPU`,
    `per scenario ${s.campaign.runs} interleavings × ${s.campaign.explorers.join(' + ')}, ${s.campaign.batch} scenarios per generation, horizon ${s.horizon}`,
  ];
  const missing = OPTIONAL_KNOBS.filter((k) => off.has(k));
  if (missing.length) lines.push(`left out (this version's scenario loader does not accept them yet): ${missing.join(', ')}`);
  return lines;
}
