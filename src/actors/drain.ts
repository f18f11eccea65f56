import type { EvictionApi } from '../cluster/eviction.js';
import { keyOf, objKey } from '../cluster/objects.js';
import { PARK, type Process } from '../kernel/kernel.js';
import type { World } from '../cluster/world.js';

export const DRAIN = 'harvester-maintenance';
/** kubectl drain evictPods: "error when evicting pods ... (will retry after 5s)". */
const EVICT_RETRY_MS = 5_000;
/** drain.go waitForDelete polls every second. */
const DELETE_POLL_MS = 1_000;

/** Tracks every drain of a run for the drain-time counter. */
export class DrainLog {
  private firstStart = -1;
  private lastEnd = -1;
  private open = 0;

  started(t: number): void {
    if (this.firstStart < 0) this.firstStart = t;
    this.open++;
  }

  finished(t: number): void {
    this.open--;
    this.lastEnd = Math.max(this.lastEnd, t);
  }

  /** Simulated ms from the first drain's start to the last drain's end; -1 if none, or one never finished. */
  get durationMs(): number {
    if (this.firstStart < 0 || this.open > 0) return -1;
    return this.lastEnd - this.firstStart;
  }
}

/**
 * Harvester's maintenance mode (pkg/util/drainhelper/helper.go DrainNode) on the kubectl
 * drain library (staging/src/k8s.io/kubectl/pkg/drain/drain.go): cordon, then evict every
 * pod of the node in parallel; a 429 is retried after 5 s; after an accepted eviction it
 * waits for the pod to be gone. VMIs keep evacuating after Harvester's 240 s drain timeout
 * (evacuationNodeName is already set); this model keeps retrying until the node is empty.
 * A virt-launcher pod passes kubectl's filters (drain/filters.go: it has a controller, the VMI,
 * so unreplicatedFilter lets it go; its emptyDir passes localStorageFilter because Harvester
 * sets DeleteEmptyDirData; read at k8s.io/kubectl v0.34.2 as vendored by harvester/harvester
 * HEAD; v0.30.3, which Harvester v1.4.2 pins, has the same evictPods: one goroutine per pod,
 * each retrying every 5 s; its filters were not re-read there),
 * so the pod of an evictionStrategy None VM is evicted like any other: virt-api lets it
 * through and no PDB guards it, and the eviction deletes it (the VM stops). Harvester's
 * maintainModeStrategyFilter, which skips VMs labelled to be shut down instead, is not
 * modelled (no scenario labels a VM so).
 */
export function* drainNode(world: World, eviction: EvictionApi, node: string, log: DrainLog): Process {
  const api = world.api;
  const stream = `${DRAIN}/${node}`;
  /**
   * Per pod of the node: where its eviction loop is, a state part of its own (only that loop
   * moves or reads it, so loops of different pods touch different parts).
   */
  const positions = new Map<string, { at: string; since: number }>();
  const position = (podKey: string, at: string): void => {
    if (!positions.has(podKey)) {
      world.registerState('process', `${DRAIN}/${node}/${podKey}`, () => {
        const p = positions.get(podKey)!;
        return p.at === 'parked' ? `${p.at}@${p.since - world.now}` : p.at;
      });
    }
    positions.set(podKey, { at, since: world.now });
  };
  let stage = 'cordon';
  world.registerState('script', `${DRAIN}/${node}`, () => stage);
  log.started(world.now);
  yield world.draw('apiCall', stream);
  for (;;) {
    const n = api.get('Node', node);
    if (!n) return;
    const r = api.update(DRAIN, { ...n, spec: { unschedulable: true } });
    if (r.ok) break;
    yield world.draw('apiCall', stream);
  }
  stage = 'evict';
  const pods = api.indexed('Pod').select('node', node);
  let remaining = pods.length;
  const finish = (): void => {
    if (--remaining === 0) log.finished(world.now);
  };
  if (remaining === 0) log.finished(world.now);
  // A parked loop waits for a change to its pod, its VMI or any PDB. One watcher per kind for
  // the whole drain hands each change to the loops it concerns, in the order the loops started
  // (the order their own watchers would have been called in), instead of every loop's watchers
  // seeing every write: a drain of hundreds of pods would otherwise pay pods × writes.
  interface Waiter {
    readonly podKey: string;
    readonly onChange: (key: string) => void;
  }
  const waiters: Waiter[] = [];
  /** The waiters by pod key and VMI key (a write's key is matched against both, whatever its kind). */
  const byKey = new Map<string, Waiter[]>();
  let unwatchAll: Array<() => void> | undefined;
  const changed = (key: string): void => {
    const ws = byKey.get(key);
    if (ws) for (const w of ws) w.onChange(key);
  };
  const register = (podKey: string, vmiKey: string | undefined, onChange: (key: string) => void): (() => void) => {
    const w: Waiter = { podKey, onChange };
    const keys = vmiKey === undefined || vmiKey === podKey ? [podKey] : [podKey, vmiKey];
    waiters.push(w);
    for (const k of keys) {
      let ws = byKey.get(k);
      if (!ws) byKey.set(k, (ws = []));
      ws.push(w);
    }
    unwatchAll ??= [
      api.watch('Pod', (o, c) => changed(keyOf((c ?? o)!.metadata))),
      api.watch('VirtualMachineInstance', (o, c) => changed(keyOf((c ?? o)!.metadata))),
      // A PodDisruptionBudget's disruptionsAllowed decides an eviction too.
      api.watch('PodDisruptionBudget', () => {
        for (const x of waiters) x.onChange(x.podKey);
      }),
    ];
    return () => {
      waiters.splice(waiters.indexOf(w), 1);
      for (const k of keys) {
        const ws = byKey.get(k)!;
        ws.splice(ws.indexOf(w), 1);
        if (ws.length === 0) byKey.delete(k);
      }
      if (waiters.length > 0 || !unwatchAll) return;
      for (const u of unwatchAll) u();
      unwatchAll = undefined;
    };
  };
  for (const p of pods) evictLoop(objKey(p), finish);

  /**
   * kubectl retries a refused eviction every 5 s. A retry against the same pod, VMI and PDBs
   * gets the same 429, so instead of stepping through those no-op retries the loop parks until
   * one of them changes, then resumes at the next 5 s tick after its last attempt:
   * the attempt that can succeed happens exactly when polling would have made it.
   */
  function evictLoop(podKey: string, done: () => void): void {
    const pod = api.get('Pod', podKey);
    const vmiKey = pod?.metadata.labels['vm.kubevirt.io/name'] ? `${pod.metadata.namespace}/${pod.metadata.labels['vm.kubevirt.io/name']}` : undefined;
    let lastAttempt = 0;
    let waiting = false;
    position(podKey, 'evict');
    let wake: ((d: number) => void) | undefined;
    const onChange = (key: string): void => {
      if (!waiting || (key !== podKey && key !== vmiKey)) return;
      // The write that wakes the loop changes the loop's state (exhaustive exploration's
      // footprint): two writes that could each wake it conflict.
      world.kernel.footprint?.write(`part:process/${DRAIN}/${node}/${podKey}`);
      waiting = false;
      const since = world.now - lastAttempt;
      wake?.(Math.max(0, Math.ceil(Math.max(since, 1) / EVICT_RETRY_MS) * EVICT_RETRY_MS - since));
    };
    const unwatch = register(podKey, vmiKey, onChange);
    function* loop(): Process {
      for (;;) {
        yield world.draw('apiCall', stream);
        lastAttempt = world.now;
        const r = eviction.evict(DRAIN, podKey);
        if (r.ok || r.err.code === 404) break;
        if (r.err.code !== 429) {
          unwatch();
          position(podKey, 'gave-up');
          return;
        }
        waiting = true;
        position(podKey, 'parked');
        yield PARK;
        position(podKey, 'evict');
      }
      unwatch();
      position(podKey, 'wait-delete');
      while (api.get('Pod', podKey)) yield DELETE_POLL_MS;
      position(podKey, 'done');
      done();
    }
    wake = world.kernel.spawn(loop(), 0, DRAIN);
  }
}
