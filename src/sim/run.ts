import { AgentDeployment, agentPod } from '../actors/rancher-agent.js';
import { RancherServer } from '../actors/rancher-server.js';
import { Tunnel } from '../actors/rancher-tunnel.js';
import { DRAIN, DrainLog, drainNode } from '../actors/drain.js';
import { installEvictionWebhook, launcherPod, newMigration, startKubeVirt, syncedVmiPdb } from '../actors/kubevirt.js';
import { startDisruptionController } from '../actors/disruption-controller.js';
import { startQuotaController } from '../actors/quota-controller.js';
import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, limitToHard, rancherQuotaAnnotation } from '../actors/rancher-quota.js';
import { editQuotaSpec, Intent, User } from '../actors/user.js';
import { EvictionApi } from '../cluster/eviction.js';
import { harvesterRequests } from '../cluster/launcher.js';
import type { Namespace, Node, Pod, ResourceQuota, VirtualMachineInstance } from '../cluster/objects.js';
import { keyOf, objKey, podCountsForQuota } from '../cluster/objects.js';
import { installQuotaAdmission } from '../cluster/quota-admission.js';
import { LIMITS_CPU, LIMITS_MEMORY, REQUESTS_CPU, REQUESTS_MEMORY } from '../cluster/resources.js';
import { launcherPodUsage } from '../cluster/usage.js';
import type { Action, Scenario } from '../scenario/model.js';
import type { Strategy } from '../strategies/api.js';
import { installStrategy } from '../strategies/runtime.js';
import { StrategyFault } from '../strategies/fault.js';
import type { ResourceList } from '../cluster/resources.js';
import { judge, type EndReason, type RunOutcome } from './outcome.js';
import type { TraceSink } from './recorder.js';
import { World, type StepObserver } from './world.js';
import { InvariantChecker } from './invariants.js';
import { RandomSelector, type Selector } from '../kernel/choice.js';

const SETUP = 'setup';
/** An administrator with kubectl (editQuotaSpec). */
const ADMIN = 'admin';
const OPERATOR = 'operator';

/** Events this close (ms) to the earliest ready one are concurrent: the selector orders them. */
export const DEFAULT_WINDOW_MS = 25;
/** A run this long is a runaway, not a simulation: the bundled scenarios take a few thousand steps. */
export const DEFAULT_STEP_BUDGET = 1_000_000;
/**
 * A run in which no API write has happened for this long is stopped: it can no longer
 * change. Every pending event is then a retry of something that already failed against the
 * same objects (a refused target pod, a 429 eviction, a refused edit), and every time-based
 * rule of the model that can lead to a write fires sooner (the 300 s unschedulable timeout,
 * the evacuation backoff below 10 min, the 5 min quota resync, which writes only on change).
 */
export const QUIESCENT_MS = 10 * 60_000;

/** A strategy's agentQuotaSync, with its exceptions reported as the strategy's fault. */
function guardAgentSync(strategy: Strategy): ((requested: ResourceList, existing: ResourceQuota) => ResourceList) | undefined {
  const f = strategy.agentQuotaSync;
  if (!f) return undefined;
  return (requested, existing) => {
    try {
      return f(requested, existing);
    } catch (e) {
      throw new StrategyFault(strategy.name, `agentQuotaSync threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}

export interface RunOptions {
  readonly trace?: TraceSink;
  /** Who makes the run's choices; default: the random selector with the run's seed. */
  readonly selector?: Selector;
  readonly window?: number;
  /**
   * Per action, the number of API writes expected inside its `between` window (from a pilot
   * run). With it, a window time is either uniform in time or placed right after a uniformly
   * chosen write of the window, so a write lands between two events milliseconds apart as
   * often as anywhere else (see README "Exploration").
   */
  readonly windowWrites?: readonly number[];
  /** Steps after which a run is a strategy fault (a strategy that never lets the run settle). */
  readonly stepBudget?: number;
  /** Stop here instead of the scenario's horizon (shrinking). */
  readonly horizonMs?: number;
  /** Indexes of actions left out (shrinking). */
  readonly disabled?: ReadonlySet<number>;
  /** Called with the world after setup, before the run (state hashing, tests). */
  readonly inspect?: (world: World) => void;
}

export function runOnce(scenario: Scenario, strategy: Strategy, seed: number, opts: RunOptions = {}): RunOutcome {
  const world = new World(String(seed), scenario.latencies, opts.trace, opts.selector ?? new RandomSelector(seed), opts.window ?? DEFAULT_WINDOW_MS);
  world.settings = Object.freeze({ additionalGuestMemoryOverheadRatio: scenario.harvester.overheadRatio });
  const api = world.api;
  const intent = new Intent();
  const homes = new Map<string, string>();

  // ---- the cluster at rest ----
  for (const n of scenario.nodes) {
    const node: Node = {
      kind: 'Node',
      metadata: meta(n.name, ''),
      spec: { unschedulable: false },
      status: { allocatable: { cpu: n.cpu, memory: n.memory } },
    };
    api.create(SETUP, node);
  }
  for (const ns of scenario.namespaces) {
    const annotations: Record<string, string> = scenario.rancher ? { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(ns.quota) } : {};
    api.create(SETUP, { kind: 'Namespace', metadata: { ...meta(ns.name, ''), annotations } } satisfies Namespace);
    intent.initial(ns.name, ns.quota);
    for (const vm of ns.vms) {
      const req = harvesterRequests(vm.cpu, vm.memory);
      const r = api.create(SETUP, {
        kind: 'VirtualMachineInstance',
        metadata: meta(vm.name, ns.name),
        spec: { cpu: vm.cpu, memoryLimit: vm.memory, memoryRequest: req.memory, evictionStrategy: vm.evictionStrategy },
        status: { nodeName: vm.node },
      } satisfies VirtualMachineInstance);
      if (r.ok) {
        api.create(SETUP, launcherPod(r.obj, vm.node, world.settings.additionalGuestMemoryOverheadRatio));
        // KubeVirt's disruption-budget controller keeps a PDB for every LiveMigrate VMI.
        if (vm.evictionStrategy === 'LiveMigrate') api.create(SETUP, syncedVmiPdb(r.obj));
      }
      homes.set(keyOf({ namespace: ns.name, name: vm.name }), vm.node);
    }
    for (const p of ns.pods) {
      const res = { [LIMITS_CPU]: p.cpu, [LIMITS_MEMORY]: p.memory, [REQUESTS_CPU]: p.cpu, [REQUESTS_MEMORY]: p.memory };
      api.create(SETUP, {
        kind: 'Pod',
        metadata: meta(p.name, ns.name),
        spec: { nodeName: p.node, limits: res, requests: res },
        status: { phase: 'Running' },
      } satisfies Pod);
    }
    const hard = limitToHard(ns.quota);
    const used: Record<string, number> = {};
    for (const k in hard) used[k] = 0;
    for (const p of api.list('Pod', ns.name)) {
      if (!podCountsForQuota(p)) continue;
      const u = launcherPodUsage(p);
      for (const k in hard) used[k]! += u[k] ?? 0;
    }
    const rq: ResourceQuota = {
      kind: 'ResourceQuota',
      metadata: scenario.rancher
        ? { ...meta('', ns.name), generateName: 'default-', labels: { [LABEL_DEFAULT_RQ]: 'true' } }
        : meta('quota', ns.name),
      spec: { hard },
      status: { hard, used },
    };
    api.create(SETUP, rq);
  }
  // Rancher: the cluster agent's pods (already connected) and the server's user controllers.
  let agents: AgentDeployment | undefined;
  let tunnel: Tunnel | undefined;
  let adopt: (() => void) | undefined;
  if (scenario.rancher) {
    tunnel = new Tunnel(world);
    new RancherServer(world, tunnel, guardAgentSync(strategy), { syncOnlyChangedObjects: scenario.rancher.syncOnlyChangedObjects });
    agents = new AgentDeployment(world, scenario.rancher.agentNodes.length, tunnel);
    const keys: string[] = [];
    let carrier: string | undefined;
    for (const node of scenario.rancher.agentNodes) {
      const r = api.create(SETUP, agentPod(node));
      if (!r.ok) continue;
      keys.push(objKey(r.obj));
      if (node === scenario.rancher.carrier && carrier === undefined) carrier = objKey(r.obj);
    }
    // Connected once the explorers can see the world: which one first is the run's first choice.
    adopt = () => agents!.adoptRunning(keys, carrier);
  }

  // ---- the actors ----
  const eviction = new EvictionApi(api);
  installQuotaAdmission(world);
  startQuotaController(world);
  startDisruptionController(world);
  installEvictionWebhook(world, eviction);
  startKubeVirt(world);
  installStrategy(world, strategy);
  const user = new User(world, intent, tunnel);
  const drains = new DrainLog();
  const mustMove = new Set<string>();

  // ---- the checks and the scenario's actions, as components observing every step ----
  const clock = new WriteClock(world);
  world.observe(clock);
  const slotWatches: SlotWatch[] = [];
  /** Per action: where it is ('off' when shrinking left it out, a due time, a window slot, 'fired'). */
  const actionState: Array<{ at: string; due: number }> = scenario.actions.map(() => ({ at: 'off', due: 0 }));
  world.registerState('script', 'scenario', () => {
    const now = world.now;
    return actionState.map((a) => (a.at === 'due' ? `due+${a.due - now}` : a.at)).join(',') + '|' + slotWatches.map((w) => `${w.k}:${w.seen}:${w.fired}`).join(',');
  });
  world.observe({
    // Window windowWrites count API writes: an action placed "after write k" lands between two
    // writes however close in time they are.
    afterStep() {
      if (!clock.wrote) return;
      for (const w of slotWatches) {
        if (w.fired || world.now < w.lo) continue;
        if (++w.seen >= w.k) world.kernel.schedule(0, w.fire, { actor: 'scenario' });
      }
    },
  });
  const invariants = new InvariantChecker(world);
  world.observe(invariants);
  // Actions still to come keep a quiet run alive: the cluster may be idle before them.
  let actionsLeft = scenario.actions.length - (opts.disabled?.size ?? 0);
  const pendingActions = () => actionsLeft;
  opts.inspect?.(world);
  adopt?.();
  scenario.actions.forEach((a, i) => {
    if (opts.disabled?.has(i)) return;
    const act = actionFire(a);
    const state = actionState[i]!;
    const fire = (): void => {
      actionsLeft--;
      state.at = 'fired';
      act();
    };
    const action = describeAction(a);
    if ('at' in a.timing) {
      world.recorder.event('scenario', { type: 'action-at', action, atMs: a.timing.at });
      Object.assign(state, { at: 'due', due: a.timing.at });
      world.kernel.schedule(a.timing.at, fire, { actor: 'scenario' });
      return;
    }
    const [lo, hi] = a.timing.between;
    const windowWrites = opts.windowWrites?.[i] ?? 0;
    // Placement: uniform in time (0), or right after one of the window's API writes (1).
    const placement = windowWrites > 0 ? world.choices.choose('placement', 2, 'actions') : 0;
    if (placement === 0) {
      const t = lo + world.choices.choose('timing', hi - lo + 1, 'actions');
      world.recorder.event('scenario', { type: 'action-timed', action, atMs: t, fromMs: lo, toMs: hi });
      Object.assign(state, { at: 'due', due: t });
      world.kernel.schedule(t, fire, { actor: 'scenario' });
      return;
    }
    const k = world.choices.choose('timing', windowWrites + 1, 'actions');
    world.recorder.event('scenario', { type: 'action-after-write', action, write: k, fromMs: lo, toMs: hi });
    state.at = `slot${slotWatches.length}`;
    const w: SlotWatch = { lo, k, seen: 0, fired: false, fire };
    slotWatches.push(w);
    const once = (): void => {
      if (w.fired) return;
      w.fired = true;
      fire();
    };
    w.fire = once;
    if (k === 0) world.kernel.schedule(lo, once, { actor: 'scenario' });
    else world.kernel.schedule(hi, once, { actor: 'scenario' });
  });

  function actionFire(a: Action): () => void {
    switch (a.type) {
      case 'drain':
        for (const [vmKey, node] of homes) if (node === a.node) mustMove.add(vmKey);
        return () => world.kernel.spawn(drainNode(world, eviction, a.node, drains), 0, DRAIN);
      case 'restartAgent':
        return () => {
          const pods = agents!.podKeys();
          for (const key of pods.slice(0, a.pods ?? pods.length)) api.delete(OPERATOR, 'Pod', key);
        };
      case 'rolloutAgent':
        return () => agents!.rollout();
      case 'editQuotaSpec':
        return () => world.kernel.spawn(editQuotaSpec(world, ADMIN, a.namespace, a.quota), 0, ADMIN);
      case 'editQuota':
        return () => user.edit(a.namespace, a.quota);
      case 'migrate': {
        const key = keyOf({ namespace: a.namespace, name: a.vm });
        mustMove.add(key);
        return () => {
          const vmi = api.get('VirtualMachineInstance', key);
          if (vmi) api.create(OPERATOR, newMigration(vmi, `${a.vm}-migration-`));
        };
      }
    }
  }


  const budget = opts.stepBudget ?? DEFAULT_STEP_BUDGET;
  let settled: boolean;
  try {
    settled = world.kernel.run(opts.horizonMs ?? scenario.horizonMs, () => world.kernel.steps >= budget || (world.now - clock.lastWriteAt > QUIESCENT_MS && pendingActions() === 0));
  } catch (e) {
    if (e instanceof StrategyFault) throw e.with({ seed, step: world.kernel.steps, scenario: scenario.name });
    throw e;
  }
  if (world.kernel.steps >= budget) {
    throw new StrategyFault(
      strategy.name,
      `the run did not settle within ${budget.toLocaleString('en-US')} steps (at simulated ${(world.now / 1000).toFixed(3)}s): a controller that never stops writing?`,
      seed,
      world.kernel.steps,
      scenario.name,
    );
  }
  invariants.finish(settled);
  world.recorder.counters.drainMs = drains.durationMs;
  const horizon = opts.horizonMs ?? scenario.horizonMs;
  const ended: EndReason = settled ? 'settled' : world.now >= horizon ? 'horizon' : world.kernel.parked > 0 && world.now - clock.lastWriteAt <= QUIESCENT_MS ? 'stuck' : 'quiescent';
  return judge(world, intent, homes, mustMove, settled, seed, invariants.first, ended);
}

/** Observes every step: did it write to the API server, and when was the last write. */
class WriteClock implements StepObserver {
  wrote = false;
  lastWriteAt = 0;
  private lastRv: number;

  constructor(private readonly world: World) {
    this.lastRv = world.api.resourceVersion;
  }

  afterStep(): void {
    const rv = this.world.api.resourceVersion;
    this.wrote = rv !== this.lastRv;
    this.lastRv = rv;
    if (this.wrote) this.lastWriteAt = this.world.now;
  }
}

interface SlotWatch {
  readonly lo: number;
  readonly k: number;
  seen: number;
  fired: boolean;
  fire: () => void;
}

export function describeAction(a: Action): string {
  switch (a.type) {
    case 'drain':
      return `drain ${a.node}`;
    case 'restartAgent':
      return a.pods === undefined ? 'restart the cluster agent (every pod)' : `delete ${a.pods} cluster agent pod${a.pods === 1 ? '' : 's'}`;
    case 'rolloutAgent':
      return "roll out the cluster agent's Deployment";
    case 'editQuotaSpec':
      return `administrator edits ResourceQuota spec.hard of ${a.namespace} to ${rancherQuotaAnnotation(a.quota)}`;
    case 'editQuota':
      return `user edits quota of ${a.namespace} to ${rancherQuotaAnnotation(a.quota)}`;
    case 'migrate':
      return `migrate ${a.namespace}/${a.vm}`;
  }
}

function meta(name: string, namespace: string) {
  return { name, namespace, uid: '', resourceVersion: 0, labels: {}, annotations: {} };
}
