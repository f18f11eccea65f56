/**
 * Latency distributions: uniform integer milliseconds in [min, max], drawn from the
 * seed. Defaults come from the references (../shared/reference) where they give numbers,
 * and are otherwise plausible orders of magnitude; a scenario overrides any of them.
 */
export interface Range {
  readonly min: number;
  readonly max: number;
}

export interface Latencies {
  /** Watch event → controller's informer cache (each process, each kind, in order). */
  cacheLag: Range;
  /** kube-apiserver's own quota lister lag (admission reads it first). */
  apiserverCacheLag: Range;
  /** One API request round trip. */
  apiCall: Range;
  /** Work a controller does between taking a key and its first request. */
  reconcile: Range;
  /** Pod created → scheduled and Running (target virt-launcher, new agent pod). */
  podStart: Range;
  /** Target pod Running → migration Running (virt-handler prepares the target). */
  migrationPrepare: Range;
  /** Migration Running → Succeeded (memory copy). */
  migration: Range;
  /**
   * Migration Succeeded → source virt-launcher pod Succeeded. harvester/harvester#7161
   * measured about 31 s between target pod creation and source completion (Harvester
   * v1.2.1 test in w13915984028/harvester-develop-summary); a few seconds after Succeeded.
   */
  sourceCompletion: Range;
  /** Agent pod Running → cattle-cluster-agent's controllers started (DeferredStart, informer sync). */
  agentStart: Range;
  /** A person whose edit was refused tries again after this. */
  userRetry: Range;
  /**
   * The Rancher server ↔ cluster-agent tunnel (remotedialer over a websocket), one way, added
   * to every request and watch event of Rancher's controllers for the cluster. Not measured
   * anywhere we could read: a plausible order of magnitude for a Rancher server near the cluster.
   */
  tunnel: Range;
}

export const DEFAULT_LATENCIES: Latencies = {
  cacheLag: { min: 1, max: 150 },
  apiserverCacheLag: { min: 0, max: 5 },
  apiCall: { min: 2, max: 40 },
  reconcile: { min: 1, max: 20 },
  podStart: { min: 3_000, max: 15_000 },
  migrationPrepare: { min: 1_000, max: 5_000 },
  migration: { min: 10_000, max: 60_000 },
  sourceCompletion: { min: 2_000, max: 30_000 },
  agentStart: { min: 5_000, max: 30_000 },
  userRetry: { min: 15_000, max: 90_000 },
  tunnel: { min: 1, max: 20 },
};

export type LatencyName = keyof Latencies;
export const LATENCY_NAMES = Object.keys(DEFAULT_LATENCIES) as LatencyName[];
