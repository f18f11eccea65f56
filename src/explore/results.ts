import { z } from 'zod';
import { builtinStrategy } from '../strategies/builtin.js';
import { unsafeName } from '../strategies/loader.js';
import type { Job } from './jobs.js';
import { count, tallyShape } from './tally-shape.js';

/**
 * What a sandboxed worker may send back, per job type. A worker that ran a strategy module
 * answers with whatever that module made it post: a result of the wrong shape would crash
 * the code that merges tallies or writes reports in the main thread, ending every other
 * strategy's results with it. So a sandboxed job's result is checked here first, and one of
 * the wrong shape is that module's fault. The check bounds the shape (types, counts,
 * lengths), not the truth: a module can still post numbers it made up, for its own row only
 * (see the README's threat model).
 *
 * Objects pass through fields this file does not know, so a field added to a job's result
 * needs no change here to travel; add it here too, to have it checked.
 */
const text = z.string();
const line = z.string().max(100_000);

export const faultShape = z
  .object({ strategy: line, detail: text, seed: count.optional(), step: count.optional(), scenario: line.optional(), run: line.optional(), message: text })
  .passthrough();
const fault = z.object({ fault: faultShape }).passthrough();

const tally = tallyShape('pass');

const pilot = z.object({ windowWrites: z.array(count).max(1_000_000), actors: z.array(line).max(100_000), orderChoices: count, steps: count }).passthrough();

const finite = z.number().finite();
/** What the report shows of an evidence's run (RecordedRun): checked here, since a module's worker recorded it. */
const recorded = z
  .object({
    traceSha256: z.string().regex(/^[0-9a-f]{64}$/),
    explanation: z.array(text).max(100_000),
    storySteps: z.array(count.optional()).max(100_000),
    race: z.object({ steps: z.array(z.object({}).passthrough()).max(100_000), total: count }).passthrough(),
    shrink: z.object({ from: line, shrunk: z.boolean() }).passthrough(),
  })
  .passthrough();

const evidence = z
  .object({
    text,
    recorded,
    signature: text,
    originalSteps: count,
    shrunkSteps: count,
    deterministic: z.boolean(),
    determinismDetail: text,
  })
  .passthrough();

/** Per job type, the shapes its result may take: a fault (any sandboxed job), else the job's own. */
const byType: Record<Job['type'], z.ZodTypeAny> = {
  runs: tally,
  prepare: z.object({ pilot }).passthrough(),
  exhaustive: z.object({ tally, exhaustive: z.object({ complete: z.boolean(), runs: count, pruned: count }).passthrough() }).passthrough(),
  evidence,
  // The name becomes a row and a folder: the worker's own checks of it are checked again here,
  // or a module could answer for itself under a built-in's name.
  describe: z.union([
    z.object({ loadError: text }).passthrough(),
    z
      .object({
        name: line.refine((n) => unsafeName(n) === undefined, 'not usable as a folder name').refine((n) => builtinStrategy(n) === undefined, "a built-in strategy's name"),
        description: text,
      })
      .passthrough(),
  ]),
  command: z.object({ code: z.number().int().min(0).max(255), out: text, err: text }).passthrough(),
};

/** Undefined if `result` has the shape of a `type` job's result; else what is wrong, in one line. */
export function malformedResult(type: Job['type'], result: unknown): string | undefined {
  // A result that says it is a fault is judged as one (a command never answers with a fault).
  const isFault = type !== 'command' && result !== null && typeof result === 'object' && Object.hasOwn(result, 'fault');
  const r = (isFault ? fault : byType[type]).safeParse(result);
  if (r.success) return undefined;
  const i = r.error.issues[0]!;
  const issue = i.code === 'invalid_union' ? (i.unionErrors[0]?.issues[0] ?? i) : i;
  return `${issue.path.join('.') || 'the result'}: ${issue.message}`.slice(0, 200);
}
