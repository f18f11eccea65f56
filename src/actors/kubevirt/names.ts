/** KubeVirt's component names (the actors of its writes) and the labels it puts on pods. */
export const VIRT_CONTROLLER = 'virt-controller';
export const VIRT_HANDLER = 'virt-handler';
export const VIRT_API = 'virt-api';

export const LABEL_APP = 'kubevirt.io';
export const LABEL_CREATED_BY = 'kubevirt.io/created-by';
export const LABEL_VM_NAME = 'vm.kubevirt.io/name';
export const LABEL_MIGRATION_UID = 'kubevirt.io/migrationJobUID';
/** migration.go expandPDB: the PDB's label naming the migration it protects. */
export const LABEL_MIGRATION_NAME = 'kubevirt.io/migrationName';
/** kubevirt pkg/virt-controller/watch/drain/evacuation: marks VMIMs the evacuation created. */
export const ANN_EVACUATION = 'kubevirt.io/evacuationMigration';
/** v1.MigrationSelectorLabel (staging/src/kubevirt.io/api/core/v1/types.go): the VMIM's VMI name. */
export const LABEL_MIGRATION_VMI_NAME = 'kubevirt.io/vmi-name';
/**
 * v1.ControllerAPILatestVersionObservedAnnotation / ControllerAPIStorageVersionObservedAnnotation
 * and their value, v1.ApiLatestVersion = v1.ApiStorageVersion = "v1" (KubeVirt v1.3.1
 * staging/src/kubevirt.io/api/core/v1/types.go, register.go).
 */
export const ANN_LATEST_OBSERVED_API_VERSION = 'kubevirt.io/latest-observed-api-version';
export const ANN_STORAGE_OBSERVED_API_VERSION = 'kubevirt.io/storage-observed-api-version';
export const KUBEVIRT_API_VERSION = 'v1';
/** descheduler.EvictionInProgressAnnotation (v1.3.1 pkg/virt-controller/watch/descheduler/descheduler.go), value "kubevirt". */
export const ANN_EVICTION_IN_PROGRESS = 'descheduler.alpha.kubernetes.io/eviction-in-progress';

/** pkg/virt-config/virt-config.go defaults (KubeVirt 1.3). */
export const PARALLEL_MIGRATIONS_PER_CLUSTER = 5;
export const PARALLEL_OUTBOUND_PER_NODE = 2;
/** v1.3 migration.go: a migration over the parallel limits is re-queued with AddAfter(key, 5s). */
export const LIMIT_REQUEUE_MS = 5_000;
