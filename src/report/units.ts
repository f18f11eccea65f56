import { formatQuantity, isByteResource } from '../cluster/quantity.js';

/**
 * A quantity for people: memory in GiB/MiB with at most two decimals (never raw bytes beside
 * "Gi"), CPU in cores. Exact values keep Kubernetes' own spelling ("64Gi", "30", "500m").
 * `formatQuantity` stays the exact form for traces and evidence.
 */
export function human(milli: number, name: string): string {
  if (isByteResource(name)) {
    const bytes = milli / 1000;
    const exact = formatQuantity(milli, name);
    if (/^\d+(Ti|Gi|Mi)?$/.test(exact) && (exact.endsWith('i') || bytes === 0)) return exact;
    if (bytes >= 2 ** 30) return `${trim(bytes / 2 ** 30)}Gi`;
    if (bytes >= 2 ** 20) return `${trim(bytes / 2 ** 20)}Mi`;
    return `${trim(bytes / 2 ** 10)}Ki`;
  }
  return milli % 1000 === 0 ? String(milli / 1000) : trim(milli / 1000);
}

const trim = (x: number) => (Math.round(x * 100) / 100).toString();

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
