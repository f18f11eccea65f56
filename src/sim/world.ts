import { ApiServer } from '../cluster/apiserver.js';
import { Kernel } from '../kernel/kernel.js';
import { Choices, RandomSelector, type Selector } from '../kernel/choice.js';
import { RngStreams } from '../kernel/rng.js';
import type { Latencies, LatencyName } from './latency.js';
import { Recorder, type TraceSink } from './recorder.js';

/** Everything one run shares: the clock, the random streams, the API server, the recorder. */
export class World {
  readonly kernel = new Kernel();
  readonly rng: RngStreams;
  readonly recorder: Recorder;
  readonly api: ApiServer;
  /** Every scheduling, latency and timing choice of the run, logged. */
  readonly choices: Choices;
  /** Contributors to {@link stateKey}: controller memory that is not in the API server. */
  readonly stateParts: Array<() => string> = [];

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
  }

  get now(): number {
    return this.kernel.now;
  }

  /** A latency chosen on `stream` (each actor has its own, see RandomSelector). */
  draw(name: LatencyName, stream: string): number {
    const r = this.latencies[name];
    return this.choices.draw(stream, r.min, r.max);
  }
}
