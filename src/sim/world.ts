import { ApiServer } from '../cluster/apiserver.js';
import { Kernel } from '../kernel/kernel.js';
import { RngStreams, type Rng } from '../kernel/rng.js';
import type { Latencies, LatencyName } from './latency.js';
import { Recorder, type TraceSink } from './recorder.js';

/** Everything one run shares: the clock, the random streams, the API server, the recorder. */
export class World {
  readonly kernel = new Kernel();
  readonly rng: RngStreams;
  readonly recorder: Recorder;
  readonly api: ApiServer;

  constructor(
    seed: string,
    readonly latencies: Latencies,
    trace: TraceSink | undefined,
  ) {
    this.rng = new RngStreams(seed);
    this.recorder = new Recorder(this.kernel, trace);
    const names = this.rng.get('apiserver/names');
    const uids = this.rng.get('apiserver/uids');
    this.api = new ApiServer(this.kernel, () => names.float(), () => uids.uuid(), this.recorder);
  }

  get now(): number {
    return this.kernel.now;
  }

  /** A latency drawn from `stream` (each actor has its own, see Rng). */
  draw(name: LatencyName, stream: Rng): number {
    const r = this.latencies[name];
    return stream.int(r.min, r.max);
  }
}
