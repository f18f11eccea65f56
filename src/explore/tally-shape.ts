import { z } from 'zod';

/**
 * A strategy's tally (tally.ts TallyState) as it crosses a boundary: from a sandboxed worker
 * (results.ts: unknown fields pass, so a new field travels before it is checked) and in a
 * shard's results file (gate/shard.ts: unknown fields refused, a file is a contract). One
 * shape, so the two checks cannot drift apart.
 */
export const count = z.number().int('expected a whole number').nonnegative('expected a count >= 0').max(Number.MAX_SAFE_INTEGER);
/** A run id (an exhaustive one spells its branch prefix, so it can be long). */
export const runId = z.string().max(100_000);
const metric = z.enum(['quota', 'migrations', 'invariants', 'settled']);
const bits = z.string().regex(/^[01]*$/, 'expected a string of 0s and 1s');

export function tallyShape(unknownFields: 'pass' | 'refuse') {
  const open = <T extends z.ZodRawShape>(o: z.ZodObject<T>) => (unknownFields === 'pass' ? o.passthrough() : o.strict());
  return open(
    z.object({
      runs: count,
      quotaOk: count,
      moved: count,
      mustMove: count,
      settled: count,
      violations: count,
      rejected: count,
      conflicts: count,
      refused: count,
      refusedForGood: count,
      restarts: count,
      drainSum: z.number().nonnegative().finite(),
      drainMax: z.number().nonnegative().finite(),
      drainRuns: count,
      drainUnfinished: count,
      failing: z.array(runId).max(1000),
      groups: z.array(open(z.object({ signature: z.string().max(100_000), runs: count, firstRun: runId, breaks: z.array(metric).max(4) }))).max(100_000),
      firstBreaking: open(z.object({ quota: runId, migrations: runId, invariants: runId, settled: runId }).partial()),
      quotaBits: bits,
      moveBits: bits,
      horizon: count,
      horizonFailing: count,
    }),
  ).refine((t) => t.quotaOk <= t.runs && t.settled <= t.runs && t.violations <= t.runs && t.moved <= t.mustMove && t.quotaBits.length === t.runs && t.moveBits.length === t.runs && t.horizonFailing <= t.horizon && t.horizon <= t.runs - t.settled, {
    message: 'inconsistent tally (a count above the number of runs, or per-run bits of another length)',
  });
}
