import { formatQuantity } from '../cluster/quantity.js';

/**
 * A quantity as the report shows it: exactly as the trace, evidence and kubectl print it
 * (`formatQuantity`): CPU in millicores unless whole cores ("6055m", "1m", "26"), memory in
 * the largest binary unit that holds it exactly, down to bytes ("24Gi", "54242646Ki",
 * "1073741825"). One notation per value everywhere: a rounded form (6.06 for 6055m, 0 for
 * 1m) would hide the very difference a failing run is about.
 */
export function human(milli: number, name: string): string {
  return formatQuantity(milli, name);
}

/** 1234567 → "1,234,567". */
export const count = (n: number) => n.toLocaleString('en-US');

/**
 * `x` with `digits` decimals, or with as many more as it takes (up to 15) for the text to
 * differ from each value in `apart` that `x` itself differs from: 0.99995 is never "1.0000"
 * beside a minimum of 1, 0.00005 never "0.0000" as a shortfall. A rounding may shorten a
 * number, never turn it into the bound it missed.
 */
export function decimals(x: number, digits: number, apart: readonly number[]): string {
  let d = digits;
  let s = x.toFixed(d);
  while (d < 15 && apart.some((b) => x !== b && Number(s) === b)) s = x.toFixed(++d);
  return s;
}

/**
 * A rate as a percentage with `digits` decimals ("57.5%"); "100%" and "0%" only when exact
 * (19,999 of 20,000 is "99.995%", never "100.0%").
 */
export function percent(x: number, digits = 1): string {
  return `${decimals(x * 100, digits, [0, 100])}%`;
}
