import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RandomSelector, type ChoiceLog } from '../src/kernel/choice.js';
import { checkDeterminism, checkSameTwice } from '../src/explore/determinism.js';
import { runPilot } from '../src/explore/pilot.js';
import { formatRunId } from '../src/explore/run-id.js';
import type { RunSpec } from '../src/explore/shrink.js';
import { Timeline } from '../src/sim/timeline.js';
import { loadScenario } from '../src/scenario/load.js';
import type { Scenario } from '../src/scenario/model.js';
import { runOnce } from '../src/sim/run.js';
import { defineStrategy, type Strategy, type View, type Write } from '../src/strategies/api.js';
import { builtinStrategy } from '../src/strategies/builtin.js';
import { StrategyFault } from '../src/strategies/fault.js';

/**
 * The determinism checks, each on a strategy it must catch and one it must pass, in process.
 * The checks that need a strategy module in a fresh module instance (before a campaign, and on
 * each chunk's last run) load files through the build: test/strategies.test.ts and
 * test/hostile.test.ts.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const scenarioPath = (f: string) => join(ROOT, 'scenarios', f);
const load = (f: string): Scenario => loadScenario(scenarioPath(f), (n) => builtinStrategy(n) !== undefined);

/**
 * A test strategy whose one reconciler, driven by migration events (the quota alone gets no
 * events in these scenarios), rewrites the namespace's quota annotations as `edit` says
 * (undefined: no write).
 */
function quotaAnnotator(name: string, reconciler: string, edit: (annotations: Readonly<Record<string, string>>) => Record<string, string> | undefined): Strategy {
  return defineStrategy({
    name,
    description: 'test strategy',
    reconcilers: [
      {
        name: reconciler,
        watches: ['VirtualMachineInstanceMigration'],
        reconcile(key: string, view: View): Write | undefined {
          const rq = view.list('ResourceQuota', key.split('/')[0])[0];
          if (!rq) return undefined;
          const annotations = edit(rq.metadata.annotations);
          return annotations && { verb: 'update', object: { ...rq, metadata: { ...rq.metadata, annotations } } };
        },
      },
    ],
    webhooks: [],
  });
}

describe('determinism self-check', () => {
  const ANN = 'test.quotarace.io/toggle';
  /** Toggles an annotation on the quota; `decide` says whether this call writes. */
  function toggler(name: string, decide: (rqAnnotation: string | undefined) => boolean, value: () => string = () => 'on'): Strategy {
    return quotaAnnotator(name, 'toggler', (annotations) => {
      const cur = annotations[ANN];
      if (!decide(cur)) return undefined;
      const next = { ...annotations };
      if (cur === undefined) next[ANN] = value();
      else delete next[ANN];
      return next;
    });
  }

  function specFor(strategy: Strategy): { spec: RunSpec; sizes: number[]; writes: number } {
    const scenario = load('7-tiny-agent-restart.yaml');
    const pilot = runPilot(scenario, strategy, 25);
    let log: ChoiceLog | undefined;
    const timeline = new Timeline();
    runOnce(scenario, strategy, 3, { selector: new RandomSelector(3), window: 25, windowWrites: pilot.windowWrites, trace: timeline, inspect: (w) => (log = w.choices.log) });
    const writes = timeline.entries.filter((e) => e.kind === 'write' && e.actor === `harvester/toggler`).length;
    return { spec: { scenario, strategy, seed: 3, window: 25, windowWrites: pilot.windowWrites, disabled: new Set(), values: log!.values }, sizes: log!.sizes, writes };
  }

  it('catches a strategy that keeps state across runs (module-level counter)', () => {
    let calls = 0; // survives from one run to the next: not a function of the run's inputs
    // Writes the counter itself, so the second replay writes different values than the first.
    const flaky = toggler('flaky', (cur) => cur === undefined, () => String(++calls));
    const { spec, sizes, writes } = specFor(flaky);
    expect(writes).toBeGreaterThan(0);
    const det = checkDeterminism(spec, sizes);
    expect(det.deterministic).toBe(false);
    expect(det.detail.startsWith('MISMATCH')).toBe(true);
  });

  it('passes the same toggling when it is decided from the observed object (control)', () => {
    // Writes only when the annotation is absent: a function of the cache, so deterministic.
    const steady = toggler('steady', (cur) => cur === undefined);
    const { spec, sizes, writes } = specFor(steady);
    expect(writes).toBeGreaterThan(0);
    const det = checkDeterminism(spec, sizes);
    expect(det.detail).toMatch(/^ok/);
    expect(det.deterministic).toBe(true);
  });
});

describe('the same-seed check before a campaign (checkSameTwice)', () => {
  const ANN = 'test.quotarace.io/note';
  /** Annotates the quota once per migration event with `note()`: deterministic when `note` is. */
  function noting(name: string, note: () => string): Strategy {
    return quotaAnnotator(name, 'noter', (annotations) => (annotations[ANN] !== undefined ? undefined : { ...annotations, [ANN]: note() }));
  }
  const scenario = load('3-agent-restart-during-migration.yaml');

  it('a strategy that counts across runs fails it: two runs of the same seed, compared line by line, both lines quoted', () => {
    let calls = 0; // survives from the first run into the second
    const counter = noting('counter', () => String(++calls));
    let fault: unknown;
    try {
      checkSameTwice(scenario, counter, 25);
    } catch (e) {
      fault = e;
    }
    expect(fault).toBeInstanceOf(StrategyFault);
    const f = fault as StrategyFault;
    expect(f.detail).toMatch(/^is not deterministic: two runs of the same seed differ from trace line \d+:\n  first: .*test\.quotarace\.io\/note.*\n  second: .*test\.quotarace\.io\/note/);
    // The two quoted lines are the two runs' (the first wrote 1, the second 2), not one line twice.
    const [, first, second] = /\n  first:\s+(.*)\n  second:\s+(.*)\n/.exec(f.detail)!;
    expect(first).not.toBe(second);
    expect(f.run).toBe(formatRunId({ explorer: 'random', seed: scenario.seed, window: 25 }));
    expect(f.seed).toBe(scenario.seed);
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it('the same strategy passes when what it writes is a function of what it read (control)', () => {
    const steady = noting('steady', () => 'seen');
    expect(() => checkSameTwice(scenario, steady, 25)).not.toThrow();
  });

  it('built-in strategies pass', () => {
    for (const name of ['pre-fix', 'v1.4.2']) expect(() => checkSameTwice(scenario, builtinStrategy(name)!, 25)).not.toThrow();
  });
});
