import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, parseRancherQuota } from '../actors/rancher-quota.js';
import { memoryOverheadBytes } from '../cluster/launcher.js';
import type { Namespace, ResourceQuota, VirtualMachineInstance } from '../cluster/objects.js';
import { formatQuantity, parseQuantity } from '../cluster/quantity.js';
import type { ResourceList } from '../cluster/resources.js';
import { LIMITS_CPU, LIMITS_MEMORY } from '../cluster/resources.js';
import type { AdmissionRequest, View, WebhookDef } from './api.js';

/**
 * Harvester's ResourceQuota helpers, shared by the pre-fix and v1.4.2 strategies
 * (harvester pkg/util/resourcequota/{utils,calculator}.go, pkg/util/constants.go,
 * pkg/util/annotationkey.go).
 */
export const ANN_MIGRATING_NAME_PREFIX = 'harvesterhci.io/migrating-';
export const ANN_MIGRATING_UID_PREFIX = 'harvesterhci.io/migratingUID-';
export const ANN_SKIP_AUTOSCALING = 'harvesterhci.io/skipResourceQuotaAutoScaling';

/** The quota Rancher manages in a namespace: the first with the default-resource-quota label. */
export function defaultQuota(view: View, namespace: string): ResourceQuota | undefined {
  return view.list('ResourceQuota', namespace).find((q) => q.metadata.labels[LABEL_DEFAULT_RQ] === 'true');
}

/**
 * CalculateScaleResourceQuotaWithVMI: the VMI's cpu limit, and its memory limit plus
 * KubeVirt's overhead. v1.4.1 passes ratio nil; v1.4.2 passes the
 * additional-guest-memory-overhead-ratio setting.
 */
export function vmiDelta(vmi: VirtualMachineInstance, ratio: number | undefined): ResourceList {
  const overhead = memoryOverheadBytes(vmi.spec.cpu, vmi.spec.memoryRequest / 1000, ratio) * 1000;
  return { [LIMITS_CPU]: vmi.spec.cpu * 1000, [LIMITS_MEMORY]: vmi.spec.memoryLimit + overhead };
}

/**
 * The annotation value: a ResourceList as Go's json.Marshal writes it (AddMigratingVM /
 * UpdateMigratingVM), each Quantity in its canonical form: the cpu limit DecimalSI ("1",
 * "4015m"), the memory limit (the VMI's BinarySI limit plus the overhead) BinarySI, so a
 * whole number of Mi prints as "1266Mi" (harvester v1.4.1 vmim_controller_test.go "In Pending")
 * and any other byte count as digits ("1454375216", v1.4.2's test; "1456469952", PR #7504).
 */
export function encodeDelta(delta: ResourceList): string {
  const out: Record<string, string> = {};
  for (const k of Object.keys(delta).sort()) out[k] = formatQuantity(delta[k]!, k);
  return JSON.stringify(out);
}

const decoded = new Map<string, ResourceList>();

/**
 * A migrating annotation's value read leniently: an unparsable quantity counts 0 and
 * malformed JSON throws. For reports and the hypothetical rancher-keeps-share design only;
 * Harvester's controllers read it with {@link decodeDeltaStrict}.
 */
export function decodeDelta(text: string): ResourceList {
  let d = decoded.get(text);
  if (!d) {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(JSON.parse(text) as Record<string, string>)) out[k] = parseQuantity(v) ?? 0;
    decoded.set(text, (d = out));
  }
  return d;
}

/**
 * k8s.io/apimachinery resource.ParseQuantity's first error, ErrFormatWrong (what a trailing
 * word such as "2Gi invalid" gets; ErrNumeric / ErrSuffix are not told apart here).
 */
export const ERR_QUANTITY_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/**
 * resource.ParseQuantity in milli-units, or undefined on error. Unlike {@link parseQuantity}
 * (which trims, for scenario files) it refuses surrounding spaces, and it takes a sign.
 */
export function goParseQuantity(text: string): number | undefined {
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.startsWith('-') || text.startsWith('+') ? text.slice(1) : text;
  if (body === '' || body !== body.trim()) return undefined;
  const v = parseQuantity(body);
  return v === undefined ? undefined : sign * v;
}

const strict = new Map<string, ResourceList | null>();

/**
 * json.Unmarshal of an annotation value into a corev1.ResourceList, or undefined when it
 * fails: the JSON is malformed or not an object, or a value is not a quantity
 * (Quantity.UnmarshalJSON: a JSON string or number run through ParseQuantity; null is 0).
 * harvester v1.4.1 pkg/util/resourcequota/utils.go GetResourceListFromMigratingVM,
 * v1.4.2 getResourceListFromMigratingVMs.
 */
export function decodeDeltaStrict(text: string): ResourceList | undefined {
  let d = strict.get(text);
  if (d === undefined) {
    d = null;
    try {
      const json: unknown = JSON.parse(text);
      if (json === null) d = {};
      else if (typeof json === 'object' && !Array.isArray(json)) {
        const out: Record<string, number> = {};
        let ok = true;
        for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
          const q = v === null ? 0 : typeof v === 'string' || typeof v === 'number' ? goParseQuantity(String(v)) : undefined;
          if (q === undefined) ok = false;
          else out[k] = q;
        }
        if (ok) d = out;
      }
    } catch {
      d = null;
    }
    strict.set(text, d);
  }
  return d ?? undefined;
}

/**
 * The delta Harvester records for a VMI (CalculateScaleResourceQuotaWithVMI, harvester
 * v1.4.1 and v1.4.2 pkg/util/resourcequota/calculator.go): limits.cpu only if spec.hard has
 * a limits.cpu key, limits.memory (with overhead) only if it has a limits.memory key.
 * v1.4.1 passes ratio nil (1.0); v1.4.2 the additional-guest-memory-overhead-ratio setting.
 */
export function scaleDelta(rq: ResourceQuota, vmi: VirtualMachineInstance, ratio: number | undefined): ResourceList {
  const full = vmiDelta(vmi, ratio);
  const out: Record<string, number> = {};
  for (const k of [LIMITS_CPU, LIMITS_MEMORY]) if (k in rq.spec.hard && full[k]) out[k] = full[k];
  return out;
}

/** How {@link hardWithDeltas} picks the keys it moves, after the Harvester release that does it. */
export interface HardWithDeltasOptions {
  /**
   * 'v1.4.2' (default; CalculateNewResourceQuotaFromBaseDelta): every key whose base is
   * non-zero is set to base + delta (a missing delta counts 0).
   * 'v1.4.1' (CalculateScaleResourceQuotaWithVMI / CalculateRestoreResourceQuotaWithVMI):
   * a key the base has is moved by its delta when the delta is non-zero.
   */
  rule?: 'v1.4.1' | 'v1.4.2';
  /** -1 subtracts the deltas (v1.4.1's restore). Default 1. */
  sign?: 1 | -1;
  /** The list the result starts from (its other keys are kept). Default: `base`. */
  onto?: ResourceList;
}

/**
 * spec.hard = base ± deltas, for limits.cpu and limits.memory (the only keys Harvester
 * scales): a copy of `onto` (default `base`) with those keys moved as `rule` says.
 */
export function hardWithDeltas(base: ResourceList, deltas: ResourceList, opts: HardWithDeltasOptions = {}): Record<string, number> {
  const hard: Record<string, number> = { ...(opts.onto ?? base) };
  const subtract = opts.sign === -1;
  const v141 = opts.rule === 'v1.4.1';
  for (const k of [LIMITS_CPU, LIMITS_MEMORY]) {
    const b = base[k];
    const d = deltas[k];
    if (v141) {
      if (b !== undefined && d) hard[k] = subtract ? b - d : b + d;
    } else if (b) hard[k] = subtract ? b - (d ?? 0) : b + (d ?? 0);
  }
  return hard;
}

/** Whether two lists differ in limits.cpu or limits.memory (what {@link hardWithDeltas} moves). */
export function limitsDiffer(a: ResourceList, b: ResourceList): boolean {
  return a[LIMITS_CPU] !== b[LIMITS_CPU] || a[LIMITS_MEMORY] !== b[LIMITS_MEMORY];
}

export function isMigratingKey(key: string): boolean {
  return key.startsWith(ANN_MIGRATING_UID_PREFIX) || key.startsWith(ANN_MIGRATING_NAME_PREFIX);
}

/** HasMigratingVM: any annotation with either prefix. */
export function hasMigratingVM(rq: ResourceQuota): boolean {
  for (const k in rq.metadata.annotations) if (isMigratingKey(k)) return true;
  return false;
}

/**
 * Sum of the deltas of every migrating annotation, leniently ({@link decodeDelta}: a bad
 * quantity counts 0). Only the hypothetical rancher-keeps-share design uses it; v1.4.2's
 * controller uses {@link migratingDeltasStrict}.
 */
export function migratingDeltas(rq: ResourceQuota): Record<string, number> {
  const sum: Record<string, number> = {};
  const a = rq.metadata.annotations;
  for (const k in a) {
    if (!isMigratingKey(k)) continue;
    const d = decodeDelta(a[k]!);
    for (const r in d) sum[r] = (sum[r] ?? 0) + d[r]!;
  }
  return sum;
}

/**
 * GetVMIMResourcesFromRQAnnotation (harvester v1.4.2 pkg/util/resourcequota/calculator.go,
 * over utils.go getResourceListFromMigratingVMs): the sum of every migrating annotation's
 * deltas, or undefined when any one fails to unmarshal ("failed to unmarshal vm %v
 * quantity %v %w"), which scaleResourceQuotaOnDemand turns into errSkipScaling: one bad
 * annotation freezes the quota's scaling until it is removed.
 */
export function migratingDeltasStrict(rq: ResourceQuota): Record<string, number> | undefined {
  const sum: Record<string, number> = {};
  const a = rq.metadata.annotations;
  for (const k in a) {
    if (!isMigratingKey(k)) continue;
    const d = decodeDeltaStrict(a[k]!);
    if (!d) return undefined;
    for (const r in d) sum[r] = (sum[r] ?? 0) + d[r]!;
  }
  return sum;
}

/** The user's base: limitsCpu/limitsMemory from the namespace annotation, as Rancher's own parser reads it. */
export function rancherBase(ns: Namespace | undefined): ResourceList | undefined {
  return parseRancherQuota(ns?.metadata.annotations[ANN_RANCHER_QUOTA])?.hard;
}

/** rancher pkg/apis/management.cattle.io/v3 NamespaceResourceQuota.Limit, the two fields Harvester reads. */
export interface CattleLimit {
  readonly limitsCpu: string;
  readonly limitsMemory: string;
}

const cattle = new Map<string, CattleLimit | string>();

/**
 * json.Unmarshal of the namespace's field.cattle.io/resourceQuota into a
 * *v3.NamespaceResourceQuota, as Harvester does it (Go's encoding/json: field names match
 * case-insensitively, a later key wins, other keys are ignored, a non-string limitsCpu is
 * an error, null leaves the field ""). Returns the two limits, or the error's text
 * (an approximation of Go's; the model only tells error from success).
 */
export function unmarshalCattleQuota(text: string): CattleLimit | string {
  let r = cattle.get(text);
  if (r === undefined) {
    r = decodeCattle(text);
    cattle.set(text, r);
  }
  return r;
}

function decodeCattle(text: string): CattleLimit | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    // null would leave the pointer nil and Harvester would dereference it; treated as an error here.
    return `json: cannot unmarshal ${json === null ? 'null' : Array.isArray(json) ? 'array' : typeof json} into Go value of type v3.NamespaceResourceQuota`;
  }
  const limit = { limitsCpu: '', limitsMemory: '' };
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    if (k.toLowerCase() !== 'limit' || v === null) continue;
    if (typeof v !== 'object' || Array.isArray(v)) return `json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go struct field NamespaceResourceQuota.limit of type v3.ResourceQuotaLimit`;
    for (const [f, q] of Object.entries(v as Record<string, unknown>)) {
      const field = f.toLowerCase() === 'limitscpu' ? 'limitsCpu' : f.toLowerCase() === 'limitsmemory' ? 'limitsMemory' : undefined;
      if (!field || q === null) continue;
      if (typeof q !== 'string') return `json: cannot unmarshal ${typeof q} into Go struct field ResourceQuotaLimit.limit.${field} of type string`;
      limit[field] = q;
    }
  }
  return limit;
}

/**
 * What v1.4.2's ResourceQuota controller makes of the namespace annotation
 * (resourcequota_controller.go scaleResourceQuotaOnDemand, steps in its order):
 * - "" or absent: `skip` (errSkipScaling: no write, no requeue);
 * - JSON that does not unmarshal: `error` (the raw error is returned: re-queued with the
 *   rate limiter for ever);
 * - an empty quota (IsEmptyResourceQuota): `skip`;
 * - a limitsCpu/limitsMemory that ParseQuantity refuses: `skip`
 *   (GetCPUMemoryLimitsFromRancherNamespaceResourceQuota; "" reads 0);
 * - else the base.
 */
export function harvesterBase(rq: ResourceQuota, text: string | undefined): { base: ResourceList } | { error: string } | 'skip' {
  if (!text) return 'skip';
  const limit = unmarshalCattleQuota(text);
  if (typeof limit === 'string') return { error: limit };
  if (isEmptyQuota(rq)) return 'skip';
  const cpu = limit.limitsCpu === '' ? 0 : goParseQuantity(limit.limitsCpu);
  const memory = limit.limitsMemory === '' ? 0 : goParseQuantity(limit.limitsMemory);
  if (cpu === undefined || memory === undefined) return 'skip';
  return { base: { [LIMITS_CPU]: cpu, [LIMITS_MEMORY]: memory } };
}

/** IsEmptyResourceQuota / isEmptyQuota: hard limits.cpu and limits.memory both zero or missing. */
export function isEmptyQuota(rq: ResourceQuota): boolean {
  return !rq.spec.hard[LIMITS_CPU] && !rq.spec.hard[LIMITS_MEMORY];
}

export function withAnnotations(rq: ResourceQuota, annotations: Record<string, string>): ResourceQuota {
  return { ...rq, metadata: { ...rq.metadata, annotations } };
}

/** The name Harvester registers its validating webhook under (harvester pkg/webhook/server/server.go, v1.4.1 and v1.4.2). */
export const HARVESTER_VALIDATOR = 'validator.harvesterhci.io';

/**
 * Harvester's namespace validator (pkg/webhook/resources/namespace/validator.go
 * namespaceValidator.Update, served by the webhook validator.harvesterhci.io), read at
 * harvester v1.4.1 and v1.4.2, which differ only in wording. On a Namespace UPDATE whose
 * field.cattle.io/resourceQuota is non-empty and changed, with the namespace's first
 * default-labelled quota from Harvester's cache (none: allowed):
 * - the quota has any migrating annotation (HasMigratingVM): refused;
 * - else checkIfNewResourceQuotaIsSufficient: the annotation must unmarshal, and a non-empty
 *   limitsCpu/limitsMemory must parse and not be below the quota's status.used (missing
 *   used counts 0: a new limit of 0 is refused while anything is used). Its error is wrapped
 *   v1.4.1 "cannot update the resource quota of namespace %s, error: %s" / v1.4.2
 *   "can't update the resource quota of namespace %s, error: %w"; v1.4.2 also wraps the
 *   inner JSON and quantity errors ("invalid NamespaceResourceQuota %s, error: %w",
 *   "invalid LimitsCPU %s, error: %w", "invalid LimitsMemory %s, error: %w").
 * There is no upstream unit test of this validator (no pkg/webhook/resources/namespace/*_test.go
 * at either tag); its tests are in test/cluster-rules.test.ts.
 */
export function namespaceValidator(wording: 'v1.4.1' | 'v1.4.2'): WebhookDef {
  const v142 = wording === 'v1.4.2';
  return {
    name: HARVESTER_VALIDATOR,
    kind: 'Namespace',
    validate(req: AdmissionRequest, view: View): string | undefined {
      if (req.operation !== 'UPDATE' || !req.old) return undefined;
      const next = req.object.metadata.annotations[ANN_RANCHER_QUOTA];
      if (!next || next === req.old.metadata.annotations[ANN_RANCHER_QUOTA]) return undefined;
      const name = req.object.metadata.name;
      const rq = defaultQuota(view, req.old.metadata.name);
      if (!rq) return undefined;
      if (hasMigratingVM(rq)) {
        return v142 ? `namespace ${name} has migrating VMs, can't change resource quotas` : `namespace ${name} has migrating VMs, so you can't change resource quotas`;
      }
      const err = insufficient(rq, next, v142);
      if (err === undefined) return undefined;
      return v142 ? `can't update the resource quota of namespace ${name}, error: ${err}` : `cannot update the resource quota of namespace ${name}, error: ${err}`;
    },
  };
}

/** checkIfNewResourceQuotaIsSufficient (validator.go): the inner error, or undefined. */
function insufficient(rq: ResourceQuota, text: string, v142: boolean): string | undefined {
  const limit = unmarshalCattleQuota(text);
  if (typeof limit === 'string') return v142 ? `invalid NamespaceResourceQuota ${text}, error: ${limit}` : limit;
  if (limit.limitsCpu === '' && limit.limitsMemory === '') return undefined;
  for (const [key, field, label, Field] of [
    [LIMITS_CPU, 'limitsCpu', 'CPU', 'LimitsCPU'],
    [LIMITS_MEMORY, 'limitsMemory', 'Memory', 'LimitsMemory'],
  ] as const) {
    const text = limit[field];
    if (text === '') continue;
    const wanted = goParseQuantity(text);
    if (wanted === undefined) return v142 ? `invalid ${Field} ${text}, error: ${ERR_QUANTITY_FORMAT}` : ERR_QUANTITY_FORMAT;
    const used = rq.status.used[key] ?? 0;
    if (used > wanted) {
      return `new ${label} limit ${formatQuantity(wanted, key)} is lower than the current used ${label} limit ${formatQuantity(used, key)}`;
    }
  }
  return undefined;
}
