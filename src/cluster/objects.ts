import type { ResourceList } from './resources.js';

/** KubeVirt's labels that the object stores index by (store.ts): a launcher pod's VMI UID. */
export const LABEL_CREATED_BY = 'kubevirt.io/created-by';
/** A migration target pod's migration UID. */
export const LABEL_MIGRATION_UID = 'kubevirt.io/migrationJobUID';
/** migration.go expandPDB: the PDB's label naming the migration it protects. */
export const LABEL_MIGRATION_NAME = 'kubevirt.io/migrationName';

/**
 * The API objects the simulated cluster holds. Every version of an object is immutable:
 * a write stores a new object, so an informer cache that holds an older reference is a
 * stale read, with no copying.
 */
export type Kind =
  | 'Namespace'
  | 'ResourceQuota'
  | 'Pod'
  | 'Node'
  | 'VirtualMachineInstance'
  | 'VirtualMachineInstanceMigration'
  | 'PodDisruptionBudget';

export const KINDS: readonly Kind[] = [
  'Namespace',
  'ResourceQuota',
  'Pod',
  'Node',
  'VirtualMachineInstance',
  'VirtualMachineInstanceMigration',
  'PodDisruptionBudget',
];

/** Lower-case plural, as in API paths and conflict messages ("resourcequotas"). */
export const RESOURCE: Record<Kind, string> = {
  Namespace: 'namespaces',
  ResourceQuota: 'resourcequotas',
  Pod: 'pods',
  Node: 'nodes',
  VirtualMachineInstance: 'virtualmachineinstances',
  VirtualMachineInstanceMigration: 'virtualmachineinstancemigrations',
  PodDisruptionBudget: 'poddisruptionbudgets',
};

export interface ObjectMeta {
  readonly name: string;
  /** '' for cluster-scoped objects. */
  readonly namespace: string;
  readonly uid: string;
  /** 0 on an object not yet stored; an update with 0 is unconditional (AllowUnconditionalUpdate). */
  readonly resourceVersion: number;
  readonly generateName?: string;
  /** Simulated ms when the API server stored it. */
  readonly creationTimestamp?: number;
  /** metadata.generation: bumped by the API server on each spec change (kept for PodDisruptionBudgets only). */
  readonly generation?: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

interface Obj<K extends Kind> {
  readonly kind: K;
  readonly metadata: ObjectMeta;
}

export type Namespace = Obj<'Namespace'>;

export interface ResourceQuota extends Obj<'ResourceQuota'> {
  readonly spec: { readonly hard: ResourceList };
  readonly status: { readonly hard: ResourceList; readonly used: ResourceList };
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface Pod extends Obj<'Pod'> {
  readonly spec: {
    /** '' until scheduled. */
    readonly nodeName: string;
    /** Pod-level sums over containers (what PodUsageFunc charges). */
    readonly limits: ResourceList;
    readonly requests: ResourceList;
  };
  readonly status: { readonly phase: PodPhase; readonly unschedulable?: boolean };
}

export interface Node extends Obj<'Node'> {
  readonly spec: { readonly unschedulable: boolean };
  /** Allocatable cpu and memory in milli-units. */
  readonly status: { readonly allocatable: ResourceList };
}

export interface VirtualMachineInstance extends Obj<'VirtualMachineInstance'> {
  readonly spec: {
    readonly cpu: number;
    /** spec.domain.resources.limits.memory / requests.memory, milli-units. */
    readonly memoryLimit: number;
    readonly memoryRequest: number;
    readonly evictionStrategy: 'LiveMigrate' | 'None';
  };
  readonly status: {
    readonly nodeName: string;
    /** Set by virt-api's eviction webhook: the VMI must leave this node. */
    readonly evacuationNodeName?: string;
    /** status.migrationState: the migration in progress or last done, and whether it completed. */
    readonly migrationUid?: string;
    readonly migrationCompleted?: boolean;
  };
}

/** '' is MigrationPhaseUnset: a new migration, before virt-controller has looked at it. */
export type MigrationPhase =
  | ''
  | 'Pending'
  | 'Scheduling'
  | 'Scheduled'
  | 'PreparingTarget'
  | 'TargetReady'
  | 'Running'
  | 'Succeeded'
  | 'Failed';

export interface VirtualMachineInstanceMigration extends Obj<'VirtualMachineInstanceMigration'> {
  readonly spec: { readonly vmiName: string };
  readonly status: {
    readonly phase: MigrationPhase;
    readonly rejectedByResourceQuota: boolean;
    readonly sourceNode: string;
    readonly targetPod?: string;
    readonly targetNode?: string;
    /** Simulated ms when the phase became Succeeded or Failed. */
    readonly finishedAt?: number;
  };
}

/**
 * policy/v1 PodDisruptionBudget as KubeVirt uses it: minAvailable as an integer, selecting a
 * VMI's virt-launcher pods by the kubevirt.io/created-by label; status written by
 * kube-controller-manager's disruption controller.
 */
export interface PodDisruptionBudget extends Obj<'PodDisruptionBudget'> {
  readonly spec: { readonly minAvailable: number; readonly selector: Readonly<Record<string, string>> };
  readonly status: {
    readonly observedGeneration: number;
    readonly expectedPods: number;
    readonly currentHealthy: number;
    readonly desiredHealthy: number;
    readonly disruptionsAllowed: number;
  };
}

export type KObject =
  | PodDisruptionBudget
  | Namespace
  | ResourceQuota
  | Pod
  | Node
  | VirtualMachineInstance
  | VirtualMachineInstanceMigration;

export type ObjectOf<K extends Kind> = Extract<KObject, { kind: K }>;

export function keyOf(meta: { namespace: string; name: string }): string {
  return meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
}

export function objKey(o: KObject): string {
  return keyOf(o.metadata);
}

/** kubevirt.io/api core/v1 MigrationPhase.IsRunning-style "finished" test. */
export function migrationFinished(p: MigrationPhase): boolean {
  return p === 'Succeeded' || p === 'Failed';
}

/** VirtualMachineInstanceMigration.IsRunning (kubevirt staging/src/kubevirt.io/api/core/v1/types.go). */
export function migrationRunning(p: MigrationPhase): boolean {
  return p !== '' && p !== 'Pending' && p !== 'Succeeded' && p !== 'Failed';
}

/** Whether a pod's labels carry every label of a selector (matchLabels). */
export function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/** QuotaV1Pod (kubernetes pkg/quota/v1/evaluator/core/pods.go): terminal pods stop counting. */
export function podCountsForQuota(p: Pod): boolean {
  return p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed';
}
