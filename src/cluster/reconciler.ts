import type { Footprint } from '../kernel/footprint.js';
import { PARK, type Process, type ScheduleOptions } from '../kernel/kernel.js';
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
  /** Per key, the creations not yet seen; a key whose creations have all been seen has no entry. */
  private readonly pending = new Map<string, number>();
  private total = 0;

  /**
   * `kernel.footprint`: where reads and writes are reported (exhaustive exploration), as parts
   * of `resource`: `<resource>/<key>` per key, `<resource>` for the total.
   */
  constructor(
    private readonly kernel: { readonly footprint?: Footprint | undefined } = {},
    private readonly resource = 'expectations',
  ) {}

  private touch(key: string, write: boolean): void {
    const fp = this.kernel.footprint;
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
    if (n === 1) this.pending.delete(key);
    else this.pending.set(key, n - 1);
    this.total--;
  }

  satisfied(key: string): boolean {
    this.touch(key, false);
    return !this.pending.get(key);
  }

  /** AllPendingCreations. */
  get count(): number {
    this.kernel.footprint?.read(this.resource);
    return this.total;
  }

  /** Per part of the footprint, its state now (see WorkQueue.footprintParts). */
  footprintParts(out: Map<string, string>): void {
    for (const [k, n] of this.pending) out.set(`${this.resource}/${k}`, String(n));
    out.set(this.resource, String(this.total));
  }

  stateKey(): string {
    const parts: string[] = [];
    for (const [k, n] of this.pending) parts.push(`${k}#${n}`);
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
  /**
   * Whether `dial` would connect at once (undefined, without waiting or drawing): the request
   * then skips it (Rancher's tunnel while a session is up, nearly always).
   */
  readonly connected?: () => boolean;
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

/** Where a worker is: each is what its next kernel event does. */
const enum Phase {
  /** Just started: take a key. */
  Start,
  /** Has spent the reconcile latency: reconcile and start the plan. */
  Reconciled,
  /** Waits inside `dial` (its generator). */
  Dialing,
  /** Has spent a write's API latency: send it. */
  Sending,
  /** Has spent an orElse write's latency: send it. */
  SendingElse,
}

/**
 * One worker (a goroutine of processNextWorkItem), as a state machine on the kernel: each
 * kernel event runs `step` once, which does what the phase says and schedules the next.
 * No generator per worker or pass: a controller's passes are most of a run's events.
 * Its pass is part of the state key while `active`.
 */
class Worker {
  phase = Phase.Start;
  /** Whether it holds `key` now. */
  active = false;
  key = '';
  /** -1 while the worker spends the reconcile latency; else the index of the next write. */
  next = -1;
  writes: readonly PlannedWrite[] = NO_WRITES;
  /** When the worker's pending step is due. */
  due = 0;
  /** The pass's reconcile result (its requeue), while the pass runs. */
  result: AnyResult = undefined;
  /** Why the current write's dial failed, or undefined. */
  dialErr: string | undefined = undefined;
  dialing: Process<string | undefined> | undefined = undefined;
  readonly step: () => void;

  constructor(r: Reconciler) {
    this.step = () => r.advance(this);
  }
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
  /** The workers' count, as exhaustive exploration's footprint names it. */
  private readonly busyResource: string;
  private readonly label: string;
  private readonly workStream: string;
  private readonly apiStream: string;
  /** The workers' events' options (their label). */
  private readonly stepOpts: ScheduleOptions;
  /** Every worker made so far (at most `workers`): a finished one waits in `idle` to be reused. */
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  /** How many workers hold a key. */
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
    this.stepOpts = { actor: this.label };
    this.queue = new WorkQueue(world.kernel, opts.limiter, () => this.kick(), this.label);
    this.expectations = new Expectations(world.kernel, `${this.queue.resource}~expectations`);
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

  private footprintParts(out: Map<string, string>): void {
    if (!this.alive) return;
    this.queue.footprintParts(out);
    this.expectations.footprintParts(out);
    out.set(this.busyResource, String(this.busy));
    const now = this.world.now;
    for (const f of this.workers) {
      if (!f.active) continue;
      const part = `${this.queue.resource}/${f.key}`;
      out.set(part, `${out.get(part) ?? ''}@${f.next}+${f.due - now}:${f.writes.length}`);
    }
  }

  private stateKey(): string {
    const now = this.world.now;
    let s = `${this.busy}|${this.queue.stateKey()}|${this.opts.limiter.stateKey()}|${this.expectations.stateKey()}`;
    if (this.active > 0) {
      const parts: string[] = [];
      for (const f of this.workers) {
        if (!f.active) continue;
        const rest = f.next < 0 ? '' : stateJson(f.writes.slice(f.next));
        parts.push(`${f.key}@${f.next}+${f.due - now}:${rest}`);
      }
      s += `|${parts.sort().join(';')}`;
    }
    return s;
  }

  private kick(): void {
    this.world.kernel.footprint?.write(this.busyResource);
    if (!this.alive || this.busy >= (this.opts.workers ?? 1)) return;
    this.busy++;
    let w = this.idle.pop();
    if (!w) this.workers.push((w = new Worker(this)));
    w.phase = Phase.Start;
    this.world.kernel.schedule(0, w.step, this.stepOpts);
  }

  /** A worker's kernel event. */
  advance(w: Worker): void {
    // Every step of a pass changes the pass, which is the key's part of the footprint.
    if (w.phase !== Phase.Start) this.queue.touchKey(w.key);
    switch (w.phase) {
      case Phase.Start:
        return this.take(w);
      case Phase.Reconciled:
        if (!this.alive) return this.exit(w);
        return this.plan(w);
      case Phase.Dialing:
        return this.dial(w);
      case Phase.Sending:
        return this.send(w);
      case Phase.SendingElse:
        this.perform(w.writes[w.next]!);
        return this.sendElse(w, w.next + 1);
    }
  }

  /** processNextWorkItem: take the next key and spend the reconcile latency; none left, the worker ends. */
  private take(w: Worker): void {
    const key = this.queue.get();
    if (key === undefined || !this.alive) return this.exit(w);
    const latency = this.world.draw('reconcile', this.workStream);
    w.key = key;
    w.next = -1;
    w.writes = NO_WRITES;
    w.due = this.world.now + latency;
    w.active = true;
    this.active++;
    this.wait(w, Phase.Reconciled, latency);
  }

  private exit(w: Worker): void {
    // Workers leaving commute with each other (the count ends the same), not with a kick.
    this.world.kernel.footprint?.count(this.busyResource);
    this.busy--;
    this.idle.push(w);
  }

  private wait(w: Worker, phase: Phase, ms: number): void {
    w.phase = phase;
    this.world.kernel.schedule(ms, w.step, this.stepOpts);
  }

  /** Reconcile the key; its writes follow one by one, each after its dial and API latency. */
  private plan(w: Worker): void {
    const result = this.opts.reconcile(w.key);
    if (result !== undefined && (result as ControllerPlan).event !== undefined && isPlan(result)) this.world.recorder.event(this.opts.actor, (result as ControllerPlan).event!);
    const writes = writesOf(result);
    w.result = result;
    w.writes = writes;
    for (const x of writes) if (x.expect !== undefined) this.expectations.raise(x.expect);
    this.write(w, 0);
  }

  /** Write `i` of the plan: dial, then its latency; past the last, the pass ends as the result says. */
  private write(w: Worker, i: number): void {
    const writes = w.writes;
    if (i >= writes.length) {
      const result = w.result;
      if (isPlan(result)) {
        if (result.error !== undefined) return this.finish(w, true, undefined);
        if (result.requeueAfter !== undefined) return this.finish(w, false, result.requeueAfter);
      }
      return this.finish(w, false, undefined);
    }
    w.next = i;
    w.dialErr = undefined;
    if (this.opts.dial && !this.opts.connected?.()) {
      w.dialing = this.opts.dial();
      return this.dial(w);
    }
    this.spend(w, Phase.Sending);
  }

  /** Run the dialer until it waits (a kernel event later) or answers. */
  private dial(w: Worker): void {
    const r = w.dialing!.next();
    if (!r.done) {
      // A dialer that parks is never woken (nothing holds its wake-up), as a parked process.
      if (r.value === PARK) {
        this.world.kernel.parked++;
        return;
      }
      return this.wait(w, Phase.Dialing, r.value);
    }
    w.dialing = undefined;
    w.dialErr = r.value;
    this.spend(w, Phase.Sending);
  }

  /** The request's latency before the write at `w.next` (or orElse write) is sent. */
  private spend(w: Worker, phase: Phase): void {
    const latency = this.requestLatency();
    w.due = this.world.now + latency;
    this.wait(w, phase, latency);
  }

  private send(w: Worker): void {
    const i = w.next;
    const writes = w.writes;
    const x = writes[i]!;
    if (x.event) this.world.recorder.event(this.opts.actor, x.event);
    // Only strategies watch their writes, and a strategy's writes are never patches.
    if (x.verb !== 'patch') this.opts.beforeWrite?.(x as Write);
    const r = w.dialErr === undefined ? this.perform(x) : this.world.api.refuse(this.opts.actor, x.verb, x.object.kind, objKey(x.object), { code: 503, reason: 'Unavailable', message: w.dialErr });
    if (r.ok) return this.write(w, i + 1);
    for (let j = i; j < writes.length; j++) if (writes[j]!.expect !== undefined) this.expectations.lower(writes[j]!.expect!);
    const orElse = x.orElse;
    if (orElse && r.err.message.includes(orElse.when)) {
      w.writes = orElse.writes;
      return this.sendElse(w, 0);
    }
    this.finish(w, true, undefined);
  }

  /** The refused write's orElse writes, each after its latency (no dial); then the pass failed. */
  private sendElse(w: Worker, j: number): void {
    if (j >= w.writes.length) return this.finish(w, true, undefined);
    w.next = j;
    this.spend(w, Phase.SendingElse);
  }

  /**
   * The pass is over: a failure re-queues the key with the rate limiter, a requeue after its
   * delay; then the worker takes the next key, in the same event.
   */
  private finish(w: Worker, failed: boolean, after: number | undefined): void {
    const key = w.key;
    w.active = false;
    w.result = undefined;
    this.active--;
    if (failed) this.queue.addRateLimited(key);
    else {
      this.queue.forget(key);
      if (after !== undefined) this.queue.addAfter(key, after);
    }
    this.queue.done(key);
    this.take(w);
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
