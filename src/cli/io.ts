import { InputError, formatProblems } from '../scenario/errors.js';
import { NotOurFile } from '../report/files.js';
import { StrategyLoadError } from '../strategies/loader.js';
import { RunIdError } from '../explore/run-id.js';
import { ModuleNotAllowed } from '../strategies/trust.js';

/**
 * The one place for the command line's I/O and exit codes: where output goes, what each
 * exit code means, and which errors are bad input (exit 2, one clear line, no stack trace).
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
};

/** Exit codes: 0 done; 1 an expectation failed (run, merge) or a replayed failure no longer fails; 2 bad input. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_FIXED = 1;
export const EXIT_BAD_INPUT = 2;

export class UsageError extends Error {}

/** Bad input as an exit code: its message printed on one line (file:line:col for scenarios); other errors propagate. */
export function badInputExit(e: unknown, io: Io): number | undefined {
  if (e instanceof InputError) {
    io.err(formatProblems(e.problems));
    return EXIT_BAD_INPUT;
  }
  if (e instanceof UsageError || e instanceof NotOurFile || e instanceof ModuleNotAllowed || e instanceof StrategyLoadError || e instanceof RunIdError) {
    io.err(`quotarace: ${e.message}`);
    return EXIT_BAD_INPUT;
  }
  return undefined;
}

export { shellQuote } from '../base/shell.js';

/** An integer flag in [min, max]; anything else (a list, a fraction, NaN, 1e400) is bad input. */
export function intArg(name: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`--${name} expects one integer from ${min} to ${max.toLocaleString('en-US')}, got ${Array.isArray(v) ? v.join(' ') : String(v)}`);
  }
  return v;
}

/**
 * The bounds of every numeric input. Seeds stay below 2^48 and runs below 10^9, so that
 * seed + runs is always an exact integer (below 2^53) and a run id's seed fits its 15 digits.
 */
export const LIMITS = {
  seed: 2 ** 48,
  runs: 1_000_000_000,
  depth: 100,
  maxRuns: 10_000_000,
  window: 86_400_000,
  workers: 256,
} as const;
