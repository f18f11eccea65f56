// The genome's types, apart from its functions: feasible.ts reads them, and genome.ts calls feasible.ts.

/**
 * A generated scenario, in the hunt's own terms (indexes instead of names, headroom instead
 * of quota values), so that mutation and shrinking cannot break a reference. toScenario()
 * turns it into a scenario file's object, which the real loader then validates.
 */
export interface VmGene { cpu: number; memory: string; node: number; liveMigrate: boolean }
export interface PodGene { node: number; cpu: string; memory: string }
export interface NsGene { vms: VmGene[]; pods: PodGene[]; headroomCpu: string; headroomMemory: string }
export type ActGene =
  | { kind: 'drain'; node: number }
  | { kind: 'restartAgent' }
  | { kind: 'rolloutAgent' }
  | { kind: 'editQuota' | 'editQuotaSpec'; ns: number; cpu: string }
  | { kind: 'migrate'; ns: number; vm: number };
export interface TimedGene { act: ActGene; at: string; to?: string }
/** A Rancher project: its limit is the namespaces' quotas at their highest plus this room (genome.ts projectLimit). */
export interface ProjectGene { roomCpu: string; roomMemory: string }
/**
 * carrier: which agent replica's node is pinned as the carrier (an index into the replicas'
 * nodes, taken modulo their number so that it stays valid), or null for the run's choice.
 */
export interface RancherGene { node: number; replicas: number; nodes: number[]; carrier: number | null; syncOnlyChanged: boolean; project: ProjectGene | null }
export interface Genome {
  seed: number;
  nodes: { cpu: number; memory: string }[];
  rancher: RancherGene | null;
  ratio: string | null;
  namespaces: NsGene[];
  actions: TimedGene[];
}
