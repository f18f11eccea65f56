import type { ApiError } from '../cluster/apiserver.js';
import { Informer } from '../cluster/informer.js';
import type { KObject } from '../cluster/objects.js';
import { KINDS, objKey } from '../cluster/objects.js';
import { isPlan, writesOf, type ReconcileResult, type Write } from '../cluster/plan.js';
import { LassoRateLimiter } from '../cluster/ratelimit.js';
import { Reconciler } from '../cluster/reconciler.js';
import { describeChange } from '../cluster/describe.js';
import type { World } from '../cluster/world.js';
import type { ReconcilerDef, Strategy, View } from './api.js';
import { BUILTIN_STRATEGIES } from './builtin.js';
import { beat, heartbeatActive } from './heartbeat.js';
import { isUntrusted } from './trust.js';
import { StrategyFault } from './fault.js';
import { invalidWrite } from './validate-write.js';

export const HARVESTER = 'harvester';
/** Harvester's controller manager runs every wrangler controller with 10 workers (main.go --threadiness, THREADINESS, default 10; v1.4.1 and v1.4.2). */
const HARVESTER_THREADINESS = 10;

/**
 * Runs a strategy inside the simulated cluster as Harvester's controller manager and
 * webhook server: one informer factory (every kind), each reconciler run by the reconciler
 * runtime with lasso's rate limiter, webhooks installed as validating admission on the API
 * server. Every call into the strategy is guarded: an exception, an invalid write or a
 * mutation of what it read is the strategy's fault, named as such.
 */
export function installStrategy(world: World, strategy: Strategy): void {
  const cache = new Informer(world, HARVESTER, KINDS);
  const settings = world.settings;
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
  // Trusted by construction: resolved by a built-in's name, never loaded from a module.
  const trusted = BUILTIN_STRATEGIES.includes(strategy) && !isUntrusted(strategy);
  // In a sandbox, every step is a heartbeat for the watchdog (see heartbeat.ts).
  if (!trusted && heartbeatActive()) world.observe({ afterStep: () => beat(world.kernel.steps) });
  for (const def of strategy.reconcilers) startReconciler(world, cache, view, def, strategy.name, trusted);

  for (const wh of strategy.webhooks) {
    world.api.addAdmission(wh.kind, (actor, verb, old, obj): ApiError | undefined => {
      const msg = guarded(strategy.name, `webhook ${wh.name}`, undefined, view, (v) =>
        wh.validate({ operation: verb === 'create' ? 'CREATE' : 'UPDATE', old, object: obj, user: actor }, v),
      );
      if (msg === undefined) return undefined;
      if (typeof msg !== 'string') throw new StrategyFault(strategy.name, `webhook ${wh.name} returned ${typeof msg}; expected a denial message (string) or undefined`);
      // Harvester's webhook server answers a validator's plain error as werror.NewInternalError:
      // HTTP 500, reason InternalError (harvester v1.4.1/v1.4.2 pkg/webhook/types/admission.go
      // AdmissionHandler.admit; pkg/webhook/error/error.go). The API server keeps code and
      // reason and prefixes the message (k8s.io/apiserver pkg/admission/plugin/webhook/errors/
      // statuserror.go ToStatusErr, read at v0.34.2 as vendored by harvester/harvester: newer
      // than the 1.30/1.31 Harvester v1.4.x runs, where the same text is UNVERIFIED).
      return { code: 500, reason: 'InternalError', message: `admission webhook "${wh.name}" denied the request: ${msg}` };
    });
  }
}

/** A view that remembers every object it handed out. */
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

/** V8's messages for a write to a frozen object, with the property they name. */
const FROZEN_WRITE = /^Cannot (?:assign to read only property '([^']*)'|add property ([^,]*), object is not extensible|delete property '([^']*)')/;

/** Where in `o` a property of this name sits (the object a strategy mutated), as a path. */
function pathTo(o: unknown, prop: string, path: string, depth = 0): string | undefined {
  if (o === null || typeof o !== 'object' || depth > 8) return undefined;
  for (const [k, v] of Object.entries(o)) {
    const p = path ? `${path}.${k}` : k;
    if (k === prop) return p;
    const deeper = pathTo(v, prop, p, depth + 1);
    if (deeper) return deeper;
  }
  return undefined;
}

/**
 * Call into a strategy with its view. Stored objects are frozen, so a strategy that changes
 * what it read throws a TypeError here (strategy modules are ES modules: strict mode); the
 * call is then repeated with a tracking view (the cache has not changed) to name the object.
 */
export function guarded<T>(strategy: string, what: string, key: string | undefined, view: View, call: (v: View) => T): T {
  try {
    return call(view);
  } catch (e) {
    if (e instanceof StrategyFault) throw e;
    const m = e instanceof TypeError ? FROZEN_WRITE.exec(e.message) : null;
    if (m) {
      const prop = m[1] ?? m[2] ?? m[3] ?? '';
      const reads: KObject[] = [];
      try {
        call(trackReads(view, reads));
      } catch {
        // the same TypeError again
      }
      for (const o of reads) {
        const at = pathTo(o, prop, '');
        if (at) throw new StrategyFault(strategy, `mutated ${o.kind} ${objKey(o)} (${at}) in ${what}${key === undefined ? '' : ` on key ${key}`}: objects read from the cache are immutable; build a new one (update(obj, draft => ...))`);
      }
      throw new StrategyFault(strategy, `mutated an object it read in ${what}${key === undefined ? '' : ` on key ${key}`} (${e instanceof Error ? e.message : ''}): objects read from the cache are immutable; build a new one (update(obj, draft => ...))`);
    }
    throw new StrategyFault(strategy, `${what} threw${key === undefined ? '' : ` on key ${key}`}: ${describeThrown(e)}`);
  }
}

/** A thrown value in words, whatever it is (an Error, a string, an object whose toString throws). */
export function describeThrown(e: unknown): string {
  let text: string;
  try {
    text = e instanceof Error ? String(e.message) : String(e);
  } catch {
    // A throwing message getter or toString: still the strategy's fault, named without it.
    text = Object.prototype.toString.call(e);
  }
  // A fault is one line in the table and the log: the first line of what was thrown, capped.
  const first = text.split('\n', 1)[0]!;
  return first.length > 300 ? `${first.slice(0, 300)}…` : first;
}

const VERBS = new Set(['create', 'update', 'updateStatus', 'delete']);

function startReconciler(world: World, cache: Informer, view: View, def: ReconcilerDef, strategyName: string, trusted: boolean): void {
  const actor = `${HARVESTER}/${def.name}`;

  const reconcile = (key: string): ReconcileResult => {
    // With a trace attached, remember what the reconciler read, to say which reads were stale.
    const reads: KObject[] | undefined = world.recorder.tracing ? [] : undefined;
    const out = guarded(strategyName, `reconciler ${def.name}`, key, reads ? trackReads(view, reads) : view, (v) => def.reconcile(key, v) as ReconcileResult);
    const writes = writesOf(out);
    if (!trusted) {
      if (out !== undefined && (typeof out !== 'object' || out === null)) throw new StrategyFault(strategyName, `reconciler ${def.name} returned ${typeof out} for key ${key}; expected a write, a list of writes, a plan or undefined`);
      if (isPlan(out) && out.requeueAfter !== undefined && !(Number.isInteger(out.requeueAfter) && out.requeueAfter >= 0)) {
        throw new StrategyFault(strategyName, `reconciler ${def.name} returned requeueAfter ${String(out.requeueAfter)} for key ${key}; expected a whole number of ms >= 0`);
      }
      for (const w of writes) {
        const bad = w && VERBS.has(w.verb) ? invalidWrite(w.object) : `expected { verb: 'create' | 'update' | 'updateStatus' | 'delete', object }, got ${JSON.stringify(w)?.slice(0, 80)}`;
        if (bad) throw new StrategyFault(strategyName, `reconciler ${def.name} wrote an invalid object for key ${key}: ${bad}`);
      }
    }
    if (reads && writes.length) {
      for (const o of reads) {
        const cur = world.api.get(o.kind, objKey(o));
        if (!cur || cur.metadata.resourceVersion === o.metadata.resourceVersion) continue;
        world.recorder.event(actor, {
          type: 'stale-read',
          kind: o.kind,
          key: objKey(o),
          readRv: o.metadata.resourceVersion,
          apiRv: cur.metadata.resourceVersion,
          change: describeChange(o, cur).replace(/^update [^:]*: ?/, ''),
        });
      }
    }
    return out;
  };

  const beforeWrite = (w: Write): void => {
    if (!world.recorder.tracing || w.verb === 'create') return;
    const current = world.api.get(w.object.kind, objKey(w.object));
    if (current && current.metadata.resourceVersion !== w.object.metadata.resourceVersion) {
      world.recorder.event(actor, { type: 'stale-write', kind: w.object.kind, key: objKey(w.object), cachedRv: w.object.metadata.resourceVersion, apiRv: current.metadata.resourceVersion });
    }
  };

  const ctl = new Reconciler(world, { actor, limiter: new LassoRateLimiter(), workers: HARVESTER_THREADINESS, reconcile, beforeWrite });
  const keyFn = def.keys;
  const keys = keyFn
    ? (o: KObject): readonly string[] => guarded(strategyName, `reconciler ${def.name} keys()`, undefined, view, (v) => keyFn(o, v))
    : (o: KObject) => [objKey(o)];
  for (const kind of def.watches) {
    cache.on(kind, (old, cur) => {
      const o = cur ?? old;
      if (o) for (const k of keys(o)) ctl.enqueue(k);
    });
  }
}
