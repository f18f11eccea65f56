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

/** A rate as a percentage: "92%", "8.5%", "0.05%"; 1 and 0 only when exact. */
export function percent(x: number): string {
  if (x === 1) return '100%';
  if (x === 0) return '0%';
  const p = x * 100;
  const s = p >= 99.95 ? p.toFixed(2) : p < 0.1 ? p.toFixed(2) : p.toFixed(1);
  return `${s.replace(/\.0+$/, '')}%`;
}
