import { Informer } from '../cluster/informer.js';
import type { Kind } from '../cluster/objects.js';
import { objKey } from '../cluster/objects.js';
import { LassoRateLimiter } from '../cluster/ratelimit.js';
import { Reconciler } from '../cluster/reconciler.js';
import type { Process } from '../kernel/kernel.js';
import type { World } from '../cluster/world.js';
import { ANN_RANCHER_QUOTA, parseRancherQuota } from './rancher-quota.js';
import { equal, type ResourceList } from '../cluster/resources.js';
import { isValidated, rancherQuotaSync, type QuotaDerivation } from './rancher-quota-sync.js';
import type { RancherProject } from './rancher-project.js';
import type { Namespace } from '../cluster/objects.js';
import { ERR_AGENT_DISCONNECTED, HEALTH_TIMEOUT_MS, TUNNEL_DISCONNECT, type Tunnel } from './rancher-tunnel.js';

/** The actor of the Rancher server's writes to the downstream cluster (made through the agent's tunnel). */
export const RANCHER = 'rancher';

/** Whether an actor is Rancher's quota sync (what explanations call Rancher's reset). */
export function isRancherActor(actor: string): boolean {
  return actor === RANCHER;
}

/**
 * Whether a namespace's new quota annotation changes its project's UsedLimit (the sum of its
 * namespaces' limits: resourceQuotaUsedLimitController, rancher v2.10.3 pkg/controllers/
 * managementuser/resourcequota/resource_quota_calculate_used.go calculateResourceQuotaUsed,
 * which updates the Project only when the sum differs), so that the Project event
 * re-enqueues every namespace of the project (resourceQuotaNamespacesReconcileController).
 * A new text with the same values changes nothing.
 */
function usedLimitChanges(before: string | undefined, after: string | undefined): boolean {
  if (before === after) return false;
  const a = parseRancherQuota(before)?.hard;
  const b = parseRancherQuota(after)?.hard;
  return !a || !b || !equal(a, b);
}

/** Rancher's settings for the user controllers of this cluster. */
export interface RancherOptions {
  /**
   * CATTLE_SYNC_ONLY_CHANGED_OBJECTS containing "user" (rancher v2.10.3 pkg/controllers/
   * options.go syncOnlyChangedObjects, read by pkg/types/config/context.go NewUserContext):
   * lasso v0.2.0 pkg/controller/controller.go New then enqueues an update only when the
   * resourceVersion changed, so a re-list's same-version updates enqueue nothing.
   */
  readonly syncOnlyChangedObjects?: boolean;
  /** The namespaces' project (cluster.rancher.project); undefined: the implicit one (README "Simplifications"). */
  readonly project?: RancherProject;
}

/**
 * The project's UsedLimit as resourceQuotaUsedLimitController computes it (rancher v2.10.3
 * pkg/controllers/managementuser/resourcequota/resource_quota_calculate_used.go
 * calculateProjectResourceQuota): the sum of the annotation limits of the project's
 * namespaces whose ResourceQuotaValidated condition is True (a namespace that does not fit
 * drops out); as text, one per value, so that equal sums compare equal.
 */
export function usedLimit(namespaces: Iterable<Namespace>): string {
  const sum: Record<string, number> = {};
  for (const ns of namespaces) {
    const hard = contribution(ns);
    if (hard) for (const k in hard) sum[k] = (sum[k] ?? 0) + hard[k]!;
  }
  return Object.keys(sum).sort().map((k) => `${k}=${sum[k]}`).join(',');
}

/** Each namespace version's part of UsedLimit: its annotation's limits if validated, else null. */
const contributions = new WeakMap<Namespace, ResourceList | null>();

function contribution(ns: Namespace): ResourceList | null {
  let c = contributions.get(ns);
  if (c === undefined) {
    c = isValidated(ns) ? (parseRancherQuota(ns.metadata.annotations[ANN_RANCHER_QUOTA])?.hard ?? {}) : null;
    contributions.set(ns, c);
  }
  return c;
}

/**
 * client-go v0.31.1 tools/cache/reflector.go NewReflectorWithOptions: backoffManager =
 * wait.NewExponentialBackoffManager(800ms, 30s, 2min, 2.0, 1.0): each wait is the current
 * step plus up to 100% jitter; the step doubles up to 30 s, and starts over at 800 ms when
 * the previous wait began more than 2 minutes ago (apimachinery v0.31.1 pkg/util/wait/
 * backoff.go exponentialBackoffManagerImpl.getNextBackoff, Backoff.Step, delay, Jitter).
 */
class ReflectorBackoff {
  private step = 800;
  private lastStart = 0;

  constructor(private readonly world: World, private readonly stream: string) {}

  next(): number {
    const now = this.world.now;
    if (now - this.lastStart > 120_000) this.step = 800;
    this.lastStart = now;
    const d = this.world.choices.draw(this.stream, this.step, 2 * this.step - 1);
    this.step = Math.min(this.step * 2, 30_000);
    return d;
  }

  key(): string {
    // Past 2 minutes the next wait starts over whatever the time: one state.
    const since = this.world.now - this.lastStart;
    return `${this.step}@${since > 120_000 ? 'reset' : since}`;
  }
}

/**
 * The Rancher server's user controllers for this cluster (rancher v2.10.3: pkg/clustermanager/
 * manager.go doStart → pkg/controllers/managementuser/controllers.go Register →
 * resourcequota.Register): Rancher's quota sync runs in the Rancher server, not in the
 * cluster agent, and reaches the cluster through the agents' tunnel (rancher-tunnel.ts).
 * - Its informers (Namespaces, ResourceQuotas) receive watch events after the cache lag plus
 *   the tunnel's latency; its API requests pay the tunnel's latency too.
 * - Every connection rides the carrying session. When it closes, each watch stream ends
 *   with "unable to decode an event from the watch stream: tunnel disconnect" (apimachinery
 *   v0.31.1 pkg/watch/streamwatcher.go receive → a 500 ClientWatchDecoding status), an
 *   InternalError that Reflector.watch does not retry (MaxInternalErrorRetryDuration is 0):
 *   ListAndWatch returns, wait.BackoffUntil waits the reflector's backoff (0.8–1.6 s the
 *   first time) and ListAndWatch LISTs again (client-go v0.31.1 reflector.go Run, watch).
 *   The LIST dials like any request (Tunnel.dial): through whatever session remains, at once;
 *   with none, it waits for one up to ~20–40 s. A failed LIST goes through lasso's waitHealthy
 *   (lasso v0.2.0 pkg/cache/cache.go deferredListWatcher.run, healthcheck.go pingUntilGood:
 *   a 15 s ping, 15 s sleeps, until one answers), then the backoff, then LIST again.
 * - The LIST's Replace hands every namespace to lasso's handler as an update, and lasso
 *   enqueues each (CATTLE_SYNC_ONLY_CHANGED_OBJECTS unset, pkg/controllers/options.go):
 *   syncResourceQuota runs for every namespace. Observed: rancher/rancher#44261's
 *   "watch of *v1.Namespace ended with: … tunnel disconnect".
 * - Writes dial the same way: delayed while no session exists, ErrAgentDisconnected (a
 *   returned error, re-queued by the rate limiter) if none comes within the dialer's polls.
 * - A change of a namespace's quota annotation changes its project's UsedLimit
 *   (resourceQuotaUsedLimitController) and the Project event re-enqueues every namespace of
 *   the project (resourceQuotaNamespacesReconcileController): the model takes every namespace
 *   to be in one project.
 * Not modelled: the 10 h lasso resync, user-controller restarts on cluster status changes, a
 * request cut by the carrier's loss while on its way (requests are instants).
 */
export class RancherServer {
  private readonly cache: Informer;
  private readonly backoffs = new Map<Kind, ReflectorBackoff>();
  /** Kinds whose reflector is between a broken watch and its next successful LIST, and where it is (state key). */
  private readonly relisting = new Map<Kind, { at: string; due: number }>();

  constructor(
    private readonly world: World,
    private readonly tunnel: Tunnel,
    derive: QuotaDerivation | undefined,
    opts: RancherOptions = {},
  ) {
    const cache = (this.cache = new Informer(world, RANCHER, ['Namespace', 'ResourceQuota'], 'cacheLag', 'tunnel'));
    for (const kind of cache.kinds()) this.backoffs.set(kind, new ReflectorBackoff(world, `${RANCHER}/reflector/${kind}`));
    const dialStream = `${RANCHER}/dial`;
    const sync = new Reconciler(world, {
      actor: RANCHER,
      label: `${RANCHER}/resourceQuotaSyncController`,
      limiter: new LassoRateLimiter(),
      extraLatency: 'tunnel',
      reconcile: rancherQuotaSync(cache, () => world.now, derive, opts.project),
      dial: function* () {
        return (yield* tunnel.dial(dialStream)) ? undefined : ERR_AGENT_DISCONNECTED;
      },
      // Tunnel.dial answers at once while a session is up: no generators per write then.
      connected: () => tunnel.hasSession,
    });
    const onlyChanged = opts.syncOnlyChangedObjects === true;
    const projectEvent = (): void => {
      // The Project update (through the management cluster, not the tunnel) and its event: re-sync every namespace.
      world.kernel.schedule(world.draw('apiCall', `${RANCHER}/project`), () => {
        for (const ns of cache.list('Namespace')) sync.enqueue(objKey(ns));
      }, { actor: `${RANCHER}/resourceQuotaNamespacesReconcileController` });
    };
    // With a scenario project, UsedLimit is the project's state (resourceQuotaUsedLimitController
    // runs on every Namespace event and updates the Project only when the sum differs).
    let used = opts.project ? usedLimit(cache.indexed('Namespace').values()) : '';
    // The sum over the cache as of a store version: a re-list hands every namespace to the
    // handler with the cache already complete, so one sum serves them all (not one per namespace).
    let summedAt = -1;
    let summed = used;
    const currentUsed = (): string => {
      const store = cache.indexed('Namespace');
      if (store.version !== summedAt) {
        summedAt = store.version;
        summed = usedLimit(store.values());
      }
      return summed;
    };
    cache.on('Namespace', (old, cur) => {
      if (!cur) return;
      if (!(onlyChanged && old && old.metadata.resourceVersion === cur.metadata.resourceVersion)) sync.enqueue(objKey(cur));
      if (opts.project) {
        const now = currentUsed();
        if (now !== used) {
          used = now;
          projectEvent();
        }
      } else if (old && usedLimitChanges(old.metadata.annotations[ANN_RANCHER_QUOTA], cur.metadata.annotations[ANN_RANCHER_QUOTA])) {
        // The project's UsedLimit changes, and its Project event re-syncs every namespace.
        projectEvent();
      }
    });
    tunnel.carrierLost((pod) => this.watchesBroken(pod));
    // One part per reflector (where it is between a broken watch and its next LIST, its
    // backoff): only that reflector's own steps read or move it, but for the carrier's loss,
    // which changes the tunnel too. The project's UsedLimit is read and written only by the
    // Namespace handler.
    for (const kind of cache.kinds()) {
      const backoff = this.backoffs.get(kind)!;
      world.registerState('process', `${RANCHER}/reflector/${kind}`, () => {
        const r = this.relisting.get(kind);
        return `${r ? `${r.at}${r.due ? `+${r.due - world.now}` : ''}` : ''}|${backoff.key()}`;
      });
    }
    if (opts.project) world.registerState('process', `${RANCHER}/project-used`, () => used);
  }

  /** Whether Rancher reaches the cluster now (some agent holds a session). */
  get connected(): boolean {
    return this.tunnel.hasSession;
  }

  /** The carrying session closed: every watch ends with "tunnel disconnect"; each reflector lists again. */
  private watchesBroken(pod: string): void {
    this.world.recorder.event(RANCHER, { type: 'tunnel-lost', pod, remaining: this.tunnel.order().length });
    this.cache.disconnect();
    for (const kind of this.cache.kinds()) {
      if (this.relisting.has(kind)) continue;
      this.relisting.set(kind, { at: 'start', due: 0 });
      this.world.kernel.spawn(this.reflector(kind), 0, `${RANCHER}/reflector`);
    }
  }

  /** Reflector.Run's loop after ListAndWatch returned: backoff, LIST (waitHealthy on failure), until a LIST succeeds. */
  private *reflector(kind: Kind): Process {
    const w = this.world;
    const stream = `${RANCHER}/reflector/${kind}`;
    const backoff = this.backoffs.get(kind)!;
    for (;;) {
      const wait = backoff.next();
      this.relisting.set(kind, { at: 'backoff', due: w.now + wait });
      yield wait;
      this.relisting.set(kind, { at: 'list', due: 0 });
      const dialed = yield* this.tunnel.dial(stream);
      const epoch = this.tunnel.carrierEpoch;
      if (dialed) {
        yield w.draw('apiCall', stream) + w.draw('tunnel', stream);
        // The LIST rode the carrier of its dial: it fails if that session closed meanwhile.
        if (this.tunnel.carrierEpoch === epoch) {
          const via = this.tunnel.carrier ?? '';
          const n = this.cache.relistKind(kind);
          w.recorder.event(RANCHER, { type: 'tunnel-back', kind, via, enqueued: n });
          this.relisting.delete(kind);
          return;
        }
      }
      w.recorder.event(RANCHER, { type: 'list-failed', kind, error: dialed ? TUNNEL_DISCONNECT : ERR_AGENT_DISCONNECTED });
      // lasso deferredListWatcher: a failed List calls waitHealthy → pingUntilGood.
      for (;;) {
        this.relisting.set(kind, { at: 'ping', due: 0 });
        if (yield* this.tunnel.ping(`${stream}/ping`)) break;
        this.relisting.set(kind, { at: 'sleep', due: w.now + HEALTH_TIMEOUT_MS });
        yield HEALTH_TIMEOUT_MS;
      }
    }
  }
}
