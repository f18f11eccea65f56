import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { LIMITS_CPU } from '../src/cluster/resources.js';
import type { ResourceQuota } from '../src/cluster/objects.js';
import { loadScenario } from '../src/scenario/load.js';
import { runOnce } from '../src/sim/run.js';
import { update } from '../src/strategies/api.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

const scenario = loadScenario(resolve(__dirname, '../scenarios/7-tiny-agent-restart.yaml'), () => true);

describe('stored objects are immutable', () => {
  it('every version the API server stores, and so every object an informer hands out, is deeply frozen', () => {
    let checked = 0;
    runOnce(scenario, builtinStrategy('v1.4.2')!, 1, {
      inspect: (w) => {
        w.observe({
          afterStep() {
            for (const rq of w.api.list('ResourceQuota')) {
              expect(Object.isFrozen(rq)).toBe(true);
              expect(Object.isFrozen(rq.metadata.annotations)).toBe(true);
              expect(Object.isFrozen(rq.spec.hard)).toBe(true);
              expect(Object.isFrozen(rq.status.used)).toBe(true);
              checked++;
            }
          },
        });
      },
    });
    expect(checked).toBeGreaterThan(100);
    const rq = (() => {
      let q: ResourceQuota | undefined;
      runOnce(scenario, builtinStrategy('v1.4.2')!, 1, { inspect: (w) => (q = w.api.list('ResourceQuota')[0]) });
      return q!;
    })();
    expect(() => {
      (rq.spec.hard as Record<string, number>)[LIMITS_CPU] = 1;
    }).toThrow(TypeError);
  });

  it('update() gives a changed copy that keeps the resourceVersion and shares what it did not touch', () => {
    let rq: ResourceQuota | undefined;
    runOnce(scenario, builtinStrategy('v1.4.2')!, 1, { inspect: (w) => (rq = w.api.list('ResourceQuota')[0]) });
    const before = rq!.spec.hard[LIMITS_CPU]!;
    const next = update(rq!, (d) => {
      d.spec.hard[LIMITS_CPU] = before + 1000;
    });
    expect(next).not.toBe(rq);
    expect(next.spec.hard[LIMITS_CPU]).toBe(before + 1000);
    expect(rq!.spec.hard[LIMITS_CPU]).toBe(before);
    expect(next.metadata).toBe(rq!.metadata);
    expect(next.status).toBe(rq!.status);
    expect(next.metadata.resourceVersion).toBe(rq!.metadata.resourceVersion);
  });
});
