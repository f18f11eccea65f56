import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { explore } from '../explore/exhaustive.js';
import { runPilot } from '../explore/pilot.js';
import { WorkerPool } from '../explore/pool.js';
import { tallyScenario, DEFAULT_CAMPAIGN, type CampaignOptions } from '../explore/campaign.js';
import { Kernel } from '../kernel/kernel.js';
import { RandomSelector, withoutChoiceLog } from '../kernel/choice.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import { runOnce } from '../sim/run.js';
import { builtinStrategy } from '../strategies/builtin.js';
import { measurePoolVsProcesses, poolLines, poolShare } from './pool-window.js';
import { scaledIncident } from './scenarios.js';

/**
 * `npm run bench`: throughput, the bare-kernel floor, scaling and memory, each a median of
 * repetitions measured in this one process. Never asserted in tests: the numbers are for
 * the note and for regressions spotted by a person.
 */
const REPS = 5;
const INCIDENT = 'scenarios/1-incident-7178.yaml';
const STRATEGY = 'pre-fix';
/** Exhaustive exploration of the incident stops after this many runs (explored + pruned). */
const EXHAUSTIVE_CAP = 400;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function load(): { scenario: Scenario; text: string } {
  return { scenario: loadScenario(INCIDENT, (n) => builtinStrategy(n) !== undefined), text: readFileSync(INCIDENT, 'utf8') };
}

/** Runs `runs` seeds in this thread; returns [seconds, events]. */
function runSerial(scenario: Scenario, runs: number, windowWrites: readonly number[]): [number, number] {
  const strategy = builtinStrategy(STRATEGY)!;
  let events = 0;
  const t0 = performance.now();
  // As a campaign tallies a run: no choice log (nothing replays it).
  for (let s = 1; s <= runs; s++) events += runOnce(scenario, strategy, s, { selector: new RandomSelector(s), window: 25, windowWrites, inspect: withoutChoiceLog }).steps;
  return [(performance.now() - t0) / 1000, events];
}

async function throughput(scenario: Scenario, text: string, workers: number, runs: number): Promise<number> {
  const opts: CampaignOptions = { ...DEFAULT_CAMPAIGN, runs, seed: 1, evidenceLimit: 0 };
  const pool = new WorkerPool(workers);
  try {
    await tallyScenario(scenario, text, [builtinStrategy(STRATEGY)!], opts, pool, { from: 1, to: 1 + Math.min(runs, workers * 8) }); // warm the workers
    const t0 = performance.now();
    await tallyScenario(scenario, text, [builtinStrategy(STRATEGY)!], opts, pool, { from: 1, to: 1 + runs });
    return runs / ((performance.now() - t0) / 1000);
  } finally {
    await pool.close();
  }
}

/**
 * The floor: the same event sequence on the bare kernel. One run is recorded as the tree of
 * who scheduled what after how long; replaying it fires the same events in the same order
 * with no model behind them: no objects, no copies, no caches.
 */
function floorEventsPerSecond(scenario: Scenario, windowWrites: readonly number[]): { eps: number; events: number } {
  const strategy = builtinStrategy(STRATEGY)!;
  const children: number[][] = [[]];
  const delays: number[] = [0];
  const proto = Kernel.prototype as unknown as { schedule: Kernel['schedule']; step: Kernel['step'] };
  const origSchedule = proto.schedule;
  const origStep = proto.step;
  let current = 0;
  const ids = new WeakMap<() => void, number>();
  proto.schedule = function (this: Kernel, delay, fire, opts) {
    const id = delays.length;
    delays.push(delay);
    children.push([]);
    children[current]!.push(id);
    const wrapped = (): void => {
      const prev = current;
      current = id;
      try {
        fire();
      } finally {
        current = prev;
      }
    };
    ids.set(wrapped, id);
    origSchedule.call(this, delay, wrapped, opts);
  };
  try {
    runOnce(scenario, strategy, 1, { selector: new RandomSelector(1), window: 25, windowWrites });
  } finally {
    proto.schedule = origSchedule;
    proto.step = origStep;
  }
  const events = delays.length - 1;
  const times: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const k = new Kernel();
    const fire = (id: number) => (): void => {
      for (const c of children[id]!) k.schedule(delays[c]!, fire(c));
    };
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) {
      fire(0)();
      k.run(Number.MAX_SAFE_INTEGER);
    }
    times.push((performance.now() - t0) / 1000 / 50);
  }
  return { eps: events / median(times), events };
}

/**
 * The kernel alone where it chooses: about 13 pending events, a 25 ms window, some events
 * on two chains, a chooser picking at random (the incident's shape: 3.5 events in a
 * window, a choice on every other step). Returns steps per second.
 */
function kernelChoosing(steps: number): number {
  const k = new Kernel();
  k.window = 25;
  let s = 1;
  const rand = (n: number): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % n;
  };
  k.chooser = { order: (ready) => rand(ready.length) };
  let left = steps;
  const chains = [0, 0, 0, k.chainId('a'), k.chainId('b')];
  const fire = (): void => {
    if (left-- > 0) k.schedule(rand(60), fire, { actor: 'x', chain: chains[rand(5)]! });
  };
  for (let i = 0; i < 13; i++) fire();
  const t0 = performance.now();
  while (k.step());
  return k.steps / ((performance.now() - t0) / 1000);
}

/** A target's line: met or not, with the measured ratio against the target. */
interface Target {
  name: string;
  measured: string;
  met: boolean;
}
const targets: Target[] = [];
function target(name: string, met: boolean, measured: string): string {
  targets.push({ name, measured, met });
  return `${met ? 'met' : 'NOT MET'}: ${measured}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const cores = availableParallelism();
  console.log(`quotarace bench: npm run bench · node ${process.version} · ${cores} cores (${process.platform}/${process.arch}) · ${REPS} repetitions per figure, medians`);
  const { scenario, text } = load();
  const pilot = runPilot(scenario, builtinStrategy(STRATEGY)!, 25);

  // 1. One thread: interleavings/s and events/s.
  const serial: Array<[number, number]> = [];
  for (let r = 0; r < REPS; r++) serial.push(runSerial(scenario, 200, pilot.windowWrites));
  const ips1 = median(serial.map(([s]) => 200 / s));
  const eps1 = median(serial.map(([s, e]) => e / s));
  console.log(`\nincident-7178, ${STRATEGY}, random exploration`);
  console.log(`  1 thread:         ${fmt(ips1)} interleavings/s, ${fmt(eps1)} events/s (${fmt(eps1 / ips1)} events per interleaving)`);

  // 2. Worker pool: 1 worker vs all cores.
  const w1: number[] = [];
  const wAll: number[] = [];
  for (let r = 0; r < REPS; r++) {
    w1.push(await throughput(scenario, text, 1, 400));
    wAll.push(await throughput(scenario, text, cores, 400 * cores));
  }
  console.log(`  pool, 1 worker:   ${fmt(median(w1))} interleavings/s`);
  console.log(`  pool, ${cores} workers:  ${fmt(median(wAll))} interleavings/s  (${fmt(median(wAll) / median(w1), 2)}× one worker)`);

  // The machine's own ceiling: the same seeds in separate processes started together, and
  // the pool's campaign over them, over one wall-clock window each (src/bench/pool-window.ts).
  const windows = await measurePoolVsProcesses(cores);
  for (const line of poolLines(windows)) console.log(line);
  const share = poolShare(windows);
  console.log(`  pool of ${cores} vs ${cores} processes: ${fmt(100 * share)}% (median of ${windows.reps.length} repetitions)  ` + target(`pool of ${cores} workers ≥ 90% of ${cores} separate processes, same window`, share >= 0.9, `${fmt(100 * share)}% (target ≥ 90%; median of ${windows.reps.length} repetitions)`));

  // 3. The bare-kernel floor.
  const floor = floorEventsPerSecond(scenario, pilot.windowWrites);
  const floorRatio = floor.eps / eps1;
  console.log(`  bare kernel:      ${fmt(floor.eps)} events/s for the same ${fmt(floor.events)}-event sequence; the model costs ${fmt(floorRatio, 1)}× the floor`);
  const kc: number[] = [];
  for (let r = 0; r < REPS; r++) kc.push(kernelChoosing(500_000));
  console.log(`  kernel choosing:  ${fmt(median(kc))} steps/s (the kernel alone with a 25 ms window and a chooser)`);
  console.log(`  model vs floor:   ` + target('the model within 5× of the bare-kernel floor', floorRatio <= 5, `${fmt(floorRatio, 1)}× (target ≤ 5×)`));

  // 4. Scaling with the scenario's size.
  console.log('\nscaling (pre-fix, drain of node-1, 90% quota), ms per interleaving and events per interleaving:');
  let base = 0;
  const perEvent = new Map<number, number>();
  for (const [vms, nodes] of [
    [4, 2],
    [16, 8],
    [64, 32],
  ] as const) {
    const sc = scaledIncident(vms, nodes);
    const pl = runPilot(sc, builtinStrategy(STRATEGY)!, 25);
    const runs = vms >= 64 ? 10 : 40;
    const reps: Array<[number, number]> = [];
    for (let r = 0; r < REPS; r++) reps.push(runSerial(sc, runs, pl.windowWrites));
    const ms = median(reps.map(([s]) => (s * 1000) / runs));
    const ev = median(reps.map(([, e]) => e / runs));
    if (!base) base = ms;
    perEvent.set(vms, (ms * 1000) / ev);
    console.log(`  ${String(vms).padStart(2)} VMs, ${String(nodes).padStart(2)} nodes: ${fmt(ms, 2)} ms, ${fmt(ev)} events (${fmt(ms / base, 1)}× the 4-VM cost, ${fmt((ms * 1000) / ev, 2)} µs/event)`);
  }

  const perEventRatio = perEvent.get(64)! / perEvent.get(16)!;
  console.log(`  per event, 64 VMs vs 16 VMs: ` + target('per-event cost at 64 VMs within 1.5× of 16 VMs', perEventRatio <= 1.5, `${fmt(perEventRatio, 2)}× (${fmt(perEvent.get(64)!, 2)} vs ${fmt(perEvent.get(16)!, 2)} µs; target ≤ 1.5×)`));

  // 5. Memory: results are aggregated as they stream, so 10× the runs must not need 10× the memory.
  const peak = async (runs: number): Promise<number> => {
    globalThis.gc?.();
    let max = process.memoryUsage().heapUsed;
    const timer = setInterval(() => (max = Math.max(max, process.memoryUsage().heapUsed)), 5);
    const opts: CampaignOptions = { ...DEFAULT_CAMPAIGN, runs, seed: 1, evidenceLimit: 0 };
    const pool = new WorkerPool(1);
    const strategy = builtinStrategy(STRATEGY)!;
    const chunk = 50;
    for (let from = 1; from <= runs; from += chunk) {
      await tallyScenario(scenario, text, [strategy], opts, pool, { from, to: Math.min(runs + 1, from + chunk) });
      max = Math.max(max, process.memoryUsage().heapUsed);
      await new Promise((r) => setImmediate(r));
    }
    clearInterval(timer);
    await pool.close();
    return max / 2 ** 20;
  };
  const small = await peak(200);
  const big = await peak(2000);
  console.log(`\nmemory: peak heap ${fmt(small, 1)} MiB for 200 runs, ${fmt(big, 1)} MiB for 2,000 runs (${fmt(big / small, 2)}×)`);

  // 6. Exhaustive exploration of the tiny scenario.
  const tiny = loadScenario('scenarios/7-tiny-agent-restart.yaml', (n) => builtinStrategy(n) !== undefined);
  const times: number[] = [];
  let summary = '';
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const strategy = builtinStrategy(STRATEGY)!;
    const res = explore(tiny, strategy, runPilot(tiny, strategy, 0), 0, 100_000, tiny.seed);
    times.push((performance.now() - t0) / 1000);
    summary = `${res.complete ? 'complete' : 'incomplete'}: ${res.runs} interleavings, ${res.failures.length} failures, ${res.pruned} pruned`;
  }
  console.log(`exhaustive tiny-agent-restart (${STRATEGY}): ${fmt(median(times), 2)} s (${summary})`);

  // 7. Exhaustive exploration of the incident for v1.4.2, capped so the bench stays bounded.
  {
    const strategy = builtinStrategy('v1.4.2')!;
    const t0 = performance.now();
    const res = explore(scenario, strategy, runPilot(scenario, strategy, 0), 0, EXHAUSTIVE_CAP, scenario.seed);
    const secs = (performance.now() - t0) / 1000;
    const state = res.complete
      ? `complete: ${res.runs} interleavings, ${res.failures.length} failures, ${res.pruned} pruned`
      : `incomplete at the cap of ${EXHAUSTIVE_CAP} runs + pruned: ${res.runs} interleavings, ${res.pruned} pruned, ${res.failures.length} failures, ${fmt(secs / (res.runs + res.pruned), 2)} s per run`;
    console.log(
      `exhaustive incident-7178 (v1.4.2): ${fmt(secs, 1)} s (${state})  ` +
        target('exhaustive incident-7178 complete for v1.4.2 in under 60 s', res.complete && secs < 60, res.complete ? `${fmt(secs, 1)} s (target < 60 s)` : `incomplete after ${fmt(secs, 1)} s at the cap of ${EXHAUSTIVE_CAP}`),
    );
  }

  console.log('\ntargets:');
  for (const t of targets) console.log(`  ${t.met ? 'met    ' : 'NOT MET'}  ${t.name}: ${t.measured}`);
  console.log(`bench took ${fmt((performance.now() - started) / 1000)} s`);
}

void main();
