import { performance } from 'node:perf_hooks';
import { RandomSelector, withoutChoiceLog } from '../kernel/choice.js';
import { runPilot } from '../explore/pilot.js';
import { loadScenario } from '../scenario/load.js';
import { runOnce } from '../sim/run.js';
import { builtinStrategy } from '../strategies/builtin.js';

/**
 * A bench helper process: `serial.js RUNS [--from SEED] [--cold]` runs the incident's seeds
 * SEED.. SEED+RUNS-1 (from 1) in this process and prints the seconds the runs took, then the
 * CPU seconds of the whole process (start-up included). Without --cold it warms up on 20
 * runs first (for a profile: `node --cpu-prof dist/bench/serial.js 600`). With --cold it does
 * only what a campaign does (load, pilot, runs): pool-window.ts starts several at once on
 * disjoint seeds and times them from the start of the first to the end of the last, the same
 * wall-clock window as the pool's campaign over the same seeds.
 */
const args = process.argv.slice(2);
const runs = Number(args[0] ?? 200);
const fromAt = args.indexOf('--from');
const first = fromAt >= 0 ? Number(args[fromAt + 1]) : 1;
const cold = args.includes('--cold');
const scenario = loadScenario('scenarios/1-incident-7178.yaml', (n) => builtinStrategy(n) !== undefined);
const strategy = builtinStrategy('pre-fix')!;
const windowWrites = runPilot(scenario, strategy, 25).windowWrites;
if (!cold) for (let s = 1; s <= 20; s++) runOnce(scenario, strategy, s, { selector: new RandomSelector(s), window: 25, windowWrites });
const t0 = performance.now();
for (let s = first; s < first + runs; s++) runOnce(scenario, strategy, s, { selector: new RandomSelector(s), window: 25, windowWrites, inspect: withoutChoiceLog });
const secs = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage();
process.stdout.write(`${secs} ${(cpu.user + cpu.system) / 1e6}`);
