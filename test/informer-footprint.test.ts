import { describe, expect, it } from 'vitest';
import { World } from '../src/cluster/world.js';
import { DEFAULT_LATENCIES } from '../src/cluster/latency.js';
import { Informer } from '../src/cluster/informer.js';
import type { Namespace } from '../src/cluster/objects.js';
import type { ReadStore } from '../src/cluster/store.js';
import type { Footprint } from '../src/kernel/footprint.js';
import { FootprintRecorder } from '../src/explore/dependency.js';

/**
 * An informer's footprint reports, checked by FootprintRecorder's verify (what the DPOR tests run
 * with): a change of an informer's cache, stream or watch that its step did not report throws, and
 * so does a read of a cache through a store kept from an earlier step. A report is removed here by
 * a footprint that drops one resource's writes, as if the informer had not made that report.
 */
function harness() {
  const w = new World('1', DEFAULT_LATENCIES, undefined);
  const rec = new FootprintRecorder(w, true);
  const informer = new Informer(w, 'p', ['Namespace', 'ResourceQuota']);
  const h = {
    w,
    informer,
    /** The resource whose writes are not passed on to the recorder. */
    drop: undefined as string | undefined,
    /** A step outside the kernel (an API write, a lookup), recorded. */
    step(f: () => void): void {
      begin();
      f();
      rec.end();
    },
    create(name: string): void {
      const r = w.api.create('t', { kind: 'Namespace', metadata: { name, namespace: '', uid: '', resourceVersion: 0, labels: {}, annotations: {} } } satisfies Namespace);
      if (!r.ok) throw new Error(r.err.message);
    },
  };
  const dropping: Footprint = {
    read: (r) => rec.read(r),
    write: (r) => {
      if (r !== h.drop) rec.write(r);
    },
    count: (r) => rec.count(r),
  };
  function begin(): void {
    // Without a drop the recorder itself is the footprint (its read check needs that).
    w.kernel.footprint = h.drop ? dropping : rec;
    rec.begin();
  }
  // Every kernel step (a delivery) is recorded, as exhaustive exploration records a round's steps.
  w.kernel.beforeFire = begin;
  w.observe({ afterStep: () => rec.end() });
  return h;
}

describe("an informer's footprint reports, verified", () => {
  it('with every report made, a watch event, its delivery, a disconnect and a re-list pass the check', () => {
    const h = harness();
    h.step(() => h.create('a'));
    h.w.kernel.run(60_000);
    expect(h.informer.get('Namespace', 'a')?.metadata.name).toBe('a');
    h.step(() => h.informer.disconnect());
    h.step(() => h.create('b'));
    h.step(() => h.informer.relistKind('Namespace'));
    h.step(() => h.informer.relistKind('Namespace'));
    h.w.kernel.run(120_000);
    expect(h.informer.list('Namespace').map((n) => n.metadata.name)).toEqual(['a', 'b']);
  });

  it("a watch event that does not report the kind's cache, or the process, throws", () => {
    for (const drop of ['cache:p/Namespace', 'cache:p']) {
      const h = harness();
      h.drop = drop;
      expect(() => h.step(() => h.create('a'))).toThrow(`${drop} changed`);
    }
  });

  it("a delivery that does not report the kind's cache throws", () => {
    const h = harness();
    h.step(() => h.create('a'));
    h.drop = 'cache:p/Namespace';
    expect(() => h.w.kernel.run(60_000)).toThrow('cache:p/Namespace changed');
  });

  it('a disconnect or a re-list that does not report a kind throws', () => {
    const h = harness();
    h.drop = 'cache:p/ResourceQuota';
    expect(() => h.step(() => h.informer.disconnect())).toThrow('cache:p/ResourceQuota changed');
    const g = harness();
    g.step(() => g.informer.disconnect());
    g.drop = 'cache:p/Namespace';
    expect(() => g.step(() => g.informer.relistKind('Namespace'))).toThrow('cache:p/Namespace changed');
  });

  it('a cache read through a store kept from an earlier step, with no lookup in this one, throws', () => {
    const h = harness();
    h.step(() => h.create('a'));
    h.w.kernel.run(60_000);
    let kept: ReadStore<Namespace> | undefined;
    h.step(() => {
      kept = h.informer.indexed('Namespace');
      expect(kept.get('a')?.metadata.name).toBe('a');
    });
    expect(() => h.step(() => kept!.get('a'))).toThrow('cache:p/Namespace read in a step');
    // A lookup in the step reports the read; outside a recorded step nothing is checked.
    h.step(() => {
      h.informer.get('Namespace', 'a');
      expect(kept!.size).toBe(1);
    });
    expect(kept!.get('a')?.metadata.name).toBe('a');
  });
});
