import { z } from 'zod';
import { RANCHER_KEY_NAMES } from '../cluster/resources.js';
import { parseQuantity } from '../cluster/quantity.js';
import { LATENCY_NAMES } from '../cluster/latency.js';
import { parseDuration } from './duration.js';
import { excerpt } from './errors.js';
import { EXPECT_METRICS } from './metrics.js';

/**
 * The scenario file's grammar (README "Scenario format"). Every object is strict: an
 * unknown key is an error, so a typo is never silently ignored. Cross-references (a VM's
 * node, an action's target) are checked afterwards in load.ts.
 */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const name = (what: string) =>
  z
    .string({ invalid_type_error: `expected ${what} (a string)`, required_error: `${what} is required` })
    .max(63, `expected ${what} of at most 63 characters`)
    .regex(DNS_LABEL, `expected ${what}: lowercase letters, digits and dashes, starting and ending with a letter or digit`);

export const quantity = z
  .union([z.string(), z.number()], { errorMap: () => ({ message: 'expected a Kubernetes quantity such as "2", "500m" or "4Gi"' }) })
  .refine((v) => parseQuantity(v) !== undefined, (v) => ({
    message: String(v).trim().startsWith('-')
      ? `expected a quantity of 0 or more, got ${excerpt(v)}`
      : `expected a Kubernetes quantity such as "2", "500m" or "4Gi", got ${excerpt(v)}`,
  }));

export const duration = z
  .string({ invalid_type_error: 'expected a duration such as "90s", "5m" or "1m30s"' })
  .refine((v) => parseDuration(v) !== undefined, (v) => ({ message: `expected a duration such as "90s", "5m" or "1m30s", got ${excerpt(v)}` }));

const vcpus = z
  .union([z.number(), z.string()], { errorMap: () => ({ message: 'expected a whole number of vCPUs' }) })
  .refine((v) => {
    const q = parseQuantity(v);
    return q !== undefined && q > 0 && q % 1000 === 0;
  }, 'expected a whole number of vCPUs (1 or more)');

const quota = z
  .object(Object.fromEntries(RANCHER_KEY_NAMES.map((k) => [k, quantity.optional()])) as Record<(typeof RANCHER_KEY_NAMES)[number], z.ZodOptional<typeof quantity>>)
  .strict();

const range = z.union([
  z.tuple([duration, duration]),
  z.object({ min: duration, max: duration }).strict(),
]);

export const vmSchema = z
  .object({
    name: name('a VM name'),
    node: z.string({ required_error: 'node is required' }),
    cpu: vcpus,
    memory: quantity,
    evictionStrategy: z.enum(['LiveMigrate', 'None']).optional(),
  })
  .strict();

const podSchema = z
  .object({
    name: name('a pod name'),
    node: z.string({ required_error: 'node is required' }),
    cpu: quantity,
    memory: quantity,
  })
  .strict();

/** Harvester's string form: "1.5"; "", "0" or "0.0" clear the setting (KubeVirt's own overhead). */
const overheadRatio = z
  .string({ invalid_type_error: 'expected the setting as Harvester writes it, a string such as "1.5" ("" or "0" to clear it)' })
  .refine((v) => /^\s*$/.test(v) || /^0(\.0*)?$/.test(v.trim()) || (/^\d+(\.\d+)?$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 10), (v) => ({
    message: `expected a ratio from "1.0" to "10.0" (Harvester's valid range), or "" / "0" to clear it, got ${excerpt(v)}`,
  }));

const actionSchema = z
  .object({
    drain: z.string().optional(),
    restartAgent: z.object({ pods: z.number().int('expected a whole number of agent pods').min(1, 'expected at least 1 agent pod').optional() }).strict().optional(),
    rolloutAgent: z.object({}).strict().optional(),
    editQuota: z.object({ namespace: z.string(), quota }).strict().optional(),
    editQuotaSpec: z.object({ namespace: z.string(), quota }).strict().optional(),
    migrate: z.string().regex(/^[^/]+\/[^/]+$/, 'expected "namespace/vm"').optional(),
    at: duration.optional(),
    between: z.tuple([duration, duration]).optional(),
  })
  .strict();

/** An expectation: a number is a minimum; {min, max} bounds either side (a max documents a known bug). */
const bound = z.union(
  [
    z.number().min(0, 'expected a rate between 0 and 1').max(1, 'expected a rate between 0 and 1'),
    z
      .object({ min: z.number().min(0).max(1).optional(), max: z.number().min(0).max(1).optional() })
      .strict()
      .refine((b) => b.min !== undefined || b.max !== undefined, 'expected min, max or both'),
  ],
  { errorMap: () => ({ message: 'expected a rate in [0, 1] (a minimum) or { min: <rate>, max: <rate> }' }) },
);

const expectation = z.object(Object.fromEntries(EXPECT_METRICS.map((m) => [m, bound.optional()])) as Record<(typeof EXPECT_METRICS)[number], z.ZodOptional<typeof bound>>).strict();

export const scenarioSchema = z
  .object({
    name: name('a scenario name'),
    description: z.string().optional(),
    cluster: z
      .object({
        nodes: z
          .array(z.object({ name: name('a node name'), cpu: vcpus, memory: quantity }).strict())
          .min(2, 'expected at least 2 nodes (a migration needs somewhere to go)'),
        rancher: z
          .object({
            agentNode: z.string().optional(),
            agentNodes: z.array(z.string()).min(1, 'expected at least one node').optional(),
            agentReplicas: z.number().int('expected a whole number of replicas').min(1, 'expected at least 1 replica').max(10, 'expected at most 10 replicas').optional(),
            carrier: z.string({ invalid_type_error: 'expected the name of a node that runs an agent replica' }).optional(),
            syncOnlyChangedObjects: z.boolean({ invalid_type_error: 'expected true or false (CATTLE_SYNC_ONLY_CHANGED_OBJECTS=user on the Rancher server)' }).optional(),
            // The namespaces' Rancher project: its resource quota (limit) and namespace default; load.ts requires both.
            project: z.object({ limit: quota.optional(), namespaceDefault: quota.optional() }, { invalid_type_error: 'expected { limit: {...}, namespaceDefault: {...} }' }).strict().optional(),
          })
          .strict()
          .optional(),
        harvester: z.object({ additionalGuestMemoryOverheadRatio: overheadRatio.optional() }).strict().optional(),
        namespaces: z
          .array(z.object({ name: name('a namespace name'), quota, vms: z.array(vmSchema).default([]), pods: z.array(podSchema).default([]) }).strict())
          .min(1, 'expected at least one namespace'),
      })
      .strict(),
    actions: z.array(actionSchema).default([]),
    strategies: z.array(z.string()).min(1, 'expected at least one strategy').optional(),
    runs: z.number().int('expected a whole number of runs').min(1, 'expected at least 1 run').optional(),
    seed: z.number().int('expected an integer seed').min(0, 'expected a seed >= 0').optional(),
    horizon: duration.optional(),
    expect: z.record(z.string(), expectation).optional(),
    latencies: z
      .object(Object.fromEntries(LATENCY_NAMES.map((k) => [k, range.optional()])) as Record<(typeof LATENCY_NAMES)[number], z.ZodOptional<typeof range>>)
      .strict()
      .optional(),
  })
  .strict();

export type ScenarioFile = z.infer<typeof scenarioSchema>;
export type ActionFile = z.infer<typeof actionSchema>;
