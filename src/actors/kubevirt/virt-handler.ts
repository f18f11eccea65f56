import { keyOf, objKey, podCountsForQuota } from '../../cluster/objects.js';
import { pickNode } from '../../cluster/scheduler.js';
import type { Process } from '../../kernel/kernel.js';
import type { World } from '../../cluster/world.js';
import { LABEL_CREATED_BY, LABEL_MIGRATION_UID, VIRT_CONTROLLER, VIRT_HANDLER } from './names.js';

/** migration.go defaultUnschedulablePendingTimeoutSeconds. */
const UNSCHEDULABLE_TIMEOUT_MS = 300_000;

/**
 * What happens to a migration once its target pod exists: a script, not a reconciler (a
 * timeline of the scheduler, the kubelet and virt-handler on both nodes): the target pod is
 * scheduled (or stays Unschedulable until virt-controller's handlePendingPodTimeout deletes
 * it and fails the migration), starts, virt-handler prepares the target and records the
 * migration in the VMI's migrationState, copies memory, and hands the VMI over; the source
 * virt-launcher completes a few seconds later (harvester/harvester#7161: it keeps counting in
 * quota until then). The migration's phases are the migration controller's to write, from
 * what it sees here. Started when a pod labelled with a migration's UID is created.
 */
export function startVirtHandler(world: World): void {
  const api = world.api;
  api.watch('Pod', (old, cur) => {
    if (old || !cur) return;
    const uid = cur.metadata.labels[LABEL_MIGRATION_UID];
    if (!uid) return;
    const ns = cur.metadata.namespace;
    const vmim = api.indexed('VirtualMachineInstanceMigration').first('uid', [uid], (m) => m.metadata.namespace === ns);
    if (vmim) world.kernel.spawn(migrate(world, objKey(vmim), objKey(cur), vmim.status.sourceNode), 0, VIRT_HANDLER);
  });
}

function* migrate(world: World, vmimKey: string, podKey: string, sourceNode: string): Process {
  const api = world.api;
  const stream = VIRT_HANDLER;
  let stage = 'schedule';
  // Only this process reads its stage (exhaustive exploration's dependency relation relies on it).
  world.registerState('process', `${VIRT_HANDLER}/${vmimKey}`, () => stage);
  /** virt-controller's handlePendingPodTimeout fails the migration: read-modify-write against the live object. */
  const fail = (): void => {
    const cur = api.get('VirtualMachineInstanceMigration', vmimKey);
    if (cur) api.update(VIRT_CONTROLLER, { ...cur, status: { ...cur.status, phase: 'Failed', finishedAt: world.now } });
  };
  try {
    yield world.draw('apiCall', stream);
    const pod = api.get('Pod', podKey);
    if (!pod) return;
    const node = pickNode(api, world.choices, pod, sourceNode);
    if (!node) {
      api.update('kube-scheduler', { ...pod, status: { ...pod.status, unschedulable: true } });
      stage = 'unschedulable';
      yield UNSCHEDULABLE_TIMEOUT_MS;
      // handlePendingPodTimeout: the target pod is deleted and the migration fails.
      api.delete(VIRT_CONTROLLER, 'Pod', podKey);
      fail();
      return;
    }
    api.update('kube-scheduler', { ...pod, spec: { ...pod.spec, nodeName: node } });
    stage = 'start';
    yield world.draw('podStart', stream);
    const bound = api.get('Pod', podKey);
    if (!bound) return;
    api.update('kubelet', { ...bound, status: { phase: 'Running' } });
    stage = 'prepare';
    yield world.draw('migrationPrepare', stream);
    const vmim = api.get('VirtualMachineInstanceMigration', vmimKey);
    if (!vmim || vmim.status.phase === 'Failed') return;
    const vmiKey = keyOf({ namespace: vmim.metadata.namespace, name: vmim.spec.vmiName });
    // virt-handler records the migration in the VMI's status.migrationState; the migration
    // controller derives the VMIM's phases from it (Running, then Succeeded).
    const started = api.get('VirtualMachineInstance', vmiKey);
    if (!started) return;
    api.update(VIRT_HANDLER, { ...started, metadata: { ...started.metadata, resourceVersion: 0 }, status: { ...started.status, migrationUid: vmim.metadata.uid, migrationCompleted: false } });
    stage = 'copy';
    yield world.draw('migration', stream);
    const vmi = api.get('VirtualMachineInstance', vmiKey);
    if (!vmi) return;
    const source = api
      .indexed('Pod')
      .first('created-by', [vmi.metadata.uid], (p) => p.metadata.namespace === vmi.metadata.namespace && p.spec.nodeName === vmi.status.nodeName && podCountsForQuota(p));
    // The migration ACK (pkg/virt-handler/vm.go): the VMI moves, its migration is completed,
    // and evacuationNodeName is cleared.
    const { evacuationNodeName: _cleared, ...status } = vmi.status;
    api.update(VIRT_HANDLER, { ...vmi, metadata: { ...vmi.metadata, resourceVersion: 0 }, status: { ...status, nodeName: node, migrationUid: vmim.metadata.uid, migrationCompleted: true } });
    if (!source) return;
    stage = 'source-completion';
    yield world.draw('sourceCompletion', stream);
    const src = api.get('Pod', objKey(source));
    if (src) api.update('kubelet', { ...src, metadata: { ...src.metadata, resourceVersion: 0 }, status: { phase: 'Succeeded' } });
  } finally {
    stage = 'done';
  }
}
