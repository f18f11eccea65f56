import { rancherQuotaAnnotation } from '../actors/rancher-quota.js';
import type { StepObserver, World } from '../cluster/world.js';
import type { Action, Scenario } from '../scenario/model.js';

/** Observes every step: did it write to the API server, and when was the last write. */
export class WriteClock implements StepObserver {
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

/**
 * The scenario's actions as a component of the run: their place in the state key, the watch
 * that fires an action placed after the k-th API write of its window, and (schedule) each
 * action's time or slot, chosen when the run starts.
 */
export function scenarioScript(
  world: World,
  scenario: Scenario,
  clock: WriteClock,
  opts: { readonly disabled?: ReadonlySet<number>; readonly windowWrites?: readonly number[] },
): { pendingActions: () => number; schedule(actionFire: (a: Action) => () => void): void } {
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
  // Actions still to come keep a quiet run alive: the cluster may be idle before them.
  let actionsLeft = scenario.actions.length - (opts.disabled?.size ?? 0);
  const pendingActions = () => actionsLeft;
  return {
    pendingActions,
    schedule(actionFire) {
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
    },
  };
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
