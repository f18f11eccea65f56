import { describe, expect, it } from 'vitest';
import { pctHit, pctMissBound, pctRunsFor } from '../src/explore/pct-bound.js';

describe("PCT's bound, as the report states it", () => {
  it('a depth-d bug is hit with probability 1/(n·k^(d−1)) per run', () => {
    expect(pctHit(100, 4, 1)).toBe(1 / 100);
    expect(pctHit(100, 4, 3)).toBe(1 / 1600);
    expect(pctHit(0, 0, 2)).toBe(1);
  });

  it('the miss bound after r runs is (1 − p)^r, and pctRunsFor is the fewest runs under the target', () => {
    expect(pctMissBound(100, 4, 2, 0)).toBe(1);
    expect(pctMissBound(10, 1, 1, 2)).toBeCloseTo(0.81, 12);
    const r = pctRunsFor(100, 4, 2)!;
    expect(pctMissBound(100, 4, 2, r)).toBeLessThan(0.05);
    expect(pctMissBound(100, 4, 2, r - 1)).toBeGreaterThanOrEqual(0.05);
    expect(pctRunsFor(1e9, 1e3, 4)).toBeNull();
  });
});
