import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, parseRancherQuota } from '../actors/rancher-quota.js';
import { migrationFinished, migrationRunning, type KObject } from '../cluster/objects.js';
import { equal } from '../cluster/resources.js';
import { formatQuantity } from '../cluster/quantity.js';
import { QUOTA_RESYNC_MS } from '../actors/quota-controller.js';
import { ANN_MIGRATING_NAME_PREFIX, ANN_MIGRATING_UID_PREFIX } from '../strategies/harvester-quota.js';
import type { StepObserver, World } from '../cluster/world.js';

export interface Violation {
  readonly invariant: string;
  /** When the bad condition began and when it had lasted past its grace period. */
  readonly since: number;
  readonly at: number;
  readonly step: number;
  readonly detail: string;
}

interface InvariantDef {
  readonly name: string;
  /** How long the condition may hold before it is a violation (convergence time). */
  readonly graceMs: number;
  /** Bad conditions in one namespace, each as a key and a description. */
  check(world: World, namespace: string): Array<[string, string]>;
}

/**
 * Properties that must hold at every step, not only at the end. Each is a condition that
 * the cluster may pass through briefly (controllers converge) but must not stay in longer
 * than its grace period; the first one to outstay it is the run's violation.
 */
export const INVARIANTS: readonly InvariantDef[] = [
  {
    // The user's value is a floor whenever no migration needs headroom: nobody may leave
    // the quota below it (pre-fix's subtraction after Rancher's reset does).
    name: 'quota-below-user-value',
    graceMs: 10_000,
    check(world, ns) {
      const base = parseRancherQuota(world.api.get('Namespace', ns)?.metadata.annotations[ANN_RANCHER_QUOTA])?.hard;
      if (!base) return [];
      // "Running" as KubeVirt's IsRunning: a Pending migration (a target pod refused by quota)
      // holds no headroom, so it does not excuse a quota below the user's value.
      if (world.api.list('VirtualMachineInstanceMigration', ns).some((m) => migrationRunning(m.status.phase))) return [];
      const rq = world.api.list('ResourceQuota', ns).find((q) => q.metadata.labels[LABEL_DEFAULT_RQ] === 'true');
      if (!rq) return [];
      const out: Array<[string, string]> = [];
      for (const k in base) {
        const h = rq.spec.hard[k];
        if (h !== undefined && h < base[k]!) {
          out.push([`${ns}/${k}`, `${ns} spec.hard ${k}=${formatQuantity(h, k)} is below the user's ${formatQuantity(base[k]!, k)} with no migration running`]);
        }
      }
      return out;
    },
  },
  {
    // A migration annotation is Harvester's claim of headroom; it must go when the migration ends.
    name: 'migration-annotation-left-behind',
    graceMs: 60_000,
    check(world, ns) {
      const out: Array<[string, string]> = [];
      for (const rq of world.api.list('ResourceQuota', ns)) {
        for (const key in rq.metadata.annotations) {
          let vmi: string | undefined;
          if (key.startsWith(ANN_MIGRATING_UID_PREFIX)) {
            const uid = key.slice(ANN_MIGRATING_UID_PREFIX.length);
            vmi = world.api.list('VirtualMachineInstance', ns).find((v) => v.metadata.uid === uid)?.metadata.name;
          } else if (key.startsWith(ANN_MIGRATING_NAME_PREFIX)) vmi = key.slice(ANN_MIGRATING_NAME_PREFIX.length);
          else continue;
          const running = world.api
            .list('VirtualMachineInstanceMigration', ns)
            .some((m) => m.spec.vmiName === vmi && !migrationFinished(m.status.phase));
          if (!running) out.push([`${ns}/${key}`, `${ns} quota keeps ${key} though ${vmi ?? 'its VM'} has no migration running`]);
        }
      }
      return out;
    },
  },
  {
    // The quota controller copies spec.hard to status.hard at the latest on its resync.
    name: 'status-hard-not-following-spec',
    graceMs: QUOTA_RESYNC_MS + 60_000,
    check(world, ns) {
      const out: Array<[string, string]> = [];
      for (const rq of world.api.list('ResourceQuota', ns)) {
        if (!equal(rq.spec.hard, rq.status.hard)) out.push([`${ns}/${rq.metadata.name}`, `${ns} status.hard differs from spec.hard`]);
      }
      return out;
    },
  },
];

/** Watches the API server and reports the first invariant violation of a run. */
export class InvariantChecker implements StepObserver {
  private readonly bad = new Map<string, { def: InvariantDef; since: number; detail: string }>();
  first: Violation | undefined;

  constructor(private readonly world: World) {
    const onChange = (_o: KObject | undefined, c: KObject | undefined, old?: KObject): void => {
      const obj = c ?? old;
      if (obj) this.evaluate(obj.kind === 'Namespace' ? obj.metadata.name : obj.metadata.namespace);
    };
    for (const kind of ['ResourceQuota', 'VirtualMachineInstanceMigration', 'Namespace'] as const) {
      world.api.watch(kind, (o, c) => onChange(o, c, o));
    }
    // Part of the state key: a run that already broke an invariant, or has a bad condition
    // running since some time, ends differently from one that has not (its failure kind).
    world.registerState('invariants', 'checker', () => {
      if (this.first) return `broken:${this.first.invariant}:${this.first.detail}`;
      const now = world.now;
      return [...this.bad].map(([id, b]) => `${id}@${b.since - now}:${b.detail}`).sort().join(',');
    });
  }

  private evaluate(ns: string): void {
    const now = this.world.now;
    const seen = new Set<string>();
    for (const def of INVARIANTS) {
      for (const [key, detail] of def.check(this.world, ns)) {
        const id = `${def.name}:${key}`;
        seen.add(id);
        if (!this.bad.has(id)) this.bad.set(id, { def, since: now, detail });
      }
    }
    for (const id of this.bad.keys()) if (id.includes(`:${ns}/`) && !seen.has(id)) this.bad.delete(id);
  }

  /** After every step: has a bad condition outstayed its grace? */
  afterStep(): void {
    if (this.first || this.bad.size === 0) return;
    const now = this.world.now;
    for (const b of this.bad.values()) {
      if (now - b.since >= b.def.graceMs) {
        this.first = { invariant: b.def.name, since: b.since, at: now, step: this.world.kernel.steps, detail: b.detail };
        return;
      }
    }
  }

  /** At the end of a settled run, a bad condition will never clear: it is a violation. */
  finish(settled: boolean): void {
    if (this.first) return;
    for (const b of this.bad.values()) {
      if (settled || this.world.now - b.since >= b.def.graceMs) {
        this.first = { invariant: b.def.name, since: b.since, at: this.world.now, step: this.world.kernel.steps, detail: b.detail };
        return;
      }
    }
  }
}
