import type { RancherProject } from '../actors/rancher-project.js';
import type { RancherLimit } from '../actors/rancher-quota.js';
import type { Latencies } from '../cluster/latency.js';
import type { ExpectMetric } from './metrics.js';

/** A scenario after validation: every quantity and duration is a number (milli-units, ms). */
export interface Scenario {
  readonly file: string;
  /** sha256 of the file's bytes: evidence names the scenario it came from. */
  readonly hash: string;
  readonly name: string;
  readonly description: string;
  readonly nodes: readonly NodeSpec[];
  /** Imported into Rancher. */
  readonly rancher: RancherSettings | undefined;
  /** Harvester settings. */
  readonly harvester: HarvesterSettings;
  readonly namespaces: readonly NamespaceSpec[];
  readonly actions: readonly Action[];
  /** Undefined: every built-in strategy. */
  readonly strategies: readonly string[] | undefined;
  readonly runs: number;
  readonly seed: number;
  readonly horizonMs: number;
  readonly latencies: Latencies;
  /** The CI gate: bounds on a strategy's rates. */
  readonly expect: readonly Expectation[];
}

export type { ExpectMetric } from './metrics.js';

export interface Expectation {
  readonly strategy: string;
  readonly metric: ExpectMetric;
  readonly min?: number;
  readonly max?: number;
}

export interface RancherSettings {
  /** The cluster agent's pods, one node per replica. */
  readonly agentNodes: readonly string[];
  /** The node of the agent replica that connected first and carries Rancher's connections; undefined: a seeded choice. */
  readonly carrier?: string;
  /** CATTLE_SYNC_ONLY_CHANGED_OBJECTS=user on the Rancher server. */
  readonly syncOnlyChangedObjects?: boolean;
  /** The project every namespace is in, with its resource quota; undefined: the implicit one (README "Simplifications"). */
  readonly project?: RancherProject;
}

export interface HarvesterSettings {
  /** additional-guest-memory-overhead-ratio as written ("1.5"; "" or "0" clear it). */
  readonly overheadRatioText: string;
  /** The ratio KubeVirt renders launcher pods with; undefined when cleared (KubeVirt's own 1.0). */
  readonly overheadRatio: number | undefined;
}

export interface NodeSpec {
  readonly name: string;
  readonly cpu: number;
  readonly memory: number;
}

export interface NamespaceSpec {
  readonly name: string;
  /** Rancher's limit, as the user wrote it ({ limitsCpu: "12" }). */
  readonly quota: RancherLimit;
  readonly vms: readonly VmSpec[];
  /** Pods that are not VMs, counting against the quota (limits equal requests). */
  readonly pods: readonly PodSpec[];
}

export interface PodSpec {
  readonly name: string;
  readonly node: string;
  /** Milli-units. */
  readonly cpu: number;
  readonly memory: number;
}

export interface VmSpec {
  readonly name: string;
  readonly node: string;
  /** vCPUs. */
  readonly cpu: number;
  /** Memory limit, milli-units. */
  readonly memory: number;
  readonly evictionStrategy: 'LiveMigrate' | 'None';
}

export type Timing = { readonly at: number } | { readonly between: readonly [number, number] };

export type ActionBody =
  | { readonly type: 'drain'; readonly node: string }
  /** Delete agent pods: every one (undefined), or this many. */
  | { readonly type: 'restartAgent'; readonly pods: number | undefined }
  | { readonly type: 'rolloutAgent' }
  | { readonly type: 'editQuotaSpec'; readonly namespace: string; readonly quota: RancherLimit }
  | { readonly type: 'editQuota'; readonly namespace: string; readonly quota: RancherLimit }
  | { readonly type: 'migrate'; readonly namespace: string; readonly vm: string };

export type Action = ActionBody & { readonly timing: Timing };
