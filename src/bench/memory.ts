import { RandomSelector, withoutChoiceLog } from '../kernel/choice.js';
import { runOnce } from '../sim/run.js';
import { builtinStrategy } from '../strategies/builtin.js';
import { drainOneNode } from './scenarios.js';

/**
 * A bench helper process: runs `runs` interleavings of the drain-one-node cluster of `vms`
 * VMs one after another and prints, as JSON, its peak RSS before the first (modules loaded,
 * scenario built) and after the last (the kernel's high-water mark, getrusage ru_maxrss), in
 * bytes. Interleavings do not keep each other's objects, so the peak is what one needs.
 */
const vms = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 5);
const scenario = drainOneNode(vms);
const strategy = builtinStrategy('pre-fix')!;
const before = process.resourceUsage().maxRSS * 1024;
for (let s = 1; s <= runs; s++) runOnce(scenario, strategy, s, { selector: new RandomSelector(s), window: 25, inspect: withoutChoiceLog });
const after = process.resourceUsage().maxRSS * 1024;
process.stdout.write(JSON.stringify({ before, after }));
