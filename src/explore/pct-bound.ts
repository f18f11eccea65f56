/**
 * PCT's probabilistic guarantee (Burckhardt et al., ASPLOS 2010): with n steps, k actors and
 * a bug of depth d, one PCT run finds it with probability at least 1/(n·k^(d−1)). The report
 * states the bound a campaign that found nothing reached, and the runs that would tighten it.
 */

/** PCT's per-run hit probability for a depth-d bug, 1/(n·k^(d−1)). */
export function pctHit(n: number, k: number, d: number): number {
  return 1 / (Math.max(1, n) * Math.max(1, k) ** (d - 1));
}

/** PCT's bound: a depth-d bug is missed with probability at most (1 − 1/(n·k^(d−1)))^runs. */
export function pctMissBound(n: number, k: number, d: number, runs: number): number {
  return (1 - pctHit(n, k, d)) ** runs;
}

/** The fewest runs that bring PCT's miss bound under `target` (null if beyond any count). */
export function pctRunsFor(n: number, k: number, d: number, target = 0.05): number | null {
  const p = pctHit(n, k, d);
  const r = Math.ceil(Math.log(target) / Math.log1p(-p));
  return Number.isFinite(r) && r <= Number.MAX_SAFE_INTEGER ? Math.max(1, r) : null;
}
