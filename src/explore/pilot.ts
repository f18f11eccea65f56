import type { ChoiceKind, Selector } from '../kernel/choice.js';
import { selectorFor, type Pilot } from './run-id.js';
import type { Scheduled } from '../kernel/heap.js';
import type { Scenario } from '../scenario/model.js';
import { runOnce } from '../sim/run.js';
import type { Strategy } from '../strategies/api.js';
import type { TraceSink } from '../cluster/recorder.js';

class Observer implements Selector {
  readonly name = 'pilot';
  readonly actors = new Set<string>();
  orderChoices = 0;
  constructor(private readonly inner: Selector) {}
  choose(kind: ChoiceKind, n: number, stream: string, ready?: readonly Scheduled[]): number {
    if (kind === 'order' && ready) {
      this.orderChoices++;
      for (const e of ready) this.actors.add(e.actor);
    }
    return this.inner.choose(kind, n, stream, ready);
  }
}

/** One random run at the scenario's own seed, measured. Deterministic. `trace`: its timeline (trace shows a fault raised in it). */
export function runPilot(scenario: Scenario, strategy: Strategy, window: number, trace?: TraceSink): Pilot {
  const obs = new Observer(selectorFor({ explorer: 'random', seed: scenario.seed, window }, undefined));
  const windows = scenario.actions.map((a) => ('between' in a.timing ? a.timing.between : undefined));
  const counts = windows.map(() => 0);
  const outcome = runOnce(scenario, strategy, scenario.seed, {
    selector: obs,
    window,
    ...(trace ? { trace } : {}),
    inspect: (world) => {
      let rv = world.api.resourceVersion;
      world.observe({
        afterStep() {
          const t = world.now;
          if (world.api.resourceVersion === rv) return;
          rv = world.api.resourceVersion;
          windows.forEach((w, i) => {
            if (w && t >= w[0] && t <= w[1]) counts[i]!++;
          });
        },
      });
    },
  });
  return { windowWrites: counts, actors: [...obs.actors].sort(), orderChoices: obs.orderChoices, steps: outcome.steps };
}
