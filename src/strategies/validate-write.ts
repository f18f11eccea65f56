import { z } from 'zod';
import { KINDS, type KObject } from '../cluster/objects.js';

/**
 * What a strategy may write: an object of a known kind with a name, string labels and
 * annotations, and for a ResourceQuota, quantities as non-negative integer milli-units.
 * Checked before the write reaches the API server so that a strategy bug is reported as
 * the strategy's, not as a confusing failure elsewhere.
 */
const milli = z.number().int('must be a whole number of milli-units').nonnegative('must not be negative').max(Number.MAX_SAFE_INTEGER, 'must be a safe integer (at most 2^53 - 1 milli-units)');
const strings = z.record(z.string(), z.string({ invalid_type_error: 'values must be strings' }));

const meta = z
  .object({
    name: z.string(),
    namespace: z.string(),
    uid: z.string(),
    resourceVersion: z.number().int().nonnegative(),
    labels: strings,
    annotations: strings,
  })
  .passthrough();

const quota = z
  .object({
    kind: z.literal('ResourceQuota'),
    metadata: meta,
    spec: z.object({ hard: z.record(z.string(), milli) }).passthrough(),
  })
  .passthrough();

const anyObject = z.object({ kind: z.enum(KINDS as [string, ...string[]]), metadata: meta }).passthrough();

/** Objects the cluster's own components write (kubelet, scheduler, KubeVirt): never a strategy's. */
const NOT_A_STRATEGYS = new Set(['Pod', 'Node', 'VirtualMachineInstance']);

export function invalidWrite(o: unknown): string | undefined {
  let base;
  try {
    base = anyObject.safeParse(o);
  } catch (e) {
    return `reading the object threw (${e instanceof Error ? e.message : 'a non-Error'})`;
  }
  if (base.success && NOT_A_STRATEGYS.has((o as KObject).kind)) return `kind: a strategy may not write a ${(o as KObject).kind} (${[...NOT_A_STRATEGYS].join(', ')} are written by the kubelet, the scheduler and KubeVirt)`;
  if (!base.success) return describe(base.error);
  if ((o as KObject).kind === 'ResourceQuota') {
    const q = quota.safeParse(o);
    if (!q.success) return describe(q.error);
  }
  if (!(o as KObject).metadata.name && !(o as KObject).metadata.generateName) return 'metadata.name: must not be empty';
  return undefined;
}

function describe(e: z.ZodError): string {
  const i = e.issues[0]!;
  return `${i.path.join('.') || '(object)'}: ${i.message}`;
}
