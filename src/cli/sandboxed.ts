import type { CommandResult, FaultResult } from '../explore/jobs.js';
import { bundleStrategy, bundleOf } from '../strategies/loader.js';
import { EXIT_FAILED, type Io } from './io.js';
import { makePool } from './plans.js';

/**
 * `trace` and `replay` of a user strategy: the whole command runs in one sandboxed worker
 * (memory limit, watchdog), so a strategy that loops, exits or exhausts memory ends the
 * command with ERROR and exit 1, in bounded time. The module is bundled here first, so a
 * compile error is still bad input (exit 2).
 */
export async function runSandboxed(args: Record<string, unknown>, io: Io, modules: readonly string[], what: string): Promise<number> {
  for (const m of modules) await bundleStrategy(m);
  const bundles = modules.map((m) => [m, bundleOf(m)!] as [string, string]);
  const pool = makePool({ ...args, workers: 1 });
  try {
    const [r] = await pool.run<CommandResult | FaultResult>([{ type: 'command', argv: args.$argv as string[], bundles }]);
    if ('fault' in r!) {
      const f = r.fault;
      io.err(`ERROR strategy ${modules.join(', ')} (${what}${f.run ? `, ${f.run}` : ''}${f.step ? `, step ${f.step}` : ''}): ${f.detail}`);
      return EXIT_FAILED;
    }
    if (r!.out) io.out(r!.out);
    if (r!.err) io.err(r!.err);
    return r!.code;
  } finally {
    await pool.close();
  }
}
