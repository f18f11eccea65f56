import { LABEL_DEFAULT_RQ } from '../actors/rancher-quota.js';
import type { Intent } from '../actors/user.js';
import type { Counters } from './recorder.js';
import type { World } from './world.js';

export interface QuotaCheck {
  readonly namespace: string;
  readonly resource: string;
  readonly wanted: number;
  /** spec.hard at the end; undefined if the key or the quota is gone. */
  readonly actual: number | undefined;
}

/** What one run ended as. */
export interface RunOutcome {
  readonly seed: number;
  /** Every namespace's spec.hard equals, for each key the user set, the last value asked for. */
  readonly quotaCorrect: boolean;
  readonly quota: readonly QuotaCheck[];
  /** VMs that had to move (drained node or migrate) and run elsewhere at the end. */
  readonly moved: number;
  readonly mustMove: number;
  readonly stuck: readonly string[];
  readonly counters: Counters;
  /** False when the horizon stopped a run that was still busy. */
  readonly settled: boolean;
  readonly endMs: number;
  readonly steps: number;
}

export function judge(
  world: World,
  intent: Intent,
  homes: ReadonlyMap<string, string>,
  mustMove: ReadonlySet<string>,
  settled: boolean,
  seed: number,
): RunOutcome {
  const quota: QuotaCheck[] = [];
  for (const [ns, wanted] of intent.wanted) {
    const quotas = world.api.list('ResourceQuota', ns);
    const rq = quotas.find((q) => q.metadata.labels[LABEL_DEFAULT_RQ] === 'true') ?? quotas[0];
    for (const [resource, value] of Object.entries(wanted)) {
      quota.push({ namespace: ns, resource, wanted: value, actual: rq?.spec.hard[resource] });
    }
  }
  let moved = 0;
  const stuck: string[] = [];
  for (const key of mustMove) {
    const vmi = world.api.get('VirtualMachineInstance', key);
    if (vmi && vmi.status.nodeName !== homes.get(key)) moved++;
    else stuck.push(key);
  }
  return {
    seed,
    quotaCorrect: quota.every((c) => c.actual === c.wanted),
    quota,
    moved,
    mustMove: mustMove.size,
    stuck,
    counters: { ...world.recorder.counters },
    settled,
    endMs: world.now,
    steps: world.kernel.steps,
  };
}
