import type { Footprint } from '../kernel/footprint.js';
import type { Process } from '../kernel/kernel.js';
import type { LatencyName } from './latency.js';
import type { World } from './world.js';
import type { ApiResult } from './apiserver.js';
import type { KObject } from './objects.js';
import { objKey } from './objects.js';
import { isPlan, writesOf, type AnyResult, type ControllerPlan, type PlannedWrite, type Write } from './plan.js';
import type { RateLimiter } from './ratelimit.js';
import { WorkQueue } from './workqueue.js';
import { stateJson } from './state-text.js';

/**
 * controller.Expectations (client-go/kubevirt pkg/controller/expectations.go): per key, how
 * many creations a controller has made but not yet seen in its cache. Part of the state key.
 */
export class Expectations {
  /** Per key, the creations not yet seen; a key met again keeps its entry at 0 (no Map churn per creation). */
  private readonly pending = new Map<string, number>();
  private total = 0;

  /**
   * `footprint`: where reads and writes are reported (exhaustive exploration), as parts of
   * `resource`: `<resource>/<key>` per key, `<resource>` for the total.
   */
  constructor(
    private readonly footprint: () => Footprint | undefined = () => undefined,
    private readonly resource = 'expectations',
  ) {}

  private touch(key: string, write: boolean): void {
    const fp = this.footprint();
    if (!fp) return;
    if (!write) return fp.read(`${this.resource}/${key}`);
    fp.write(`${this.resource}/${key}`);
    fp.write(this.resource);
  }

  raise(key: string, n = 1): void {
    this.touch(key, true);
    this.pending.set(key, (this.pending.get(key) ?? 0) + n);
    this.total += n;
  }

  /** CreationObserved, or a creation that failed or was never sent. */
  lower(key: string): void {
    const n = this.pending.get(key);
    if (!n) return;
    this.touch(key, true);
    this.pending.set(key, n - 1);
    this.total--;
  }

  satisfied(key: string): boolean {
    this.touch(key, false);
    return !this.pending.get(key);
  }

  /** AllPendingCreations. */
  get count(): number {
    this.footprint()?.read(this.resource);
    return this.total;
  }

  /** Per part of the footprint, its state now (see WorkQueue.footprintParts). */
  footprintParts(out: Map<string, string>): void {
    for (const [k, n] of this.pending) if (n > 0) out.set(`${this.resource}/${k}`, String(n));
    out.set(this.resource, String(this.total));
  }

  stateKey(): string {
    const parts: string[] = [];
    for (const [k, n] of this.pending) if (n > 0) parts.push(`${k}#${n}`);
    return parts.sort().join(',');
  }
}

export interface ReconcilerOptions {
  /** The actor the writes are made as. */
  readonly actor: string;
  /** The workers' label (what PCT prioritises) and reconcile-latency stream; default: actor. */
  readonly label?: string;
  /** The stream API latencies are drawn from; default: label + "/api". */
  readonly apiStream?: string;
  /** A second latency each request pays (a tunnel to the API server). */
  readonly extraLatency?: LatencyName;
  /**
   * Each request first gets a connection this way (a dialer that may wait, Rancher's through
   * the agents' tunnel): undefined once connected, or why it could not connect (the request
   * fails with 503 and the key is re-queued with the rate limiter).
   */
  readonly dial?: () => Process<string | undefined>;
  readonly limiter: RateLimiter;
  /** Concurrent workers (MaxConcurrentReconciles / threadiness). */
  readonly workers?: number;
  readonly reconcile: (key: string) => AnyResult;
  /**
   * Called before each write of a plan is sent, with the object as sent: user strategies get
   * stale-write notes here when traced.
   */
  readonly beforeWrite?: (w: Write) => void;
}

const NO_WRITES: readonly PlannedWrite[] = [];
/** sync's outcomes that carry no delay. */
const FAILED = { error: true, after: 0 } as const;

interface InFlight {
  /** Whether a worker holds the key now (the entry is kept between passes, to be reused). */
  active: boolean;
  /** -1 while the worker spends the reconcile latency; else the index of the next write. */
  next: number;
  writes: readonly PlannedWrite[];
  /** When the worker's pending step is due. */
  due: number;
}

/**
 * The reconciler runtime (controller-runtime's pkg/internal/controller): it owns the
 * workqueue, the workers, the rate-limited retries and requeues, and performs a plan's
 * writes with the API latency before each. A reconciler only reads its cache and returns a
 * plan. The same runtime runs the cluster's controllers (kube-controller-manager's quota
 * controller, Rancher's quota sync, KubeVirt's migration and evacuation controllers) and
 * every strategy's reconcilers.
 */
export class Reconciler {
  readonly queue: WorkQueue;
  readonly expectations: Expectations;
  private busy = 0;
  private readonly label: string;
  private readonly workStream: string;
  private readonly apiStream: string;
  /** Per key reconciled so far, its pass (a workqueue gives a key to one worker at a time). */
  private readonly inflight = new Map<string, InFlight>();
  /** How many entries of `inflight` are active. */
  private active = 0;
  alive = true;

  constructor(
    private readonly world: World,
    private readonly opts: ReconcilerOptions,
  ) {
    this.label = opts.label ?? opts.actor;
    this.workStream = `${this.label}/work`;
    // Each controller draws its own latencies, also two controllers of one process.
    this.apiStream = opts.apiStream ?? `${this.label}/api`;
    this.queue = new WorkQueue(world.kernel, opts.limiter, () => this.kick(), this.label);
    this.expectations = new Expectations(() => world.kernel.footprint, `${this.queue.resource}~expectations`);
    this.busyResource = `${this.queue.resource}#busy`;
    // Every change of this part is reported, by the queue's parts (WorkQueue.resource): a key's
    // pass by the key's part, the workers by #busy, expectations by their own. Exhaustive
    // exploration's dependency relation relies on it rather than comparing keys at every step;
    // `parts` lets its tests check every change was reported.
    world.registerState('reconciler', this.label, () => (this.alive ? this.stateKey() : ''), (out) => this.footprintParts(out));
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  stop(): void {
    this.alive = false;
    this.queue.shut();
  }

  private readonly busyResource: string;

  private footprintParts(out: Map<string, string>): void {
    if (!this.alive) return;
    this.queue.footprintParts(out);
    this.expectations.footprintParts(out);
    out.set(this.busyResource, String(this.busy));
    const now = this.world.now;
    for (const [k, f] of this.inflight) {
      if (!f.active) continue;
      const part = `${this.queue.resource}/${k}`;
      out.set(part, `${out.get(part) ?? ''}@${f.next}+${f.due - now}:${f.writes.length}`);
    }
  }

  private stateKey(): string {
    const now = this.world.now;
    let s = `${this.busy}|${this.queue.stateKey()}|${this.opts.limiter.stateKey()}|${this.expectations.stateKey()}`;
    if (this.active > 0) {
      const parts: string[] = [];
      for (const [k, f] of this.inflight) {
        if (!f.active) continue;
        const rest = f.next < 0 ? '' : stateJson(f.writes.slice(f.next));
        parts.push(`${k}@${f.next}+${f.due - now}:${rest}`);
      }
      s += `|${parts.sort().join(';')}`;
    }
    return s;
  }

  private kick(): void {
    this.world.kernel.footprint?.write(this.busyResource);
    if (!this.alive || this.busy >= (this.opts.workers ?? 1)) return;
    this.busy++;
    this.world.kernel.spawn(this.work(), 0, this.label);
  }

  private *work(): Process {
    const world = this.world;
    for (;;) {
      const key = this.queue.get();
      if (key === undefined || !this.alive) break;
      const latency = world.draw('reconcile', this.workStream);
      let f = this.inflight.get(key);
      if (f) {
        f.next = -1;
        f.writes = NO_WRITES;
        f.due = world.now + latency;
      } else this.inflight.set(key, (f = { active: true, next: -1, writes: NO_WRITES, due: world.now + latency }));
      f.active = true;
      this.active++;
      yield latency;
      this.queue.touchKey(key);
      if (!this.alive) break;
      const r = yield* this.sync(key, f);
      f.active = false;
      this.active--;
      if (r === undefined) this.queue.forget(key);
      else if (r.error) this.queue.addRateLimited(key);
      else {
        this.queue.forget(key);
        this.queue.addAfter(key, r.after);
      }
      this.queue.done(key);
    }
    // Workers leaving commute with each other (the count ends the same), not with a kick.
    this.world.kernel.footprint?.count(this.busyResource);
    this.busy--;
  }

  private *sync(key: string, f: InFlight): Process<{ error: boolean; after: number } | undefined> {
    const result = this.opts.reconcile(key);
    if (result !== undefined && (result as ControllerPlan).event !== undefined && isPlan(result)) this.world.recorder.event(this.opts.actor, (result as ControllerPlan).event!);
    const writes = writesOf(result);
    f.writes = writes;
    for (const w of writes) if (w.expect !== undefined) this.expectations.raise(w.expect);
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i]!;
      f.next = i;
      const dialErr = this.opts.dial ? yield* this.opts.dial() : undefined;
      this.queue.touchKey(key);
      const latency = this.requestLatency();
      f.due = this.world.now + latency;
      yield latency;
      this.queue.touchKey(key);
      if (w.event) this.world.recorder.event(this.opts.actor, w.event);
      // Only strategies watch their writes, and a strategy's writes are never patches.
      if (w.verb !== 'patch') this.opts.beforeWrite?.(w as Write);
      const r = dialErr === undefined ? this.perform(w) : this.world.api.refuse(this.opts.actor, w.verb, w.object.kind, objKey(w.object), { code: 503, reason: 'Unavailable', message: dialErr });
      if (r.ok) continue;
      for (let j = i; j < writes.length; j++) if (writes[j]!.expect !== undefined) this.expectations.lower(writes[j]!.expect!);
      const orElse = w.orElse;
      if (orElse && r.err.message.includes(orElse.when)) {
        f.writes = orElse.writes;
        for (let j = 0; j < orElse.writes.length; j++) {
          f.next = j;
          const l = this.requestLatency();
          f.due = this.world.now + l;
          yield l;
          this.queue.touchKey(key);
          this.perform(orElse.writes[j]!);
        }
      }
      return FAILED;
    }
    if (isPlan(result)) {
      if (result.error !== undefined) return FAILED;
      if (result.requeueAfter !== undefined) return { error: false, after: result.requeueAfter };
    }
    return undefined;
  }

  /** The latency of one request: an API round trip, plus the tunnel's when there is one. */
  private requestLatency(): number {
    const l = this.world.draw('apiCall', this.apiStream);
    return this.opts.extraLatency ? l + this.world.draw(this.opts.extraLatency, this.apiStream) : l;
  }

  private perform(w: PlannedWrite): ApiResult<KObject> {
    const api = this.world.api;
    const actor = this.opts.actor;
    switch (w.verb) {
      case 'create':
        return api.create(actor, w.object);
      case 'update':
        return api.update(actor, w.object);
      case 'updateStatus':
        return api.updateStatus(actor, w.object);
      case 'delete':
        return api.delete(actor, w.object.kind, objKey(w.object));
      case 'patch':
        return api.patch(actor, w.object.kind, objKey(w.object), w.patch ?? []);
    }
  }
}
