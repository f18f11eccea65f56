import type { ApiError } from '../cluster/apiserver.js';
import { Controller, type SyncResult } from '../cluster/controller.js';
import type { EvictionApi } from '../cluster/eviction.js';
import { Informer } from '../cluster/informer.js';
import { launcherPodResources } from '../cluster/launcher.js';
import type { Pod, VirtualMachineInstance, VirtualMachineInstanceMigration as Vmim } from '../cluster/objects.js';
import { keyOf, migrationFinished, migrationRunning, objKey, podCountsForQuota } from '../cluster/objects.js';
import { ExponentialRateLimiter } from '../cluster/ratelimit.js';
import { pickNode } from '../cluster/scheduler.js';
import type { Process } from '../kernel/kernel.js';
import type { World } from '../sim/world.js';

export const VIRT_CONTROLLER = 'virt-controller';
export const VIRT_HANDLER = 'virt-handler';
export const VIRT_API = 'virt-api';

export const LABEL_APP = 'kubevirt.io';
export const LABEL_CREATED_BY = 'kubevirt.io/created-by';
export const LABEL_VM_NAME = 'vm.kubevirt.io/name';
export const LABEL_MIGRATION_UID = 'kubevirt.io/migrationJobUID';
/** kubevirt pkg/virt-controller/watch/drain/evacuation: marks VMIMs the evacuation created. */
export const ANN_EVACUATION = 'kubevirt.io/evacuationMigration';

/** pkg/virt-config/virt-config.go defaults (KubeVirt 1.3). */
export const PARALLEL_MIGRATIONS_PER_CLUSTER = 5;
export const PARALLEL_OUTBOUND_PER_NODE = 2;
/** v1.3 migration.go: a migration over the parallel limits is re-queued with AddAfter(key, 5s). */
const LIMIT_REQUEUE_MS = 5_000;
/** migration.go defaultUnschedulablePendingTimeoutSeconds. */
const UNSCHEDULABLE_TIMEOUT_MS = 300_000;
/** migration.go handleMigrationBackoff: 20 s after the first failure, doubled per further failure. */
const BACKOFF_BASE_MS = 20_000;

/** A virt-launcher pod for a VMI (pkg/virt-controller/services/template.go renderLaunchManifest). */
export function launcherPod(vmi: VirtualMachineInstance, nodeName: string, migrationUid?: string): Pod {
  const labels: Record<string, string> = {
    [LABEL_APP]: 'virt-launcher',
    [LABEL_CREATED_BY]: vmi.metadata.uid,
    [LABEL_VM_NAME]: vmi.metadata.name,
  };
  if (migrationUid) labels[LABEL_MIGRATION_UID] = migrationUid;
  const res = launcherPodResources(vmi.spec);
  return {
    kind: 'Pod',
    metadata: {
      name: '',
      generateName: `virt-launcher-${vmi.metadata.name}-`,
      namespace: vmi.metadata.namespace,
      uid: '',
      resourceVersion: 0,
      labels,
      annotations: {},
    },
    spec: { nodeName, limits: res.limits, requests: res.requests },
    status: { phase: nodeName ? 'Running' : 'Pending' },
  };
}

const tooMany = (message: string): ApiError => ({ code: 429, reason: 'TooManyRequests', message });

/**
 * virt-api's eviction admitter (pkg/virt-api/webhooks/validating-webhook/admitters/
 * pod-eviction-admitter.go admitLauncherPod) for LiveMigrate VMIs: the first eviction marks
 * the VMI for evacuation (status.evacuationNodeName) and is refused with 429; later ones
 * are refused while the evacuation is in progress; a pod that is not the VMI's current
 * one (a target, or a source whose VMI has moved) is refused too, until it has completed.
 */
export function installEvictionWebhook(world: World, eviction: EvictionApi): void {
  eviction.addWebhook((_actor, pod) => {
    if (pod.metadata.labels[LABEL_APP] !== 'virt-launcher') return undefined;
    const vmiKey = keyOf({ namespace: pod.metadata.namespace, name: pod.metadata.labels[LABEL_VM_NAME] ?? '' });
    const vmi = world.api.get('VirtualMachineInstance', vmiKey);
    if (!vmi || vmi.spec.evictionStrategy !== 'LiveMigrate') return undefined;
    if (vmi.status.nodeName !== pod.spec.nodeName) return tooMany('Eviction request for target Pod');
    const what = `Eviction triggered evacuation of VMI "${vmiKey}"`;
    if (vmi.status.evacuationNodeName) return tooMany(`Evacuation in progress: ${what}`);
    world.api.update(VIRT_API, { ...vmi, metadata: { ...vmi.metadata, resourceVersion: 0 }, status: { ...vmi.status, evacuationNodeName: pod.spec.nodeName } });
    return tooMany(what);
  });
}

/**
 * virt-controller: the migration controller (v1.3 pkg/virt-controller/watch/migration.go)
 * and the evacuation controller (pkg/virt-controller/watch/drain/evacuation/evacuation.go),
 * sharing one informer factory; and virt-handler's side of a migration (target prepared,
 * memory copied, source shut down), driven as one process per migration.
 */
export function startKubeVirt(world: World): void {
  const api = world.api;
  const cache = new Informer(world, VIRT_CONTROLLER, ['VirtualMachineInstanceMigration', 'VirtualMachineInstance', 'Pod', 'ResourceQuota']);
  const apiRng = `${VIRT_CONTROLLER}/api`;
  const handlerRng = VIRT_HANDLER;
  /** controller.Expectations: target pods created but maybe not yet seen in the cache. */
  const podExpectations = new Map<string, string>();
  /**
   * Target pod creations not yet seen in the pod cache. v1.3 handleTargetPodCreation holds
   * migrationStartLock and re-queues after 1 s while any creation is pending, so that the
   * parallel limits are counted on a cache that includes every started migration.
   */
  const pendingCreations = new Set<string>();
  /** Evacuation's migrationExpectations: VMIMs created per node not yet observed. */
  const vmimExpectations = new Map<string, number>();
  const note = (text: () => string) => world.recorder.note(VIRT_CONTROLLER, text);
  world.stateParts.push(
    () => `kubevirt:${[...podExpectations].sort().join(',')}|${[...vmimExpectations].sort().join(',')}|${[...pendingCreations].sort().join(',')}`,
  );

  // ---- migration controller ----
  function* setScheduling(vmim: Vmim, podName: string): Process<SyncResult> {
    yield world.draw('apiCall', apiRng);
    const r = api.update(VIRT_CONTROLLER, {
      ...vmim,
      status: { ...vmim.status, phase: 'Scheduling', targetPod: podName, rejectedByResourceQuota: false },
    });
    return r.ok ? undefined : { error: r.err.message };
  }

  function backoffRemaining(vmim: Vmim): number {
    const mine = cache
      .list('VirtualMachineInstanceMigration', vmim.metadata.namespace)
      .filter((m) => m.spec.vmiName === vmim.spec.vmiName && m !== vmim && migrationFinished(m.status.phase) && m.metadata.annotations[ANN_EVACUATION] !== undefined)
      .sort((a, b) => (b.status.finishedAt ?? 0) - (a.status.finishedAt ?? 0));
    let failures = 0;
    let lastFailure = 0;
    for (const m of mine) {
      if (m.status.phase === 'Succeeded') break;
      if (failures === 0) lastFailure = m.status.finishedAt ?? 0;
      failures++;
    }
    if (failures === 0) return 0;
    return lastFailure + BACKOFF_BASE_MS * 2 ** (failures - 1) - world.now;
  }

  function* syncMigration(key: string): Process<SyncResult> {
    const vmim = cache.get('VirtualMachineInstanceMigration', key);
    if (!vmim || vmim.status.phase !== 'Pending') return undefined;
    const vmi = cache.get('VirtualMachineInstance', keyOf({ namespace: vmim.metadata.namespace, name: vmim.spec.vmiName }));
    if (!vmi) return undefined;
    const created = podExpectations.get(key);
    if (created) return yield* setScheduling(vmim, created);
    if (vmim.metadata.annotations[ANN_EVACUATION] !== undefined) {
      const wait = backoffRemaining(vmim);
      if (wait > 0) {
        note(() => `MigrationBackoff: backoff migrating vmi ${keyOf(vmi.metadata)} (${(wait / 1000).toFixed(1)}s)`);
        return { after: wait };
      }
    }
    if (pendingCreations.size > 0) return { after: 1_000 };
    let running = 0;
    let outbound = 0;
    for (const m of cache.list('VirtualMachineInstanceMigration')) {
      if (migrationFinished(m.status.phase)) continue;
      if (migrationRunning(m.status.phase) || m.status.targetPod || podExpectations.has(objKey(m))) {
        running++;
        if (m.status.sourceNode === vmi.status.nodeName) outbound++;
      }
    }
    if (running >= PARALLEL_MIGRATIONS_PER_CLUSTER || outbound >= PARALLEL_OUTBOUND_PER_NODE) {
      return { after: LIMIT_REQUEUE_MS };
    }
    pendingCreations.add(key);
    yield world.draw('apiCall', apiRng);
    const r = api.create(VIRT_CONTROLLER, launcherPod(vmi, '', vmim.metadata.uid));
    if (!r.ok) {
      pendingCreations.delete(key);
      const byQuota = r.err.message.includes('exceeded quota');
      if (byQuota) {
        world.recorder.counters.targetPodsRejectedByQuota++;
        if (!vmim.status.rejectedByResourceQuota) {
          // processMigrationPhase, case Pending: condition migrationRejectedByResourceQuota; phase stays Pending.
          yield world.draw('apiCall', apiRng);
          api.update(VIRT_CONTROLLER, { ...vmim, status: { ...vmim.status, rejectedByResourceQuota: true } });
        }
      }
      return { error: `failed to create vmi migration target pod: ${r.err.message}` };
    }
    const podName = r.obj.metadata.name;
    podExpectations.set(key, podName);
    world.kernel.spawn(migrate(key, objKey(r.obj), vmim.status.sourceNode), 0, VIRT_HANDLER);
    return yield* setScheduling(vmim, podName);
  }

  const migrations = new Controller(world, 'migration-controller', new ExponentialRateLimiter(), syncMigration, 3);

  /** Read-modify-write of a VMIM's status against the live object (virt-handler and virt-controller retry on conflict). */
  const setPhase = (key: string, change: Partial<Vmim['status']>): Vmim | undefined => {
    const cur = api.get('VirtualMachineInstanceMigration', key);
    if (!cur) return undefined;
    const r = api.update(VIRT_HANDLER, { ...cur, status: { ...cur.status, ...change } });
    return r.ok ? r.obj : undefined;
  };

  function* migrate(vmimKey: string, podKey: string, sourceNode: string): Process {
    yield world.draw('apiCall', handlerRng);
    const pod = api.get('Pod', podKey);
    if (!pod) return;
    const node = pickNode(api, pod, sourceNode);
    if (!node) {
      api.update('kube-scheduler', { ...pod, status: { ...pod.status, unschedulable: true } });
      yield UNSCHEDULABLE_TIMEOUT_MS;
      // handlePendingPodTimeout: the target pod is deleted and the migration fails.
      api.delete(VIRT_CONTROLLER, 'Pod', podKey);
      setPhase(vmimKey, { phase: 'Failed', finishedAt: world.now });
      podExpectations.delete(vmimKey);
      return;
    }
    api.update('kube-scheduler', { ...pod, spec: { ...pod.spec, nodeName: node } });
    yield world.draw('podStart', handlerRng);
    const bound = api.get('Pod', podKey);
    if (!bound) return;
    api.update('kubelet', { ...bound, status: { phase: 'Running' } });
    setPhase(vmimKey, { phase: 'Scheduled', targetNode: node });
    yield world.draw('migrationPrepare', handlerRng);
    const running = setPhase(vmimKey, { phase: 'Running' });
    if (!running) return;
    const vmiKey = keyOf({ namespace: running.metadata.namespace, name: running.spec.vmiName });
    // virt-handler records the migration in the VMI's status.migrationState first; the
    // migration controller derives the VMIM's phase from it, so the VMI is updated first.
    const started = api.get('VirtualMachineInstance', vmiKey);
    if (started) {
      api.update(VIRT_HANDLER, { ...started, metadata: { ...started.metadata, resourceVersion: 0 }, status: { ...started.status, migrationUid: running.metadata.uid, migrationCompleted: false } });
    }
    yield world.draw('migration', handlerRng);
    const vmi = api.get('VirtualMachineInstance', vmiKey);
    if (!vmi) return;
    const source = api
      .list('Pod', vmi.metadata.namespace)
      .find((p) => p.metadata.labels[LABEL_CREATED_BY] === vmi.metadata.uid && p.spec.nodeName === vmi.status.nodeName && podCountsForQuota(p));
    const { evacuationNodeName: _cleared, ...status } = vmi.status;
    api.update(VIRT_HANDLER, { ...vmi, metadata: { ...vmi.metadata, resourceVersion: 0 }, status: { ...status, nodeName: node, migrationUid: running.metadata.uid, migrationCompleted: true } });
    setPhase(vmimKey, { phase: 'Succeeded', finishedAt: world.now });
    podExpectations.delete(vmimKey);
    if (!source) return;
    // harvester/harvester#7161: the source virt-launcher keeps counting in quota until it completes.
    yield world.draw('sourceCompletion', handlerRng);
    const src = api.get('Pod', objKey(source));
    if (src) api.update('kubelet', { ...src, metadata: { ...src.metadata, resourceVersion: 0 }, status: { phase: 'Succeeded' } });
  }

  // ---- evacuation controller ----
  function* syncEvacuation(node: string): Process<SyncResult> {
    if ((vmimExpectations.get(node) ?? 0) > 0) return undefined;
    const busy = new Set<string>();
    let running = 0;
    let outbound = 0;
    for (const m of cache.list('VirtualMachineInstanceMigration')) {
      if (migrationFinished(m.status.phase)) continue;
      busy.add(keyOf({ namespace: m.metadata.namespace, name: m.spec.vmiName }));
      // FilterRunningMigrations counts IsRunning only: Pending (e.g. quota-rejected) ones do not.
      if (migrationRunning(m.status.phase)) {
        running++;
        if (m.status.sourceNode === node) outbound++;
      }
    }
    const candidates = cache
      .list('VirtualMachineInstance')
      .filter(
        (v) =>
          v.status.evacuationNodeName === node &&
          v.status.nodeName === node &&
          v.spec.evictionStrategy === 'LiveMigrate' &&
          // filterRunningNonMigratingVMIs: a VMI whose migrationState is not completed is migrating.
          !(v.status.migrationUid && !v.status.migrationCompleted) &&
          !busy.has(objKey(v)),
      );
    if (candidates.length === 0) return undefined;
    const free = Math.min(PARALLEL_MIGRATIONS_PER_CLUSTER - running, PARALLEL_OUTBOUND_PER_NODE - outbound);
    if (free <= 0) return { after: LIMIT_REQUEUE_MS };
    // Go map iteration order: which VMIs go first is not defined, so it is drawn.
    const chosen = world.choices.shuffled(`${VIRT_CONTROLLER}/evacuation-order`, candidates).slice(0, free);
    vmimExpectations.set(node, chosen.length);
    for (const vmi of chosen) {
      yield world.draw('apiCall', apiRng);
      const r = api.create(VIRT_CONTROLLER, newMigration(vmi, 'kubevirt-evacuation-', { [ANN_EVACUATION]: node }));
      if (!r.ok) {
        vmimExpectations.set(node, (vmimExpectations.get(node) ?? 1) - 1);
        return { error: r.err.message };
      }
    }
    return undefined;
  }

  const evacuation = new Controller(world, 'evacuation-controller', new ExponentialRateLimiter(), syncEvacuation);

  // ---- event handlers ----
  cache.on('VirtualMachineInstanceMigration', (old, cur) => {
    const m = (cur ?? old) as Vmim;
    migrations.enqueue(objKey(m));
    const evacNode = m.metadata.annotations[ANN_EVACUATION];
    if (!old && cur && evacNode !== undefined) {
      vmimExpectations.set(evacNode, Math.max(0, (vmimExpectations.get(evacNode) ?? 0) - 1));
    }
    evacuation.enqueue(m.status.sourceNode);
  });
  cache.on('VirtualMachineInstance', (_old, cur) => {
    const v = cur as VirtualMachineInstance | undefined;
    if (!v) return;
    if (v.status.evacuationNodeName) evacuation.enqueue(v.status.evacuationNodeName);
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
      if (!old && cur) pendingCreations.delete(objKey(m));
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

/** A new VMIM for a VMI, created by the evacuation controller or a user. */
export function newMigration(vmi: VirtualMachineInstance, generateName: string, annotations: Record<string, string> = {}): Vmim {
  return {
    kind: 'VirtualMachineInstanceMigration',
    metadata: { name: '', generateName, namespace: vmi.metadata.namespace, uid: '', resourceVersion: 0, labels: {}, annotations },
    spec: { vmiName: vmi.metadata.name },
    status: { phase: 'Pending', rejectedByResourceQuota: false, sourceNode: vmi.status.nodeName },
  };
}
