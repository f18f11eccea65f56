/** 95% intervals for the report's rates (z = 1.96). */
const Z = 1.96;

export interface Interval {
  readonly low: number;
  readonly high: number;
}

/**
 * Wilson score interval for a proportion: unlike the normal approximation it stays inside
 * [0, 1] and is honest at 0% and 100%, which is where these rates usually are.
 */
export function wilson(successes: number, n: number): Interval {
  if (n === 0) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = Z * Z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (Z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
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
