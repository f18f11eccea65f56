import { DRAIN, DrainLog, drainNode } from '../actors/drain.js';
import { installEvictionWebhook, newMigration, startKubeVirt } from '../actors/kubevirt.js';
import { startDisruptionController } from '../actors/disruption-controller.js';
import { startQuotaController } from '../actors/quota-controller.js';
import { editQuotaSpec, User } from '../actors/user.js';
import { EvictionApi } from '../cluster/eviction.js';
import { keyOf } from '../cluster/objects.js';
import { installQuotaAdmission } from '../cluster/quota-admission.js';
import type { Action, Scenario } from '../scenario/model.js';
import type { Strategy } from '../strategies/api.js';
import { installStrategy } from '../strategies/runtime.js';
import { StrategyFault } from '../strategies/fault.js';
import { judge, type EndReason, type RunOutcome } from './outcome.js';
import type { TraceSink } from '../cluster/recorder.js';
import { World } from '../cluster/world.js';
import { InvariantChecker } from './invariants.js';
import { clusterAtRest, startRancher } from './at-rest.js';
import { describeAction, scenarioScript, WriteClock } from './script.js';
import { RandomSelector, type Selector } from '../kernel/choice.js';

export { describeAction };

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
  const { intent, homes } = clusterAtRest(world, scenario);
  const { agents, tunnel, adopt } = startRancher(world, scenario, strategy);

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
  const script = scenarioScript(world, scenario, clock, opts);
  const invariants = new InvariantChecker(world);
  world.observe(invariants);
  opts.inspect?.(world);
  adopt?.();
  script.schedule(actionFire);

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
    settled = world.kernel.run(opts.horizonMs ?? scenario.horizonMs, () => world.kernel.steps >= budget || (world.now - clock.lastWriteAt > QUIESCENT_MS && script.pendingActions() === 0));
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

