/**
 * `x` to `digits` significant digits (`toPrecision`), or with as many more as it takes (up to
 * 21) for the text to differ from each value in `apart` that `x` itself differs from: a
 * probability of 0.99996 is "0.99996", never "1.000" beside the bound 1. As `decimals` in
 * report/units.ts: a rounding may shorten a number, never turn it into a bound it is not.
 */
export function significant(x: number, digits: number, apart: readonly number[]): string {
  let d = digits;
  let s = x.toPrecision(d);
  while (d < 21 && apart.some((b) => x !== b && Number(s) === b)) s = x.toPrecision(++d);
  return s;
}
