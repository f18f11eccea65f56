/** 95% intervals for the report's rates (z = 1.96). */
const Z = 1.96;

export interface Interval {
  readonly low: number;
  readonly high: number;
}

/** The largest double below 1: an upper bound that is not 1 never becomes 1 by rounding. */
const BELOW_ONE = 1 - 2 ** -53;

/**
 * Wilson score interval for a proportion: unlike the normal approximation it stays inside
 * [0, 1] and is honest at 0% and 100%, which is where these rates usually are. At p̂ = 1 the
 * upper bound is exactly 1 and at p̂ = 0 the lower bound exactly 0 (the formula gives them
 * only up to float noise: 0.99999999999997); every other bound stays strictly inside (0, 1),
 * as it is in exact arithmetic, so no rate is shown as reaching a bound it does not reach.
 */
export function wilson(successes: number, n: number): Interval {
  if (n === 0) return { low: 0, high: 1 };
  return wilsonRate(successes / n, n);
}

/**
 * The Wilson interval of a rate `p` observed over a sample of `n` (which need not make p·n
 * whole): `wilson(k, n)` is `wilsonRate(k / n, n)`.
 */
export function wilsonRate(p: number, n: number): Interval {
  if (n === 0) return { low: 0, high: 1 };
  const z2 = Z * Z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (Z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  const low = p <= 0 ? 0 : Math.min(p, Math.max(Number.MIN_VALUE, centre - half));
  const high = p >= 1 ? 1 : Math.max(p, Math.min(BELOW_ONE, centre + half));
  return { low, high };
}

/**
 * The interval of the fraction of VMs that moved, over runs: the VMs of one run share its
 * schedule (one reset, one restart strands them together), so they are not independent
 * samples. Wilson's interval of the pooled fraction with the runs as the sample size is the
 * interval for the worst case of that dependence (every VM of a run moves or stays as one:
 * a design effect equal to the VMs per run); with fewer VMs to move than runs, the VMs.
 */
export function vmsMovedInterval(moved: number, toMove: number, runs: number): Interval {
  if (toMove === 0) return { low: 0, high: 1 };
  return wilsonRate(moved / toMove, Math.min(runs, toMove));
}

export interface PairedDifference {
  /** Rate of B minus rate of A over the same seeds. */
  readonly difference: number;
  readonly interval: Interval;
  /** Seeds where only A succeeded, and where only B did. */
  readonly onlyA: number;
  readonly onlyB: number;
  readonly n: number;
}

/**
 * The difference of two strategies' success rates measured on the same seeds, with the
 * paired (McNemar-style) Wald interval: only seeds where they disagree carry information,
 * which makes it far tighter than comparing two independent rates.
 */
export function pairedDifference(a: string, b: string): PairedDifference {
  const n = Math.min(a.length, b.length);
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i) === 49;
    const y = b.charCodeAt(i) === 49;
    if (x && !y) onlyA++;
    else if (y && !x) onlyB++;
  }
  if (n === 0) return { difference: 0, interval: { low: -1, high: 1 }, onlyA, onlyB, n };
  const d = (onlyB - onlyA) / n;
  // Agresti–Min (2005): add ½ to each cell of the 2×2 table before the Wald interval, so
  // that it does not collapse to a point when the strategies always, or never, disagree.
  const ca = onlyA + 0.5;
  const cb = onlyB + 0.5;
  const m = n + 2;
  const centre = (cb - ca) / m;
  const se = Math.sqrt(Math.max(0, ca + cb - ((cb - ca) ** 2) / m)) / m;
  return { difference: d, interval: { low: Math.max(-1, centre - Z * se), high: Math.min(1, centre + Z * se) }, onlyA, onlyB, n };
}
