import type { TallyState } from '../explore/tally.js';

/**
 * A failure kind as the hunt compares them: the campaign's failure kind (tally.ts) with
 * namespace names taken out, so that the same failure in another namespace, or after
 * shrinking renamed one, is the same kind. "quota web/limits.cpu db/limits.cpu; stuck"
 * → "quota limits.cpu; stuck".
 */
export function huntKind(signature: string): string {
  return signature
    .split('; ')
    .map((part) => {
      if (!part.startsWith('quota ')) return part;
      const keys = [...new Set(part.slice(6).split(' ').map((k) => k.slice(k.indexOf('/') + 1)))].sort();
      return `quota ${keys.join(' ')}`;
    })
    .join('; ');
}

/** Every failure kind of a tally, in first-seen order, with the first run of each. */
export function kindsOf(t: TallyState): Array<{ kind: string; run: string; runs: number }> {
  const out: Array<{ kind: string; run: string; runs: number }> = [];
  for (const g of t.groups) {
    const kind = huntKind(g.signature);
    const x = out.find((o) => o.kind === kind);
    if (x) x.runs += g.runs;
    else out.push({ kind, run: g.firstRun, runs: g.runs });
  }
  return out;
}

/**
 * How close a passing scenario came to failing: target pods refused by quota, resourceVersion
 * conflicts, refused user edits, runs that never settled, drains that never finished.
 * Integer arithmetic on integer tallies, so the ranking is the same on every machine.
 */
export function closeness(t: TallyState): number {
  const n = Math.max(1, t.runs);
  return Math.round((1000 * (4 * t.rejected + t.conflicts + 2 * t.refused + 3 * (t.runs - t.settled) + 3 * t.drainUnfinished)) / n);
}
