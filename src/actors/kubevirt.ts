import { Informer } from '../cluster/informer.js';
import { migrationFinished, objKey } from '../cluster/objects.js';
import { ANY_SELECTOR } from '../cluster/store.js';
import { ExponentialRateLimiter } from '../cluster/ratelimit.js';
import { Reconciler } from '../cluster/reconciler.js';
import type { World } from '../cluster/world.js';
import { evacuationReconciler } from './kubevirt/evacuation-controller.js';
import { migrationReconciler } from './kubevirt/migration-controller.js';
import { disruptionBudgetReconciler } from './kubevirt/disruption-budget-controller.js';
import { ANN_EVACUATION, LABEL_CREATED_BY, LABEL_MIGRATION_NAME, LABEL_MIGRATION_UID, VIRT_CONTROLLER } from './kubevirt/names.js';
import { startVirtHandler } from './kubevirt/virt-handler.js';

export { installEvictionWebhook } from './kubevirt/eviction-admitter.js';
export { launcherPod, newMigration } from './kubevirt/templates.js';
export { syncedVmiPdb, vmiPdb } from './kubevirt/disruption-budget-controller.js';
export * from './kubevirt/names.js';

/** virt-controller's --migration-controller-threads, --evacuation-controller-threads, --disruption-budget-controller-threads (application.go defaultControllerThreads). */
const THREADS = 3;

/**
 * virt-controller: the migration controller (kubevirt/migration-controller.ts), the
 * evacuation controller (kubevirt/evacuation-controller.ts) and the disruption-budget
 * controller (kubevirt/disruption-budget-controller.ts), sharing one informer factory, each
 * run by the reconciler runtime with client-go's default rate limiter and 3 workers; and
 * virt-handler's side of each migration (kubevirt/virt-handler.ts), a script.
 */
export function startKubeVirt(world: World): void {
  const cache = new Informer(world, VIRT_CONTROLLER, ['VirtualMachineInstanceMigration', 'VirtualMachineInstance', 'Pod', 'ResourceQuota', 'PodDisruptionBudget']);
  const migrations: Reconciler = new Reconciler(world, {
    actor: VIRT_CONTROLLER,
    label: 'migration-controller',
    limiter: new ExponentialRateLimiter(),
    workers: THREADS,
    reconcile: (key) => migrationReconcile(key),
  });
  const migrationReconcile = migrationReconciler(cache, migrations.expectations, () => world.now, () => world.settings.additionalGuestMemoryOverheadRatio);
  const evacuations: Reconciler = new Reconciler(world, {
    actor: VIRT_CONTROLLER,
    label: 'evacuation-controller',
    limiter: new ExponentialRateLimiter(),
    workers: THREADS,
    reconcile: (node) => evacuationReconcile(node),
  });
  const evacuationReconcile = evacuationReconciler(cache, evacuations.expectations, (vmis, count) => world.choices.picked(`${VIRT_CONTROLLER}/evacuation-order`, vmis, count));
  const budgets = new Reconciler(world, {
    actor: VIRT_CONTROLLER,
    label: 'disruption-budget-controller',
    limiter: new ExponentialRateLimiter(),
    workers: THREADS,
    reconcile: disruptionBudgetReconciler(cache),
  });
  startVirtHandler(world);
  /** The PDB protecting a VMI's pods (its kubevirt.io/created-by selector). */
  const pdbOf = (ns: string, vmiUid: string | undefined): string | undefined => {
    if (!vmiUid) return undefined;
    const b = cache.indexed('PodDisruptionBudget').first('selector', [vmiUid, ANY_SELECTOR], (x) => x.metadata.namespace === ns && x.spec.selector[LABEL_CREATED_BY] === vmiUid);
    return b && objKey(b);
  };

  cache.on('VirtualMachineInstanceMigration', (old, cur) => {
    const m = (cur ?? old)!;
    migrations.enqueue(objKey(m));
    // disruptionbudget.go updateMigration: the PDB expanded for this migration.
    for (const b of cache.indexed('PodDisruptionBudget').view('migration-name', m.metadata.name)) if (b.metadata.namespace === m.metadata.namespace) budgets.enqueue(objKey(b));
    const evacNode = m.metadata.annotations[ANN_EVACUATION];
    if (!old && cur && evacNode !== undefined) evacuations.expectations.lower(evacNode);
    evacuations.enqueue(m.status.sourceNode);
  });
  cache.on('VirtualMachineInstance', (_old, cur) => {
    const v = cur;
    if (!v) return;
    const pdb = pdbOf(v.metadata.namespace, v.metadata.uid);
    if (pdb) budgets.enqueue(pdb);
    if (v.status.evacuationNodeName) evacuations.enqueue(v.status.evacuationNodeName);
    for (const m of cache.indexed('VirtualMachineInstanceMigration').view('vmi', v.metadata.name)) {
      if (m.metadata.namespace === v.metadata.namespace && !migrationFinished(m.status.phase)) migrations.enqueue(objKey(m));
    }
  });
  cache.on('Pod', (old, cur) => {
    const p = (cur ?? old)!;
    const pdb = pdbOf(p.metadata.namespace, p.metadata.labels[LABEL_CREATED_BY]);
    if (pdb) budgets.enqueue(pdb);
    const uid = p.metadata.labels[LABEL_MIGRATION_UID];
    if (!uid) return;
    for (const m of cache.indexed('VirtualMachineInstanceMigration').view('uid', uid)) {
      if (m.metadata.namespace !== p.metadata.namespace) continue;
      if (!old && cur) migrations.expectations.lower(objKey(m));
      migrations.enqueue(objKey(m));
    }
  });
  // migration.go updatePDB: a PDB update whose resourceVersion changed enqueues the migration
  // named by its kubevirt.io/migrationName label (how a migration waiting for protection wakes).
  cache.on('PodDisruptionBudget', (old, cur) => {
    if (cur) budgets.enqueue(objKey(cur));
    const name = cur?.metadata.labels[LABEL_MIGRATION_NAME];
    if (old && cur && name !== undefined && old.metadata.resourceVersion !== cur.metadata.resourceVersion) migrations.enqueue(`${cur.metadata.namespace}/${name}`);
  });
  // updateResourceQuota/deleteResourceQuota: every quota event re-enqueues (plain Add) the
  // namespace's VMIMs that carry the RejectedByResourceQuota condition.
  cache.on('ResourceQuota', (old, cur) => {
    if (!old) return;
    const ns = (cur ?? old).metadata.namespace;
    for (const m of cache.indexed('VirtualMachineInstanceMigration').view('active', '')) {
      if (m.metadata.namespace === ns && m.status.rejectedByResourceQuota && m.status.phase === 'Pending') migrations.enqueue(objKey(m));
    }
  });
}
