/**
 * quotarace's public API for strategy modules:
 *
 *   import { defineStrategy, type View, type Write } from 'quotarace';
 *   export default defineStrategy({ name, description, reconcilers: [...], webhooks: [...] });
 *
 * See scenarios/strategies/exact-delta.ts for a complete example.
 */
export { defineStrategy, update } from './strategies/api.js';
export type { AdmissionRequest, ReconcilerDef, Strategy, View, WebhookDef, Write, WriteVerb, Plan, ReconcileResult, AgentQuotaSync } from './strategies/api.js';
export type {
  Kind,
  KObject,
  Namespace,
  ObjectMeta,
  Pod,
  ResourceQuota,
  VirtualMachineInstance,
  VirtualMachineInstanceMigration,
  MigrationPhase,
} from './cluster/objects.js';
export { keyOf, objKey, migrationFinished, migrationRunning } from './cluster/objects.js';
export type { ResourceList } from './cluster/resources.js';
export { LIMITS_CPU, LIMITS_MEMORY, REQUESTS_CPU, REQUESTS_MEMORY, PODS } from './cluster/resources.js';
export { parseQuantity, formatQuantity } from './cluster/quantity.js';
export { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, parseRancherQuota } from './actors/rancher-quota.js';
export {
  ANN_MIGRATING_NAME_PREFIX,
  ANN_MIGRATING_UID_PREFIX,
  ANN_SKIP_AUTOSCALING,
  defaultQuota,
  vmiDelta,
  encodeDelta,
  hardWithDeltas,
  limitsDiffer,
  decodeDelta,
  hasMigratingVM,
  migratingDeltas,
  rancherBase,
  isEmptyQuota,
  withAnnotations,
  namespaceValidator,
} from './strategies/harvester-quota.js';
export type { HardWithDeltasOptions } from './strategies/harvester-quota.js';
export { BUILTIN_STRATEGIES } from './strategies/builtin.js';
