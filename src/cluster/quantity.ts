/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource, quantity.go) as
 * integer milli-units: "500m" cpu is 500, "2" is 2000, "4Gi" is 4 * 2^30 * 1000.
 *
 * Hand-written on purpose: the only npm implementation (@kubernetes/client-node's
 * quantityToScalar) pulls in the whole Kubernetes client and returns floats; the
 * simulator needs exact integers so that `used + requested <= hard` compares the way
 * the API server's arbitrary-precision Quantity does. Milli-units of the largest memory
 * a scenario can name (a few TiB) stay far below 2^53.
 */
const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

const QUANTITY = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|n|u|m|k|M|G|T|P))?$/;

/** Parse a quantity into milli-units; undefined if it is not a valid non-negative quantity. */
export function parseQuantity(text: string | number): number | undefined {
  const s = typeof text === 'number' ? String(text) : text.trim();
  const m = QUANTITY.exec(s);
  if (!m) return undefined;
  const mantissa = Number(m[1]);
  const scale = m[2] ? 10 ** Number(m[2].slice(1)) : SUFFIX[m[3] ?? '']!;
  // Quantity.MilliValue rounds up; the 1e-9 guards against binary float noise like 0.1*3.
  const milli = Math.ceil(mantissa * scale * 1000 - 1e-9);
  // + 0: Math.ceil of the guard's -1e-9 is -0, which Object.is and 1/x tell from 0.
  return Number.isSafeInteger(milli) ? milli + 0 : undefined;
}

const MEMORY_LIKE = /memory|storage/;

/** Whether a resource name is counted in bytes (printed with binary suffixes). */
export function isByteResource(name: string): boolean {
  return MEMORY_LIKE.test(name);
}

/**
 * Canonical text in the style kubectl and the quota error messages print:
 * cpu as "4015m" or "26", memory as the largest exact binary suffix ("54242646Ki", "4Gi").
 */
export function formatQuantity(milli: number, name: string): string {
  if (isByteResource(name)) {
    if (milli % 1000 !== 0) return `${milli}m`;
    const bytes = milli / 1000;
    if (bytes === 0) return '0';
    for (const [suffix, factor] of [
      ['Ti', 2 ** 40],
      ['Gi', 2 ** 30],
      ['Mi', 2 ** 20],
      ['Ki', 2 ** 10],
    ] as const) {
      if (bytes % factor === 0) return `${bytes / factor}${suffix}`;
    }
    return String(bytes);
  }
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}
