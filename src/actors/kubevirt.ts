import { Informer } from '../cluster/informer.js';
import type { Pod, VirtualMachineInstance, VirtualMachineInstanceMigration as Vmim } from '../cluster/objects.js';
import { migrationFinished, objKey } from '../cluster/objects.js';
import { ExponentialRateLimiter } from '../cluster/ratelimit.js';
import { Reconciler } from '../cluster/reconciler.js';
import type { World } from '../sim/world.js';
import { evacuationReconciler } from './kubevirt/evacuation-controller.js';
import { migrationReconciler } from './kubevirt/migration-controller.js';
import { ANN_EVACUATION, LABEL_MIGRATION_UID, VIRT_CONTROLLER } from './kubevirt/names.js';
import { startVirtHandler } from './kubevirt/virt-handler.js';

export { installEvictionWebhook } from './kubevirt/eviction-admitter.js';
export { launcherPod, newMigration } from './kubevirt/templates.js';
export * from './kubevirt/names.js';

/**
 * virt-controller: the migration controller (kubevirt/migration-controller.ts) and the
 * evacuation controller (kubevirt/evacuation-controller.ts), sharing one informer factory,
 * both run by the reconciler runtime with client-go's default rate limiter; and
 * virt-handler's side of each migration (kubevirt/virt-handler.ts), a script.
 */
export function startKubeVirt(world: World): void {
  const cache = new Informer(world, VIRT_CONTROLLER, ['VirtualMachineInstanceMigration', 'VirtualMachineInstance', 'Pod', 'ResourceQuota']);
  const migrations: Reconciler = new Reconciler(world, {
    actor: VIRT_CONTROLLER,
    label: 'migration-controller',
    limiter: new ExponentialRateLimiter(),
    workers: 3,
    reconcile: (key) => migrationReconcile(key),
  });
  const migrationReconcile = migrationReconciler(cache, migrations.expectations, () => world.now);
  const evacuations: Reconciler = new Reconciler(world, {
    actor: VIRT_CONTROLLER,
    label: 'evacuation-controller',
    limiter: new ExponentialRateLimiter(),
    reconcile: (node) => evacuationReconcile(node),
  });
  const evacuationReconcile = evacuationReconciler(cache, evacuations.expectations, (vmis) => world.choices.shuffled(`${VIRT_CONTROLLER}/evacuation-order`, vmis));
  startVirtHandler(world);

  cache.on('VirtualMachineInstanceMigration', (old, cur) => {
    const m = (cur ?? old) as Vmim;
    migrations.enqueue(objKey(m));
    const evacNode = m.metadata.annotations[ANN_EVACUATION];
    if (!old && cur && evacNode !== undefined) evacuations.expectations.lower(evacNode);
    evacuations.enqueue(m.status.sourceNode);
  });
  cache.on('VirtualMachineInstance', (_old, cur) => {
    const v = cur as VirtualMachineInstance | undefined;
    if (!v) return;
    if (v.status.evacuationNodeName) evacuations.enqueue(v.status.evacuationNodeName);
    for (const m of cache.list('VirtualMachineInstanceMigration', v.metadata.namespace)) {
      if (m.spec.vmiName === v.metadata.name && !migrationFinished(m.status.phase)) migrations.enqueue(objKey(m));
    }
  });
  cache.on('Pod', (old, cur) => {
    const p = (cur ?? old) as Pod;
    const uid = p.metadata.labels[LABEL_MIGRATION_UID];
    if (!uid) return;
    for (const m of cache.list('VirtualMachineInstanceMigration', p.metadata.namespace)) {
      if (m.metadata.uid !== uid) continue;
      if (!old && cur) migrations.expectations.lower(objKey(m));
      migrations.enqueue(objKey(m));
    }
  });
  // updateResourceQuota/deleteResourceQuota: every quota event re-enqueues (plain Add) the
  // namespace's VMIMs that carry the RejectedByResourceQuota condition.
  cache.on('ResourceQuota', (old, cur) => {
    if (!old) return;
    const ns = (cur ?? old).metadata.namespace;
    for (const m of cache.list('VirtualMachineInstanceMigration', ns)) {
      if (m.status.rejectedByResourceQuota && m.status.phase === 'Pending') migrations.enqueue(objKey(m));
    }
  });
}
