import { PctSelector, RandomSelector, type Selector } from '../kernel/choice.js';
import type { Scenario } from '../scenario/model.js';
import type { RunOutcome } from '../sim/outcome.js';
import { runOnce, type RunOptions } from '../sim/run.js';
import type { Strategy } from '../strategies/api.js';
import { StrategyFault } from '../strategies/fault.js';
import { attachWorld, exhaustiveReplaySelector } from './exhaustive.js';
import { defaultWindow, formatRunId, trimDefaults, type RunId } from './run-id-format.js';

// The grammar and the canonical text of run ids are in run-id-format.ts (re-exported here).
export { defaultWindow, formatRunId, type Explorer, type RunId } from './run-id-format.js';

/** What one reference run says about a scenario's size: what exploration is tuned by. */
export interface Pilot {
  /** Per action: API writes that fell inside its `between` window (0 for `at` actions). */
  readonly windowWrites: readonly number[];
  /** Actors that took part in a scheduling choice (PCT's n). */
  readonly actors: readonly string[];
  /** Scheduling choices (PCT's k). */
  readonly orderChoices: number;
  readonly steps: number;
}

export class RunIdError extends Error {}

const USAGE = 'expected random:<seed>, pct:d<depth>:<seed> or exhaustive[:l<latency point>]:<seed>:<branches>, with an optional w<window-ms> segment before the seed (e.g. random:20, pct:d3:104, random:w10:7, exhaustive:l3:1:0*7.2)';

function decodeBranches(text: string): number[] | undefined {
  if (text === '-') return [];
  const out: number[] = [];
  for (const tok of text.split('.')) {
    const m = /^(\d{1,6})(?:\*(\d{1,7}))?$/.exec(tok);
    if (!m) return undefined;
    const count = m[2] ? Number(m[2]) : 1;
    if (count < 1 || out.length + count > 10_000_000) return undefined;
    for (let i = 0; i < count; i++) out.push(Number(m[1]));
  }
  return out;
}

const INT = /^\d{1,15}$/;

/** The largest latency point a run id (and --latency-points) may name. */
export const MAX_LATENCY_POINT = 9999;

/** Parse a run id; a RunIdError says what is wrong with it (bad input). */
export function parseRunId(text: string): RunId {
  const bad = (why: string): RunIdError => new RunIdError(`bad run id "${text}": ${why}; ${USAGE}`);
  const parts = text.trim().split(':');
  const explorer = parts.shift();
  if (explorer !== 'random' && explorer !== 'pct' && explorer !== 'exhaustive') throw bad(`unknown explorer "${explorer ?? ''}"`);
  let depth: number | undefined;
  if (explorer === 'pct') {
    const d = parts.shift() ?? '';
    if (!/^d\d{1,3}$/.test(d) || Number(d.slice(1)) < 1) throw bad(`PCT needs its depth as d<integer >= 1>, got "${d}"`);
    depth = Number(d.slice(1));
  }
  let window = defaultWindow(explorer);
  if (parts[0]?.startsWith('w')) {
    const w = parts.shift()!;
    if (!/^w\d{1,9}$/.test(w)) throw bad(`a window is w<integer ms>, got "${w}"`);
    window = Number(w.slice(1));
  }
  let latencyPoint = 0;
  if (explorer === 'exhaustive' && parts[0]?.startsWith('l')) {
    const l = parts.shift()!;
    if (!/^l\d{1,6}$/.test(l) || Number(l.slice(1)) > MAX_LATENCY_POINT) throw bad(`a latency point is l<integer 0..${MAX_LATENCY_POINT}>, got "${l}"`);
    latencyPoint = Number(l.slice(1));
  }
  const seedText = parts.shift();
  if (seedText === undefined || !INT.test(seedText)) throw bad(`the seed must be a non-negative integer, got "${seedText ?? ''}"`);
  const seed = Number(seedText);
  if (explorer === 'exhaustive') {
    const b = parts.shift();
    const branches = b === undefined ? undefined : decodeBranches(b);
    if (!branches) throw bad(`exhaustive runs end with their branch choices (e.g. 0*12.1.2, or - for none), got "${b ?? ''}"`);
    if (parts.length) throw bad(`unexpected "${parts.join(':')}" after the branch choices`);
    return { explorer, seed, window, branches: trimDefaults(branches), ...(latencyPoint ? { latencyPoint } : {}) };
  }
  if (parts.length) throw bad(`unexpected "${parts.join(':')}" after the seed`);
  return explorer === 'pct' ? { explorer, depth: depth!, seed, window } : { explorer, seed, window };
}

/**
 * THE way a selector is made for a named run: every campaign run, every evidence re-run and
 * every `trace --run` goes through here, so a listed run id always reproduces its run.
 * PCT takes n (the actors) and k (the scheduling choices) from the strategy's pilot run.
 */
export function selectorFor(id: RunId, pilot: Pick<Pilot, 'actors' | 'orderChoices'> | undefined): Selector {
  if (id.explorer === 'exhaustive') return exhaustiveReplaySelector(id.branches, id.latencyPoint ?? 0);
  if (id.explorer === 'pct') {
    if (!pilot) throw new Error('a PCT run needs its pilot (n and k)');
    return new PctSelector(id.seed, id.depth, pilot.actors, pilot.orderChoices);
  }
  return new RandomSelector(id.seed);
}

/**
 * Run a named run: its selector, its window, the pilot's windowWrites, and its seed (which also
 * names the apiserver's generated names and uids). `extra` adds tracing or inspection.
 */
export function runById(scenario: Scenario, strategy: Strategy, id: RunId, pilot: Pilot, extra: Omit<RunOptions, 'selector' | 'window' | 'windowWrites'> = {}): RunOutcome {
  const selector = selectorFor(id, pilot);
  const attach = attachWorld(selector);
  const inspect = extra.inspect;
  try {
    return runOnce(scenario, strategy, id.seed, {
      ...extra,
      selector,
      window: id.window,
      windowWrites: pilot.windowWrites,
      inspect: attach || inspect ? (w) => (attach?.(w), inspect?.(w)) : undefined,
    });
  } catch (e) {
    // A strategy's fault names the run it happened in.
    if (e instanceof StrategyFault) throw e.with({ run: formatRunId(id) });
    throw e;
  }
}

/** A shell-friendly, file-name-safe form of a run id (for evidence file names). */
export function runIdFileName(id: RunId): string {
  return formatRunId(id).replace(/[:*]/g, (c) => (c === ':' ? '-' : 'x'));
}
