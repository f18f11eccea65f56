import { describe, expect, it } from 'vitest';
import { formatQuantity, parseQuantity } from '../src/cluster/quantity.js';
import { randomGenome } from '../src/hunt/generate.js';
import { toScenario } from '../src/hunt/genome.js';
import { DEFAULT_SPACE } from '../src/hunt/space.js';
import { Rng } from '../src/kernel/rng.js';
import { chartUnit } from '../src/report/race.js';

/** One notation per value: what hunt writes, the report draws and the trace prints agree. */

const GI = 2 ** 30 * 1000;

describe("hunt's YAML writes quantities as the trace prints them", () => {
  it('every quota of 300 generated scenarios is in the canonical notation (formatQuantity of its value)', () => {
    let seen = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const g = randomGenome(new Rng(`quantities/${seed}`), DEFAULT_SPACE, new Set(), seed);
      const s = toScenario(g, 'q', new Set(), { horizon: '10m' }) as { cluster: { namespaces: Array<{ quota: Record<string, string> }> }; actions: Array<Record<string, { quota?: Record<string, string> }>> };
      const quotas = [...s.cluster.namespaces.map((n) => n.quota), ...s.actions.flatMap((a) => Object.values(a).flatMap((v) => (typeof v === 'object' && v && 'quota' in v && v.quota ? [v.quota] : [])))];
      for (const q of quotas) {
        for (const [key, text] of Object.entries(q)) {
          const resource = key === 'limitsCpu' ? 'limits.cpu' : 'limits.memory';
          const milli = parseQuantity(text);
          expect(milli, `${key}: ${text}`).toBeDefined();
          expect(formatQuantity(milli!, resource), `seed ${seed} ${key}`).toBe(text);
          seen++;
        }
      }
    }
    expect(seen).toBeGreaterThan(600);
  });
});

describe('parseQuantity', () => {
  it('reads a zero as zero, not -0 (toBe, Object.is and 1/x tell them apart)', () => {
    for (const zero of ['0', '0m', '0Gi', '0.0', '0e3']) expect(Object.is(parseQuantity(zero), 0), zero).toBe(true);
  });
});

describe('quota charts are drawn in the unit that keeps every value whole', () => {
  it('millicores when a value is not whole cores, cores when all are', () => {
    expect(chartUnit('limits.cpu', [6055, 8055, 6000])).toEqual({ name: 'm', milli: 1 });
    expect(chartUnit('limits.cpu', [6000, 8000])).toEqual({ name: 'cores', milli: 1000 });
    expect(chartUnit('limits.cpu', [1, 0])).toEqual({ name: 'm', milli: 1 });
  });

  it('memory in Gi, Mi, Ki, else bytes: one byte of difference stays visible', () => {
    expect(chartUnit('limits.memory', [24 * GI, 32 * GI])).toEqual({ name: 'Gi', milli: GI });
    expect(chartUnit('limits.memory', [24 * GI, 24 * GI + 2 ** 20 * 1000])).toEqual({ name: 'Mi', milli: 2 ** 20 * 1000 });
    expect(chartUnit('limits.memory', [24 * GI, 24 * GI + 1000])).toEqual({ name: 'bytes', milli: 1000 });
  });
});
