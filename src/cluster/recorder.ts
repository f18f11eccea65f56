import type { ApiError, ApiObserver, Verb } from './apiserver.js';
import type { Kind, KObject } from './objects.js';
import type { SimEvent } from './events.js';

/** The counters every run reports (see README "Outcomes"). */
export interface Counters {
  targetPodsRejectedByQuota: number;
  conflicts: number;
  editsRefused: number;
  agentRestarts: number;
  /** Simulated ms from the first drain to the last drained node being empty; -1 if no drain or never. */
  drainMs: number;
}

export function emptyCounters(): Counters {
  return { targetPodsRejectedByQuota: 0, conflicts: 0, editsRefused: 0, agentRestarts: 0, drainMs: -1 };
}

/** Where a run's timeline goes; the run only formats text when one is attached. */
export interface TraceSink {
  /** `step` is the kernel step during which it happened. */
  write(t: number, actor: string, verb: Verb, old: KObject | undefined, cur: KObject | undefined, step?: number): void;
  refused(t: number, actor: string, verb: Verb, kind: Kind, key: string, err: ApiError, step?: number): void;
  event(t: number, actor: string, event: SimEvent, step?: number): void;
  /** An informer cache received a watch event (only for sinks that show deliveries). */
  delivered?(t: number, cache: string, kind: Kind, key: string, rv: number | undefined, step?: number): void;
}

/**
 * A migration target pod refused by ResourceQuota admission: a create by virt-controller (its
 * only pod creation) refused as exceeding quota. What Counters.targetPodsRejectedByQuota counts.
 */
export function isTargetPodQuotaRefusal(actor: string, verb: Verb, err: ApiError): boolean {
  return err.exceededQuota === true && verb === 'create' && actor === 'virt-controller';
}

/** Counts what the outcome needs and forwards to an optional trace. */
export class Recorder implements ApiObserver {
  readonly counters: Counters = emptyCounters();

  constructor(
    private readonly clock: { readonly now: number; readonly steps: number },
    readonly trace: TraceSink | undefined,
  ) {}

  written(actor: string, verb: Verb, old: KObject | undefined, cur: KObject | undefined): void {
    this.trace?.write(this.clock.now, actor, verb, old, cur, this.clock.steps);
  }

  refused(actor: string, verb: Verb, kind: Kind, key: string, err: ApiError): void {
    if (err.reason === 'Conflict') this.counters.conflicts++;
    else if (isTargetPodQuotaRefusal(actor, verb, err)) this.counters.targetPodsRejectedByQuota++;
    this.trace?.refused(this.clock.now, actor, verb, kind, key, err, this.clock.steps);
  }

  /** Whether anything listens to events: callers skip building costly ones otherwise. */
  get tracing(): boolean {
    return this.trace !== undefined;
  }

  delivered(cache: string, kind: Kind, key: string, rv: number | undefined): void {
    this.trace?.delivered?.(this.clock.now, cache, kind, key, rv, this.clock.steps);
  }

  event(actor: string, event: SimEvent): void {
    this.trace?.event(this.clock.now, actor, event, this.clock.steps);
  }
}
