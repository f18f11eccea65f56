import { performance } from 'node:perf_hooks';
import { RandomSelector, withoutChoiceLog } from '../kernel/choice.js';
import { runPilot } from '../explore/pilot.js';
import { loadScenario } from '../scenario/load.js';
import { runOnce } from '../sim/run.js';
import { builtinStrategy } from '../strategies/builtin.js';

/**
 * A bench helper process: runs the incident `runs` times in this process and prints the
 * seconds it took. bench.ts starts one, then two at once, to measure how much a second core
 * of this machine adds to the same work with nothing shared at all: the ceiling any worker
 * pool can reach here.
 */
const runs = Number(process.argv[2] ?? 200);
const scenario = loadScenario('scenarios/1-incident-7178.yaml', (n) => builtinStrategy(n) !== undefined);
const strategy = builtinStrategy('pre-fix')!;
const windowWrites = runPilot(scenario, strategy, 25).windowWrites;
for (let s = 1; s <= 20; s++) runOnce(scenario, strategy, s, { selector: new RandomSelector(s), window: 25, windowWrites });
const t0 = performance.now();
for (let s = 1; s <= runs; s++) runOnce(scenario, strategy, s, { selector: new RandomSelector(s), window: 25, windowWrites, inspect: withoutChoiceLog });
process.stdout.write(String((performance.now() - t0) / 1000));
