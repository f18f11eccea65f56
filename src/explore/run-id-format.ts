import { DEFAULT_WINDOW_MS } from '../sim/run.js';

// The text of a run id, apart from what runs one (run-id.ts): the explorers name their runs with
// it (exhaustive.ts names a faulted run), and run-id.ts, which builds their selectors, imports them.

/**
 * A run id names one run completely, given the scenario and the strategy: the explorer and
 * its parameters, the seed, the concurrency window when it is not the explorer's default,
 * and for exhaustive runs the latency point when it is not 0 and the branch choices. What else a run depends on (the windowWrites and
 * PCT's n and k) comes from the strategy's pilot run, which is a function of the scenario,
 * the strategy and the window.
 *
 * Grammar (segments separated by ':'):
 *
 *   random[:w<window>]:<seed>
 *   pct:d<depth>[:w<window>]:<seed>
 *   exhaustive[:w<window>][:l<point>]:<seed>:<branches>
 *
 * <point> is the latency point (exhaustive.ts fixedDraw: which fixed latency each stream has),
 * written only when it is not 0, so ids of searches at point 0 read as they always did.
 * <branches> is the exhaustive run's branch choices, '.'-separated, trailing defaults (0)
 * dropped, a run of equal values written v*count (as in evidence files), '-' for none.
 * Examples: random:20, pct:d3:104, random:w10:7, exhaustive:1:0*12.1.2, exhaustive:1:-,
 * exhaustive:l3:1:0*7.2.
 */
export type RunId =
  | { readonly explorer: 'random'; readonly seed: number; readonly window: number }
  | { readonly explorer: 'pct'; readonly depth: number; readonly seed: number; readonly window: number }
  | { readonly explorer: 'exhaustive'; readonly seed: number; readonly window: number; readonly branches: readonly number[]; readonly latencyPoint?: number };

export type Explorer = RunId['explorer'];

/** The window an explorer uses unless told otherwise. */
export function defaultWindow(explorer: Explorer): number {
  return explorer === 'exhaustive' ? 0 : DEFAULT_WINDOW_MS;
}

/** Branch choices without their trailing defaults (0): the canonical form an id carries. */
export function trimDefaults(xs: readonly number[]): number[] {
  let end = xs.length;
  while (end > 0 && xs[end - 1] === 0) end--;
  return xs.slice(0, end);
}

/**
 * Choice values run-length encoded, as run ids and evidence write them: a value repeated more
 * than twice as `v*count`, else each value, joined by `sep`.
 */
export function runLengthTokens(values: readonly number[], sep: string): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j < values.length && values[j] === values[i]) j++;
    const count = j - i;
    tokens.push(count > 2 ? `${values[i]}*${count}` : Array(count).fill(String(values[i])).join(sep));
    i = j;
  }
  return tokens;
}

function encodeBranches(xs: readonly number[]): string {
  const v = trimDefaults(xs);
  return v.length ? runLengthTokens(v, '.').join('.') : '-';
}

/** The canonical text of a run id. */
export function formatRunId(id: RunId): string {
  const w = id.window !== defaultWindow(id.explorer) ? [`w${id.window}`] : [];
  if (id.explorer === 'random') return ['random', ...w, id.seed].join(':');
  if (id.explorer === 'pct') return ['pct', `d${id.depth}`, ...w, id.seed].join(':');
  const l = id.latencyPoint ? [`l${id.latencyPoint}`] : [];
  return ['exhaustive', ...w, ...l, id.seed, encodeBranches(id.branches)].join(':');
}
