import { ApiServer } from './apiserver.js';
import { DEFAULT_OVERHEAD_RATIO } from './launcher.js';
import { Kernel } from '../kernel/kernel.js';
import { Choices, RandomSelector, type Selector } from '../kernel/choice.js';
import { RngStreams } from '../kernel/rng.js';
import type { Latencies, LatencyName } from './latency.js';
import { Recorder, type TraceSink } from './recorder.js';

/**
 * A component that must see every step (TigerBeetle's checkers): invariants, the outcome's
 * quiescence clock, window placement, pilot counters. Registered on the world, called in
 * registration order after each kernel step.
 */
export interface StepObserver {
  afterStep(): void;
}

/**
 * One part of the run's state that is not an API object: an informer cache, a workqueue and
 * its rate limiter, a reconciler's in-flight plan, a script's position. Each stateful
 * component registers its own part, under a name that says what it is; exhaustive
 * exploration's state key is their concatenation (sim/state.ts).
 */
export interface StatePart {
  /** What kind of state ("informer", "workqueue", "inflight", "script", ...), for tests that drop parts. */
  readonly kind: string;
  readonly name: string;
  /** The part's state; '' when the component is gone (a stopped process). */
  key(): string;
  /**
   * For a part that reports its own changes to exhaustive exploration's footprint: its state
   * per resource it reports them as (tests check every change was reported).
   */
  readonly parts?: (out: Map<string, string>) => void;
}

/** Everything one run shares: the clock, the random streams, the API server, the recorder. */
export class World {
  readonly kernel = new Kernel();
  readonly rng: RngStreams;
  readonly recorder: Recorder;
  readonly api: ApiServer;
  /** Every scheduling, latency and timing choice of the run, logged. */
  readonly choices: Choices;
  /** The cluster's settings (a scenario's cluster.harvester): read-only for everyone. */
  settings: Readonly<{ additionalGuestMemoryOverheadRatio: number | undefined }> = Object.freeze({ additionalGuestMemoryOverheadRatio: DEFAULT_OVERHEAD_RATIO });
  /** Every stateful component's part of the state key (see {@link StatePart}). */
  readonly state: StatePart[] = [];
  /**
   * Set by exhaustive exploration's footprint check (FootprintRecorder's verify, tests only):
   * throws when the step running reported neither a read nor a write of `resource`. A component
   * that hands out a store it reports reads of (an informer's cache) then checks every use of it.
   */
  checkRead: ((resource: string) => void) | undefined = undefined;
  private readonly observers: StepObserver[] = [];

  constructor(
    seed: string,
    readonly latencies: Latencies,
    trace: TraceSink | undefined,
    selector: Selector = new RandomSelector(Number(seed) || 0),
    window = 0,
  ) {
    this.rng = new RngStreams(seed);
    this.choices = new Choices(selector);
    this.kernel.chooser = this.choices;
    this.kernel.window = window;
    this.recorder = new Recorder(this.kernel, trace);
    const names = this.rng.get('apiserver/names');
    const uids = this.rng.get('apiserver/uids');
    this.api = new ApiServer(this.kernel, () => names.float(), () => uids.uuid(), this.recorder);
    const observers = this.observers;
    this.kernel.afterStep = () => {
      for (let i = 0; i < observers.length; i++) observers[i]!.afterStep();
    };
  }

  get now(): number {
    return this.kernel.now;
  }

  /** Call `o.afterStep()` after every kernel step, after the observers registered before it. */
  observe(o: StepObserver): void {
    this.observers.push(o);
  }

  /** Register a part of the state key. */
  registerState(kind: string, name: string, key: () => string, parts?: (out: Map<string, string>) => void): void {
    this.state.push(parts ? { kind, name, key, parts } : { kind, name, key });
  }

  /** A latency chosen on `stream` (each actor has its own, see RandomSelector). */
  draw(name: LatencyName, stream: string): number {
    const r = this.latencies[name];
    return this.choices.draw(stream, r.min, r.max);
  }
}
