import type { Process } from '../kernel/kernel.js';
import type { World } from '../cluster/world.js';

/** The stream and actor of the tunnel's own events. */
export const TUNNEL = 'rancher/tunnel';

/**
 * clusterDialer's wait for an agent (rancher v2.10.3 pkg/dialer/factory.go clusterDialer,
 * retryOnError = true, as ToRESTConfig(…, reconnect=true) gives the user controllers in
 * pkg/clustermanager/manager.go toRecord): HasSession is polled 4 times with
 * time.Sleep(wait.Jitter(5*time.Second, 1)) = 5–10 s between polls, then ErrAgentDisconnected.
 * The nodeDialer fallback between them needs a node agent's session (cattle-node-agent, RKE1
 * only): an imported cluster has none (UNVERIFIED for Harvester's driver).
 */
const DIAL_POLLS = 4;
const DIAL_SLEEP_MS = 5_000;
/** rest.Config.Timeout of the user context (manager.go ToRESTConfig): longer than the dialer's wait, so never the one that ends it. */
export const USER_CONTEXT_TIMEOUT_MS = 45_000;
/**
 * The steve proxy's dialer (rancher v2.10.3 pkg/api/steve/proxy/proxy.go Handler.dialer):
 * 15 attempts, 1 s apart while remotedialer answers "failed to find Session for client",
 * then "lost connection to cluster".
 */
const STEVE_ATTEMPTS = 15;
const STEVE_SLEEP_MS = 1_000;
/** ErrAgentDisconnected (pkg/dialer/factory.go). */
export const ERR_AGENT_DISCONNECTED = 'cluster agent disconnected';
/** What remotedialer's Session.Close gives every connection it carried (session.go Close, v0.4.0). */
export const TUNNEL_DISCONNECT = 'tunnel disconnect';

/**
 * The Rancher server's remotedialer sessions for this cluster, one per connected agent pod,
 * in connection order (remotedialer v0.4.0 session_manager.go: `add` appends to
 * clients[clientKey], `remove` filters it in place). `getDialer` returns a dialer on
 * `sessions[0]`: every new connection of Rancher's controllers rides the earliest session
 * still open, the carrier. An existing connection stays on the session it was dialed on, and
 * since sessions are only appended, every live connection rides the current carrier. When the
 * carrier's agent goes, `remove` calls `Session.Close`, which fails every connection it
 * carries with "tunnel disconnect": every watch of Rancher's controllers breaks at once,
 * though other sessions may remain. Closing any other session breaks nothing.
 *
 * Not modelled: a Rancher server of several replicas (peer sessions), and the agent's
 * separate steve-aggregation session (taken to be up exactly when the agent's main session is).
 */
export class Tunnel {
  private readonly sessions: string[] = [];
  private readonly onCarrierLost: Array<(pod: string) => void> = [];
  /** Requests waiting for a session, by stream: where each is, and when its wait ends (state key). */
  private readonly waits = new Map<string, { at: string; due: number }>();
  /** Bumped when the carrier closes: a request sent through the old carrier failed. */
  carrierEpoch = 0;

  constructor(private readonly world: World) {
    world.registerState('script', TUNNEL, () => `${this.sessions.join(',')}|${this.carrierEpoch}|${[...this.waits].map(([s, w]) => `${s}:${w.at}+${w.due - world.now}`).sort().join(',')}`);
  }

  get hasSession(): boolean {
    return this.sessions.length > 0;
  }

  /** The agent pod whose session carries Rancher's connections (sessions[0]). */
  get carrier(): string | undefined {
    return this.sessions[0];
  }

  /** The agent pods with a session, in connection order. */
  order(): readonly string[] {
    return this.sessions;
  }

  /** Called with the closed carrier's pod whenever the carrying session closes. */
  carrierLost(fn: (pod: string) => void): void {
    this.onCarrierLost.push(fn);
  }

  /** An agent pod's process connected (remotedialer sessionManager.add). */
  connect(pod: string): void {
    if (this.sessions.includes(pod)) return;
    this.sessions.push(pod);
    this.world.recorder.event(TUNNEL, { type: 'tunnel-session', pod, change: 'opened', sessions: this.sessions.length, carrier: this.sessions[0]! });
  }

  /** An agent pod went away: its session is removed and closed (sessionManager.remove → Session.Close). */
  close(pod: string): void {
    const i = this.sessions.indexOf(pod);
    if (i < 0) return;
    this.sessions.splice(i, 1);
    this.world.recorder.event(TUNNEL, { type: 'tunnel-session', pod, change: i === 0 ? 'closed-carrier' : 'closed', sessions: this.sessions.length, carrier: this.sessions[0] ?? '' });
    if (i !== 0) return;
    this.carrierEpoch++;
    for (const fn of this.onCarrierLost) fn(pod);
  }

  /**
   * A connection through clusterDialer: true at once while a session exists; otherwise
   * HasSession is polled after each jittered 5 s sleep, true at the first poll that finds one,
   * false (ErrAgentDisconnected) after the fourth sleep. Each wait draws from `stream`.
   */
  *dial(stream: string): Process<boolean> {
    if (this.hasSession) return true;
    try {
      for (let i = 0; i < DIAL_POLLS; i++) {
        if (i > 0 && this.hasSession) return true;
        const sleep = this.world.choices.draw(stream, DIAL_SLEEP_MS, 2 * DIAL_SLEEP_MS - 1);
        this.waits.set(stream, { at: `dial${i}`, due: this.world.now + sleep });
        yield sleep;
      }
      return false;
    } finally {
      this.waits.delete(stream);
    }
  }

  /**
   * lasso v0.2.0 pkg/cache/healthcheck.go ping: one request with a 15 s context deadline
   * (defaultTimeout). It dials like any request: true if a session exists at one of the
   * dialer's polls within the deadline, else false once the deadline passes.
   */
  *ping(stream: string): Process<boolean> {
    if (this.hasSession) return true;
    const deadline = this.world.now + HEALTH_TIMEOUT_MS;
    try {
      for (let i = 0; i < DIAL_POLLS; i++) {
        const sleep = this.world.choices.draw(stream, DIAL_SLEEP_MS, 2 * DIAL_SLEEP_MS - 1);
        const at = this.world.now + sleep;
        if (at >= deadline) {
          this.waits.set(stream, { at: `ping`, due: deadline });
          yield deadline - this.world.now;
          return false;
        }
        this.waits.set(stream, { at: `ping${i}`, due: at });
        yield sleep;
        if (this.hasSession) return true;
      }
      return false;
    } finally {
      this.waits.delete(stream);
    }
  }

  /** The UI's path (steve proxy dialer): 15 attempts 1 s apart; false = "lost connection to cluster". */
  *steveDial(stream: string): Process<boolean> {
    if (this.hasSession) return true;
    try {
      for (let i = 1; i < STEVE_ATTEMPTS; i++) {
        this.waits.set(stream, { at: `steve${i}`, due: this.world.now + STEVE_SLEEP_MS });
        yield STEVE_SLEEP_MS;
        if (this.hasSession) return true;
      }
      return false;
    } finally {
      this.waits.delete(stream);
    }
  }
}

/** lasso healthcheck defaultTimeout: each ping's deadline, and the sleep between failed pings. */
export const HEALTH_TIMEOUT_MS = 15_000;
