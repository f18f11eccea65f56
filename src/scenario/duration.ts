/**
 * Durations in Go's time.ParseDuration notation ("90s", "5m", "1m30s", "250ms", "1.5h").
 * Hand-written because the npm duration parsers (ms, parse-duration) accept other
 * notations ("2 days", bare numbers) that would let a typo through silently.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/y;

/** Milliseconds (rounded to whole ms), or undefined if the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  let i = 0;
  let total = 0;
  while (i < s.length) {
    PART.lastIndex = i;
    const m = PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    i = PART.lastIndex;
  }
  return i === 0 ? undefined : Math.round(total);
}
