import type { ApiError } from '../cluster/apiserver.js';
import { Controller, type SyncResult } from '../cluster/controller.js';
import { Informer } from '../cluster/informer.js';
import { DEFAULT_OVERHEAD_RATIO } from '../cluster/launcher.js';
import type { KObject } from '../cluster/objects.js';
import { KINDS, objKey } from '../cluster/objects.js';
import { LassoRateLimiter } from '../cluster/ratelimit.js';
import type { Process } from '../kernel/kernel.js';
import { describeChange } from '../report/describe.js';
import { StrategyFault } from './fault.js';
import { invalidWrite } from './validate-write.js';
import { BUILTIN_STRATEGIES } from './builtin.js';
import type { World } from '../sim/world.js';
import type { ReconcilerDef, Strategy, View, Write } from './api.js';

export const HARVESTER = 'harvester';

/**
 * Runs a strategy inside the simulated cluster as Harvester's controller manager and
 * webhook server: one informer factory (every kind), one lasso workqueue per reconciler,
 * webhooks installed as validating admission on the API server.
 */
export function installStrategy(world: World, strategy: Strategy): void {
  const cache = new Informer(world, HARVESTER, KINDS);
  const settings = Object.freeze({ additionalGuestMemoryOverheadRatio: DEFAULT_OVERHEAD_RATIO });
  const view: View = {
    get now() {
      return world.now;
    },
    get: (kind, key) => cache.get(kind, key),
    list: (kind, ns) => cache.list(kind, ns),
    settings,
  };

  // Built-in strategies are this package's code, covered by its tests: their writes skip
  // the shape check that guards against a user strategy's bugs (it is the costliest step).
  const trusted = BUILTIN_STRATEGIES.includes(strategy);
  for (const def of strategy.reconcilers) startReconciler(world, cache, view, def, strategy.name, trusted);

  for (const wh of strategy.webhooks) {
    world.api.addAdmission(wh.kind, (actor, verb, old, obj): ApiError | undefined => {
      let msg: string | undefined;
      try {
        msg = wh.validate({ operation: verb === 'create' ? 'CREATE' : 'UPDATE', old, object: obj, user: actor }, view);
      } catch (e) {
        throw new StrategyFault(strategy.name, `webhook ${wh.name} threw: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (msg === undefined) return undefined;
      if (typeof msg !== 'string') throw new StrategyFault(strategy.name, `webhook ${wh.name} returned ${typeof msg}; expected a denial message (string) or undefined`);
      return { code: 400, reason: 'Forbidden', message: `admission webhook "${wh.name}" denied the request: ${msg}` };
    });
  }
}

function trackReads(view: View, reads: KObject[]): View {
  return {
    get now() {
      return view.now;
    },
    get: (kind, key) => {
      const o = view.get(kind, key);
      if (o) reads.push(o);
      return o;
    },
    list: (kind, ns) => {
      const l = view.list(kind, ns);
      reads.push(...l);
      return l;
    },
    settings: view.settings,
  };
}

function startReconciler(world: World, cache: Informer, view: View, def: ReconcilerDef, strategyName: string, trusted: boolean): void {
  const actor = `${HARVESTER}/${def.name}`;
  const rng = `${actor}/api`;

  function* sync(key: string): Process<SyncResult> {
    // With a trace attached, remember what the reconciler read, to say which reads were stale.
    const reads: KObject[] | undefined = world.recorder.trace ? [] : undefined;
    let out: ReturnType<ReconcilerDef['reconcile']>;
    try {
      out = def.reconcile(key, reads ? trackReads(view, reads) : view);
    } catch (e) {
      throw new StrategyFault(strategyName, `reconciler ${def.name} threw on key ${key}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const writes: readonly Write[] = out === undefined ? [] : Array.isArray(out) ? out : [out as Write];
    if (!trusted) for (const w of writes) {
      const bad = w && (w.verb === 'update' || w.verb === 'create') ? invalidWrite(w.object) : `expected { verb: 'update' | 'create', object }, got ${JSON.stringify(w)?.slice(0, 80)}`;
      if (bad) throw new StrategyFault(strategyName, `reconciler ${def.name} wrote an invalid object for key ${key}: ${bad}`);
    }
    if (reads && writes.length) {
      for (const o of reads) {
        const cur = world.api.get(o.kind, objKey(o));
        if (!cur || cur.metadata.resourceVersion === o.metadata.resourceVersion) continue;
        world.recorder.note(actor, () => `read stale ${o.kind} ${objKey(o)} (rv ${o.metadata.resourceVersion}; the API server has rv ${cur.metadata.resourceVersion}: ${describeChange(o, cur).replace(/^update [^:]*: ?/, '')})`);
      }
    }
    for (const w of writes) {
      yield world.draw('apiCall', rng);
      const current = world.api.get(w.object.kind, objKey(w.object));
      if (current && current.metadata.resourceVersion !== w.object.metadata.resourceVersion) {
        world.recorder.note(actor, () => `writes ${w.object.kind} ${objKey(w.object)} built from cached rv ${w.object.metadata.resourceVersion}; the API server is at rv ${current.metadata.resourceVersion}`);
      }
      const r = w.verb === 'create' ? world.api.create(actor, w.object) : world.api.update(actor, w.object);
      if (!r.ok) return { error: r.err.message };
    }
    return undefined;
  }

  const ctl = new Controller(world, actor, new LassoRateLimiter(), sync);
  const keyFn = def.keys;
  const keys = keyFn
    ? (o: KObject, v: View): readonly string[] => {
        try {
          return keyFn(o, v);
        } catch (e) {
          throw new StrategyFault(strategyName, `reconciler ${def.name} keys() threw: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    : (o: KObject) => [objKey(o)];
  for (const kind of def.watches) {
    cache.on(kind, (old, cur) => {
      const o = cur ?? old;
      if (o) for (const k of keys(o, view)) ctl.enqueue(k);
    });
  }
}
