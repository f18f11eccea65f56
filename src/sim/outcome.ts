import { LABEL_CREATED_BY } from '../actors/kubevirt/names.js';
import { LABEL_DEFAULT_RQ } from '../actors/rancher-quota.js';
import type { VirtualMachineInstance } from '../cluster/objects.js';
import { podCountsForQuota } from '../cluster/objects.js';
import type { Intent } from '../actors/user.js';
import type { Counters } from '../cluster/recorder.js';
import type { Violation } from './invariants.js';
import type { World } from '../cluster/world.js';
import type { Metric } from '../scenario/metrics.js';

export interface QuotaCheck {
  readonly namespace: string;
  readonly resource: string;
  readonly wanted: number;
  /** spec.hard at the end; undefined if the key or the quota is gone. */
  readonly actual: number | undefined;
  /**
   * The user's latest wish for this key when it was never accepted and is below what the
   * namespace uses (a legitimate, lasting refusal): `wanted` is then the last accepted value.
   */
  readonly refusedWish?: number;
}

/** What one run ended as. */
export interface RunOutcome {
  readonly seed: number;
  /** Every namespace's spec.hard equals, for each key the user set, the last value asked for. */
  readonly quotaCorrect: boolean;
  readonly quota: readonly QuotaCheck[];
  /** VMs that had to move (drained node or migrate) and run elsewhere at the end. */
  readonly moved: number;
  /** VMs that had to move and still run: the stopped ones are not counted. */
  readonly mustMove: number;
  /** VMs that had to move and still run on their node. */
  readonly stuck: readonly string[];
  /**
   * VMs that had to move and stopped instead: the drain deleted the pod of an evictionStrategy
   * None VM (no live migration, no PDB). Neither moved nor stuck.
   */
  readonly stopped: readonly string[];
  readonly counters: Counters;
  /** False when the horizon stopped a run that was still busy. */
  readonly settled: boolean;
  /**
   * Why the run ended: settled (no work left), horizon, quiescent (no API write for 10 min:
   * only retries against an unchanging cluster were left), stuck (only processes waiting for a
   * change nothing could make).
   */
  readonly ended: EndReason;
  readonly endMs: number;
  readonly steps: number;
  /** The first invariant that stayed violated past its grace period. */
  readonly violation: Violation | undefined;
  /** How many choices the run made. */
  readonly choiceCount: number;
  /**
   * The end state that matters to the outcome: quotas (spec, status, annotations), where each
   * VM runs, each migration's phase, each namespace's quota annotation. Two runs with equal
   * fingerprints ended the same way.
   */
  readonly fingerprint: string;
}

export type EndReason = 'settled' | 'horizon' | 'quiescent' | 'stuck';

/** A run fails when its quota is wrong, a VM that had to move did not, or an invariant broke. */
export function failed(o: RunOutcome): boolean {
  return !o.quotaCorrect || o.moved < o.mustMove || o.violation !== undefined;
}

export { METRICS, type Metric } from '../scenario/metrics.js';

/**
 * Which outcomes a run breaks: the final quota is wrong (quota), a VM that had to move did
 * not (migrations), an invariant broke (invariants), the horizon stopped it still busy
 * (settled). The first three make a failing run; an unsettled run alone is not one.
 */
export function brokenMetrics(o: RunOutcome): Metric[] {
  const out: Metric[] = [];
  if (!o.quotaCorrect) out.push('quota');
  if (o.moved < o.mustMove) out.push('migrations');
  if (o.violation) out.push('invariants');
  if (!o.settled) out.push('settled');
  return out;
}

/** Does the run break this metric? */
export function breaks(o: RunOutcome, m: Metric): boolean {
  return brokenMetrics(o).includes(m);
}

/**
 * What kind of failure, coarsely: which quota keys are wrong, whether a VM is stuck, which
 * invariant broke. Shrinking must preserve it, and it groups failing seeds into evidence.
 */
export function failureKind(o: RunOutcome): string {
  const parts: string[] = [];
  if (!o.quotaCorrect) parts.push('quota ' + o.quota.filter((c) => c.actual !== c.wanted).map((c) => `${c.namespace}/${c.resource}`).join(' '));
  if (o.moved < o.mustMove) parts.push('stuck');
  if (o.violation) parts.push('invariant ' + o.violation.invariant);
  return parts.join('; ');
}

/** The failure in detail: which VMs are stuck, too. */
export function failureSignature(o: RunOutcome): string {
  const parts: string[] = [];
  if (!o.quotaCorrect) parts.push('quota ' + o.quota.filter((c) => c.actual !== c.wanted).map((c) => `${c.namespace}/${c.resource}`).join(' '));
  if (o.moved < o.mustMove) parts.push('stuck ' + o.stuck.join(' '));
  if (o.violation) parts.push('invariant ' + o.violation.invariant);
  return parts.join('; ');
}

export function judge(
  world: World,
  intent: Intent,
  homes: ReadonlyMap<string, string>,
  mustMove: ReadonlySet<string>,
  settled: boolean,
  seed: number,
  violation: Violation | undefined,
  ended: EndReason,
): RunOutcome {
  // What is the right quota? The user's latest wish, except a wish that was never accepted
  // because it asks for less than the namespace uses: Harvester's webhook refuses it for good,
  // rightly (checkIfNewResourceQuotaIsSufficient), so the quota is judged against the last
  // accepted wish and the refused one is reported beside it. Any other unaccepted wish (refused
  // while migrations run, or while no agent is connected) still counts: the user was kept from
  // a legitimate change.
  const quota: QuotaCheck[] = [];
  for (const [ns, wanted] of intent.wanted) {
    const quotas = world.api.list('ResourceQuota', ns);
    const rq = quotas.find((q) => q.metadata.labels[LABEL_DEFAULT_RQ] === 'true') ?? quotas[0];
    const accepted = intent.accepted.get(ns) ?? {};
    for (const [resource, value] of Object.entries(wanted)) {
      const used = rq?.status.used[resource];
      const lasting = accepted[resource] !== value && used !== undefined && value < used && accepted[resource] !== undefined;
      quota.push(lasting ? { namespace: ns, resource, wanted: accepted[resource]!, actual: rq?.spec.hard[resource], refusedWish: value } : { namespace: ns, resource, wanted: value, actual: rq?.spec.hard[resource] });
    }
  }
  let moved = 0;
  const stuck: string[] = [];
  const stopped: string[] = [];
  for (const key of mustMove) {
    const vmi = world.api.get('VirtualMachineInstance', key);
    if (vmi && vmi.status.nodeName !== homes.get(key)) moved++;
    else if (vmi && !runs(world, vmi)) stopped.push(key);
    else stuck.push(key);
  }
  return {
    seed,
    quotaCorrect: quota.every((c) => c.actual === c.wanted),
    quota,
    moved,
    mustMove: mustMove.size - stopped.length,
    stuck,
    stopped,
    counters: { ...world.recorder.counters },
    settled,
    ended,
    endMs: world.now,
    steps: world.kernel.steps,
    violation,
    choiceCount: world.choices.count,
    fingerprint: fingerprint(world),
  };
}

/**
 * Whether a VMI still runs: it has a virt-launcher pod that is not Succeeded or Failed. One
 * whose pods are gone has stopped: KubeVirt's VMI controller fails a Running VMI whose pod no
 * longer exists (v1.3.1 pkg/virt-controller/watch/vmi.go updateStatus, `case vmi.IsRunning():
 * if !vmiPodExists → Failed`). The VM's run strategy restarting it elsewhere is not modelled.
 */
function runs(world: World, vmi: VirtualMachineInstance): boolean {
  const ns = runningVmis(world).get(vmi.metadata.uid);
  return ns !== undefined && (ns === vmi.metadata.namespace || (typeof ns !== 'string' && ns.has(vmi.metadata.namespace)));
}

/**
 * The UID of every VMI with a pod that still runs, to the pod's namespace (or namespaces, if
 * pods of several name it): one pass over the pods at the end of a run, instead of a lookup per
 * VMI (which would index the pods of a 1,000-VM cluster), and no key string made per pod.
 */
function runningVmis(world: World): ReadonlyMap<string, string | ReadonlySet<string>> {
  const cached = running.get(world);
  if (cached) return cached;
  const out = new Map<string, string | Set<string>>();
  for (const p of world.api.list('Pod')) {
    const uid = p.metadata.labels[LABEL_CREATED_BY];
    if (uid === undefined || !podCountsForQuota(p)) continue;
    const ns = p.metadata.namespace;
    const there = out.get(uid);
    if (there === undefined) out.set(uid, ns);
    else if (typeof there === 'string') {
      if (there !== ns) out.set(uid, new Set([there, ns]));
    } else there.add(ns);
  }
  running.set(world, out);
  return out;
}

/** judge() reads the end state once: the map is computed on first use. */
const running = new WeakMap<World, ReadonlyMap<string, string | ReadonlySet<string>>>();

function fingerprint(world: World): string {
  const api = world.api;
  const parts: string[] = [];
  for (const q of api.list('ResourceQuota')) {
    parts.push(`${q.metadata.namespace}/${q.metadata.name}:${json(q.spec.hard)}:${json(q.status.hard)}:${keyList(q.metadata.annotations)}`);
  }
  for (const v of api.list('VirtualMachineInstance')) parts.push(`${v.metadata.name}@${v.status.nodeName}${runs(world, v) ? '' : ' stopped'}`);
  for (const m of api.list('VirtualMachineInstanceMigration')) parts.push(`${m.metadata.name}:${m.status.phase}`);
  for (const n of api.list('Namespace')) parts.push(`${n.metadata.name}:${json(n.metadata.annotations)}`);
  return parts.join('\n');
}

/**
 * JSON.stringify of a part of a stored object, and its keys sorted and joined, kept by the part:
 * stored objects are frozen through, and a part no write replaced is the cluster at rest's, which
 * every run of a scenario shares (sim/at-rest.ts), so an idle cluster's quotas and namespaces are
 * written out once, not once a run.
 */
const jsonOf = new WeakMap<object, string>();
const keysOf = new WeakMap<object, string>();

function json(part: Readonly<Record<string, unknown>> | undefined): string {
  // Not an object (a quota without status.hard): as JSON.stringify writes it, nothing kept.
  if (typeof part !== 'object' || part === null) return `${JSON.stringify(part)}`;
  let s = jsonOf.get(part);
  if (s === undefined) jsonOf.set(part, (s = JSON.stringify(part)));
  return s;
}

function keyList(part: Readonly<Record<string, unknown>>): string {
  let s = keysOf.get(part);
  if (s === undefined) keysOf.set(part, (s = Object.keys(part).sort().join(',')));
  return s;
}
