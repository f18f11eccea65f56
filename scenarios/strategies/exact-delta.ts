/**
 * An example of a user-written strategy: a design put on trial against the real ones.
 *
 * "exact-delta" keeps v1.4.2's idea (spec.hard = the user's base + the deltas of running
 * migrations, recomputed level-triggered) and changes two things:
 *   1. the delta is what the target pod really asks for: the VMI's limits plus KubeVirt's
 *      overhead (v1.4.2's delta) plus the virt-launcher's console-log container, 15m CPU
 *      and 60M memory, which v1.4.2 leaves out, so a quota with less headroom than that
 *      still admits the target pod;
 *   2. the quota controller also runs on Namespace events, so a quota event that arrives
 *      before the namespace cache has the user's new annotation is corrected when it does.
 *
 * Run it: npx quotarace run scenarios/9-user-strategy.yaml
 * The module default-exports defineStrategy({...}); it is loaded without a build step.
 */
import {
  ANN_MIGRATING_UID_PREFIX,
  ANN_SKIP_AUTOSCALING,
  LIMITS_CPU,
  LIMITS_MEMORY,
  defaultQuota,
  defineStrategy,
  encodeDelta,
  hardWithDeltas,
  isEmptyQuota,
  keyOf,
  limitsDiffer,
  migratingDeltas,
  namespaceValidator,
  objKey,
  rancherBase,
  vmiDelta,
  withAnnotations,
  type KObject,
  type View,
  type Write,
} from 'quotarace';

/** The console-log container's limits (kubevirt serialconsolelog.go), in milli-units. */
const CONSOLE_LOG_CPU = 15;
const CONSOLE_LOG_MEMORY = 60_000_000 * 1000;

/** On Pending, record the migration's delta on the quota; at the end, remove it. Annotations only. */
function recordMigration(key: string, view: View): Write | undefined {
  const vmim = view.get('VirtualMachineInstanceMigration', key);
  if (!vmim) return undefined;
  const vmi = view.get('VirtualMachineInstance', keyOf({ namespace: vmim.metadata.namespace, name: vmim.spec.vmiName }));
  const rq = defaultQuota(view, vmim.metadata.namespace);
  if (!vmi || !rq) return undefined;
  const uidKey = ANN_MIGRATING_UID_PREFIX + vmi.metadata.uid;
  const a = rq.metadata.annotations;
  const phase = vmim.status.phase;
  if (phase === 'Succeeded' || phase === 'Failed') {
    if (a[uidKey] === undefined) return undefined;
    const { [uidKey]: _gone, ...rest } = a;
    return { verb: 'update', object: withAnnotations(rq, rest) };
  }
  if (phase !== 'Pending' || a[uidKey] !== undefined || a[ANN_SKIP_AUTOSCALING] === 'true' || isEmptyQuota(rq)) return undefined;
  const base = vmiDelta(vmi, view.settings.additionalGuestMemoryOverheadRatio);
  const delta = {
    [LIMITS_CPU]: (base[LIMITS_CPU] ?? 0) + CONSOLE_LOG_CPU,
    [LIMITS_MEMORY]: (base[LIMITS_MEMORY] ?? 0) + CONSOLE_LOG_MEMORY,
  };
  return { verb: 'update', object: withAnnotations(rq, { ...a, [uidKey]: encodeDelta(delta) }) };
}

/** spec.hard = the user's base + Σ deltas, for limits.cpu and limits.memory; written only if different. */
function keepQuota(key: string, view: View): Write | undefined {
  const rq = view.get('ResourceQuota', key);
  if (!rq || rq.metadata.annotations[ANN_SKIP_AUTOSCALING] === 'true' || isEmptyQuota(rq)) return undefined;
  const base = rancherBase(view.get('Namespace', rq.metadata.namespace));
  if (!base) return undefined;
  const hard = hardWithDeltas(base, migratingDeltas(rq), { onto: rq.spec.hard });
  return limitsDiffer(hard, rq.spec.hard) ? { verb: 'update', object: { ...rq, spec: { hard } } } : undefined;
}

/** Namespace events enqueue the namespace's quota; quota events enqueue the quota itself. */
function quotaKeys(o: KObject, view: View): string[] {
  if (o.kind !== 'Namespace') return [objKey(o)];
  const rq = defaultQuota(view, o.metadata.name);
  return rq ? [objKey(rq)] : [];
}

export default defineStrategy({
  name: 'exact-delta',
  description: 'v1.4.2 with a delta that matches the target pod (console-log container included) and a quota controller that also watches namespaces.',
  reconcilers: [
    { name: 'migration-recorder', watches: ['VirtualMachineInstanceMigration'], reconcile: recordMigration },
    { name: 'quota-keeper', watches: ['ResourceQuota', 'Namespace'], keys: quotaKeys, reconcile: keepQuota },
  ],
  webhooks: [namespaceValidator('v1.4.2')],
});
