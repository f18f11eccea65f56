import { isRancherActor } from '../actors/rancher-server.js';
import { limitToHard, parseRancherQuota } from '../actors/rancher-quota.js';
import type { ResourceQuota } from '../cluster/objects.js';
import { launcherPodVm } from '../cluster/launcher.js';
import { formatQuantity, isByteResource } from '../cluster/quantity.js';
import type { Scenario } from '../scenario/model.js';
import type { RunOutcome } from '../sim/outcome.js';
import { ANN_MIGRATING_NAME_PREFIX, ANN_MIGRATING_UID_PREFIX, decodeDelta } from '../strategies/harvester-quota.js';
import type { TimelineEntry } from '../sim/timeline.js';
import { human } from './units.js';

/** What a step means for the race, when it is one of the moves that decide it. */
export type RaceTag = 'reset' | 'raise' | 'restore' | 'edit' | 'agent' | 'migration' | 'refused-pod' | 'conflict' | 'status' | 'used';

export interface QuotaState {
  readonly specHard: string;
  readonly statusHard: string;
  readonly used: string;
  readonly migrations: string;
  readonly wish: string;
}

export interface RaceStep {
  /** Position in the full timeline (0-based). */
  readonly index: number;
  /** The kernel step. */
  readonly step: number;
  readonly t: number;
  readonly actor: string;
  readonly kind: 'write' | 'refused' | 'note' | 'delivery';
  readonly text: string;
  readonly tag?: RaceTag;
  /** A short label for the mark: "reset", "raise vm-2", ... */
  readonly label: string;
  /** The failing namespace's quota after this step. */
  readonly state: QuotaState;
  /** Which of the state's fields this step changed. */
  readonly changed: ReadonlyArray<keyof QuotaState>;
}

export interface QuotaSeries {
  readonly namespace: string;
  readonly resource: string;
  /** The unit the points are in: the largest in which every value is a whole number ("cores", "m", "Gi", "bytes"). */
  readonly unit: string;
  readonly wrong: boolean;
  /** `by`: on a spec.hard point that a write changed, the actor (the rule) that wrote it. */
  readonly points: ReadonlyArray<{ t: number; series: string; value: number; by?: string }>;
  /** Each series' last value, exactly as the trace prints it ("6055m", "24Gi"). */
  readonly ends: ReadonlyArray<{ series: string; value: string }>;
}

export interface RaceMarker {
  readonly t: number;
  readonly kind: 'agent restart' | 'Rancher reset' | 'migration start' | 'migration end' | 'user edit';
  readonly label: string;
}

export interface RaceData {
  readonly namespace: string;
  readonly keys: readonly string[];
  readonly steps: readonly RaceStep[];
  /** Entries of the timeline in all, and how many the zoom leaves out. */
  readonly total: number;
  readonly omitted: number;
  readonly actors: readonly string[];
  readonly quotas: readonly QuotaSeries[];
  readonly markers: readonly RaceMarker[];
  readonly endMs: number;
}

const MAX_STEPS = 48;

function annotationVm(key: string, uidNames: ReadonlyMap<string, string>): string | undefined {
  if (key.startsWith(ANN_MIGRATING_UID_PREFIX)) return uidNames.get(key.slice(ANN_MIGRATING_UID_PREFIX.length)) ?? key.slice(ANN_MIGRATING_UID_PREFIX.length, ANN_MIGRATING_UID_PREFIX.length + 8);
  if (key.startsWith(ANN_MIGRATING_NAME_PREFIX)) return key.slice(ANN_MIGRATING_NAME_PREFIX.length);
  return undefined;
}

const list = (l: Readonly<Record<string, number>>, keys: readonly string[]) => keys.map((k) => `${short(k)} ${l[k] === undefined ? '∅' : human(l[k]!, k)}`).join(' · ');
const short = (k: string) => k.replace(/^limits\./, '').replace(/^requests\./, 'req.');

/**
 * The race of one failing run, for the report: the steps that decide it (quota writes,
 * Rancher's reset, Harvester's raises and restores, the user's edits, the agent's restart,
 * migrations starting and ending, the first refusal of each target pod) with the failing
 * namespace's quota after each (TLC's error trace); the quota over time for every
 * namespace and key that ended wrong; and the events to mark on it. Built from the typed
 * timeline, never from message wording.
 */
/** A cache delivery, as the timeline keeps them apart from its lines. */
export interface Delivery {
  readonly t: number;
  readonly step: number;
  readonly cache: string;
  readonly kind: string;
  readonly key: string;
  readonly rv: number | undefined;
}

/** The caches whose view of the quota decides the race: Harvester's controllers and Rancher's sync. */
const DECISIVE_CACHES = /^(harvester|rancher)$/;

export function raceData(scenario: Scenario, entries: readonly TimelineEntry[], outcome: RunOutcome, uidNames: ReadonlyMap<string, string>, deliveries: readonly Delivery[] = []): RaceData {
  const wrong = outcome.quota.filter((c) => c.actual !== c.wanted);
  const namespace = wrong[0]?.namespace ?? outcome.quota[0]?.namespace ?? scenario.namespaces[0]?.name ?? '';
  const keys = [...new Set(outcome.quota.filter((c) => c.namespace === namespace).map((c) => c.resource))];

  // The user's wish per namespace, from the scenario, then from each edit.
  const wish = new Map<string, Record<string, number>>();
  for (const ns of scenario.namespaces) {
    wish.set(ns.name, limitToHard(ns.quota));
  }
  const quotas = new Map<string, ResourceQuota>();
  for (const e of entries) {
    if (e.old?.kind === 'ResourceQuota' && !quotas.has(e.old.metadata.namespace)) quotas.set(e.old.metadata.namespace, e.old);
    else if (e.cur?.kind === 'ResourceQuota' && !quotas.has(e.cur.metadata.namespace) && !e.old) quotas.set(e.cur.metadata.namespace, e.cur);
  }
  const stateOf = (): QuotaState => {
    const rq = quotas.get(namespace);
    const w = wish.get(namespace) ?? {};
    const migrations = rq
      ? Object.entries(rq.metadata.annotations)
          .filter(([k]) => annotationVm(k, uidNames))
          .map(([k, v]) => {
            const d = decodeDelta(v);
            const cpu = d['limits.cpu'];
            return `${annotationVm(k, uidNames)}${cpu !== undefined ? ` +${human(cpu, 'limits.cpu')}` : ''}`;
          })
          .sort()
          .join(', ')
      : '';
    return {
      specHard: rq ? list(rq.spec.hard, keys) : '–',
      statusHard: rq ? list(rq.status.hard, keys) : '–',
      used: rq ? list(rq.status.used, keys) : '–',
      migrations: migrations || '–',
      wish: list(w, keys),
    };
  };

  const candidates: Array<RaceStep & { score: number }> = [];
  const markers: RaceMarker[] = [];
  const refusedVm = new Set<string>();
  let prev = stateOf();
  const stateOf0 = prev;
  const series = new Map<string, Array<{ t: number; series: string; value: number; by?: string }>>();
  const push = (ns: string, t: number, name: string, l: Readonly<Record<string, number>> | undefined, by?: { actor: string; before: Readonly<Record<string, number>> | undefined }) => {
    if (!l) return;
    for (const k of Object.keys(l)) {
      const arr = series.get(`${ns}\n${k}`) ?? [];
      series.set(`${ns}\n${k}`, arr);
      const v = l[k]!;
      const changed = by !== undefined && by.before?.[k] !== v;
      arr.push({ t: t / 1000, series: name, value: v, ...(changed ? { by: by.actor } : {}) });
    }
  };
  for (const [ns, rq] of quotas) {
    push(ns, 0, 'spec.hard', rq.spec.hard);
    push(ns, 0, 'status.hard', rq.status.hard);
    push(ns, 0, 'used', rq.status.used);
    push(ns, 0, 'user asked', pick(wish.get(ns), Object.keys(rq.spec.hard)));
  }

  entries.forEach((e, index) => {
    let tag: RaceTag | undefined;
    let label = '';
    let score = 0;
    const ev = e.event;
    if (e.kind === 'note' && ev) {
      if (ev.type === 'agent-stopped' || ev.type === 'agent-started' || ev.type === 'tunnel-lost' || ev.type === 'tunnel-back') {
        tag = 'agent';
        label = { 'agent-stopped': 'agent stopped', 'agent-started': 'agent started', 'tunnel-lost': 'tunnel disconnect', 'tunnel-back': `Rancher re-lists ${ev.type === 'tunnel-back' ? ev.kind : ''}` }[ev.type];
        score = ev.type === 'tunnel-back' || ev.type === 'tunnel-lost' ? 4 : 3;
        if (ev.type === 'tunnel-back') markers.push({ t: e.t, kind: 'agent restart', label: 'Rancher re-lists' });
      } else if (ev.type === 'edit-wanted') {
        tag = 'edit';
        label = 'user wants';
        score = 3;
        const w = parseRancherQuota(ev.annotation)?.hard;
        if (w) {
          wish.set(ev.namespace, { ...(wish.get(ev.namespace) ?? {}), ...w });
          push(ev.namespace, e.t, 'user asked', w);
        }
        markers.push({ t: e.t, kind: 'user edit', label: `edit ${ev.namespace}` });
      } else if (ev.type === 'edit-agent-down') {
        tag = 'edit';
        label = 'edit failed';
        score = 2;
      } else if (ev.type === 'quota-reset') {
        tag = 'reset';
        label = 'Rancher resets';
        score = 2;
      } else if (ev.type === 'action-at' || ev.type === 'action-timed' || ev.type === 'action-after-write') {
        label = 'scenario';
        score = 3;
      } else if (ev.type === 'stale-write' && ev.kind === 'ResourceQuota') {
        label = 'stale write';
        score = 1;
      }
    } else if (e.kind === 'refused') {
      const t = e.target;
      if (t?.kind === 'Pod' && e.err?.message.includes('exceeded quota')) {
        const vm = launcherPodVm(t.key.slice(t.key.indexOf('/') + 1)) ?? t.key;
        if (!refusedVm.has(vm)) {
          refusedVm.add(vm);
          tag = 'refused-pod';
          label = `${vm} pod refused`;
          score = 2;
        }
      } else if (t?.kind === 'ResourceQuota') {
        tag = 'conflict';
        label = `${e.err?.code ?? ''} ${e.err?.reason ?? 'refused'}`.trim();
        score = 1;
      }
    } else if (e.kind === 'write') {
      const cur = e.cur;
      const old = e.old;
      if (cur?.kind === 'ResourceQuota') {
        const o = old as ResourceQuota | undefined;
        quotas.set(cur.metadata.namespace, cur);
        push(cur.metadata.namespace, e.t, 'spec.hard', cur.spec.hard, { actor: e.actor, before: o?.spec.hard });
        push(cur.metadata.namespace, e.t, 'status.hard', cur.status.hard);
        push(cur.metadata.namespace, e.t, 'used', cur.status.used);
        const added = o ? Object.keys(cur.metadata.annotations).filter((k) => o.metadata.annotations[k] === undefined && annotationVm(k, uidNames)) : [];
        const removed = o ? Object.keys(o.metadata.annotations).filter((k) => cur.metadata.annotations[k] === undefined && annotationVm(k, uidNames)) : [];
        const specChanged = o !== undefined && JSON.stringify(o.spec.hard) !== JSON.stringify(cur.spec.hard);
        const raised = o !== undefined && Object.keys(cur.spec.hard).some((k) => (cur.spec.hard[k] ?? 0) > (o.spec.hard[k] ?? 0));
        if (isRancherActor(e.actor) && specChanged) {
          tag = 'reset';
          label = 'Rancher reset';
          score = 4;
          markers.push({ t: e.t, kind: 'Rancher reset', label: 'Rancher reset' });
        } else if (e.actor.startsWith('harvester') && (added.length || removed.length || specChanged)) {
          tag = added.length || (raised && !removed.length) ? 'raise' : 'restore';
          const vms = (added.length ? added : removed).map((k) => annotationVm(k, uidNames)).join(', ');
          label = `${tag === 'raise' ? 'raise' : 'restore'}${vms ? ` ${vms}` : ''}`;
          score = 4;
        } else if (e.actor === 'user') {
          tag = 'edit';
          label = 'user sets';
          score = 4;
        } else if (specChanged) {
          label = 'spec.hard';
          score = 3;
        } else if (o && JSON.stringify(o.status.hard) !== JSON.stringify(cur.status.hard)) {
          tag = 'status';
          label = 'status.hard';
          score = 2;
        } else {
          tag = 'used';
          label = 'used';
          score = 1;
        }
      } else if (cur?.kind === 'Namespace' && e.actor === 'user') {
        tag = 'edit';
        label = 'user edit';
        score = 4;
      } else if (cur?.kind === 'VirtualMachineInstanceMigration' && old?.kind === 'VirtualMachineInstanceMigration' && old.status.phase !== cur.status.phase) {
        const phase = cur.status.phase;
        if (phase === 'Running' || phase === 'Succeeded' || phase === 'Failed') {
          tag = 'migration';
          label = `${cur.spec.vmiName} ${phase === 'Running' ? 'migrating' : phase.toLowerCase()}`;
          score = 2;
          if (cur.metadata.namespace === namespace || wrong.some((w) => w.namespace === cur.metadata.namespace)) {
            markers.push({ t: e.t, kind: phase === 'Running' ? 'migration start' : 'migration end', label: `${cur.spec.vmiName} ${phase === 'Running' ? 'starts' : 'ends'}` });
          }
        }
      }
    }
    if (!score) return;
    const state = stateOf();
    const changed = (Object.keys(state) as Array<keyof QuotaState>).filter((k) => state[k] !== prev[k]);
    prev = state;
    candidates.push({ index, step: e.step, t: e.t, actor: e.actor, kind: e.kind, text: e.text, ...(tag ? { tag } : {}), label, state, changed, score });
  });

  // When Harvester's and Rancher's caches saw the failing namespace's quota and namespace:
  // the stale reads the race is made of. A delivery changes no API state: it shows the quota
  // as the last line before it left it.
  const merged: Array<RaceStep & { score: number }> = [];
  let c = 0;
  let last: QuotaState = stateOf0;
  for (const d of deliveries) {
    if (!DECISIVE_CACHES.test(d.cache)) continue;
    const ofNs = (d.kind === 'ResourceQuota' && d.key.startsWith(`${namespace}/`)) || (d.kind === 'Namespace' && d.key === namespace);
    if (!ofNs) continue;
    while (c < candidates.length && candidates[c]!.step <= d.step) {
      last = candidates[c]!.state;
      merged.push(candidates[c++]!);
    }
    merged.push({ index: merged.length ? merged[merged.length - 1]!.index : -1, step: d.step, t: d.t, actor: `${d.cache} cache`, kind: 'delivery', text: `${d.cache}'s cache receives ${d.kind} ${d.key}${d.rv === undefined ? ' (deleted)' : ` rv ${d.rv}`}`, label: `${d.cache} sees ${d.kind === 'ResourceQuota' ? 'quota' : 'namespace'}${d.rv === undefined ? '' : ` rv ${d.rv}`}`, state: last, changed: [], score: 2 });
  }
  while (c < candidates.length) merged.push(candidates[c++]!);
  candidates.length = 0;
  candidates.push(...merged);

  // The zoom: every step that changed the failing namespace's quota or marks the story first,
  // then the rest nearest to them, at most MAX_STEPS; in timeline order.
  const keep = new Set<RaceStep>();
  const byScore = [...candidates].sort((a, b) => b.score - a.score || (b.changed.length ? 1 : 0) - (a.changed.length ? 1 : 0) || a.index - b.index);
  for (const s of byScore) {
    if (keep.size >= MAX_STEPS) break;
    keep.add(s);
  }
  const steps = candidates.filter((s) => keep.has(s)).map(({ score: _s, ...rest }) => rest);
  // Recompute "changed" against the previous shown row, so a row's highlight is what moved since the row above.
  const shown: RaceStep[] = [];
  steps.forEach((s, i) => {
    const before = i === 0 ? undefined : shown[i - 1]!.state;
    const changed = before ? (Object.keys(s.state) as Array<keyof QuotaState>).filter((k) => s.state[k] !== before[k]) : [];
    shown.push({ ...s, changed });
  });
  const actors = [...new Set(shown.map((s) => s.actor))];

  const end = outcome.endMs;
  const quotaSeries: QuotaSeries[] = [];
  const targets = wrong.length ? wrong.map((w) => ({ namespace: w.namespace, resource: w.resource, wrong: true })) : keys.slice(0, 1).map((k) => ({ namespace, resource: k, wrong: false }));
  for (const q of targets) {
    const pts = (series.get(`${q.namespace}\n${q.resource}`) ?? []).slice();
    for (const name of SERIES) {
      const last = [...pts].reverse().find((p) => p.series === name);
      if (last) pts.push({ t: end / 1000, series: name, value: last.value });
    }
    const unit = chartUnit(q.resource, pts.map((p) => p.value));
    const ends = SERIES.flatMap((name) => {
      const last = [...pts].reverse().find((p) => p.series === name);
      return last ? [{ series: name, value: formatQuantity(last.value, q.resource) }] : [];
    });
    quotaSeries.push({ ...q, unit: unit.name, points: pts.map((p) => ({ ...p, value: p.value / unit.milli })), ends });
  }
  return { namespace, keys, steps: shown, total: entries.length, omitted: entries.length - shown.length, actors, quotas: quotaSeries, markers, endMs: end };
}

const SERIES = ['spec.hard', 'status.hard', 'used', 'user asked'] as const;

/**
 * The unit a chart of these values (milli-units) is drawn in: the largest in which every one
 * is a whole number, so no two values that differ are drawn the same (6055m stays 6055 m,
 * never 6.06 cores; a byte's difference shows in bytes).
 */
export function chartUnit(resource: string, values: readonly number[]): { name: string; milli: number } {
  const whole = (d: number) => values.every((v) => v % d === 0);
  if (!isByteResource(resource)) return whole(1000) ? { name: 'cores', milli: 1000 } : { name: 'm', milli: 1 };
  if (!whole(1000)) return { name: 'milli-bytes', milli: 1 };
  for (const [name, f] of [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) if (whole(1000 * f)) return { name, milli: 1000 * f };
  return { name: 'bytes', milli: 1000 };
}

function pick(l: Record<string, number> | undefined, keys: readonly string[]): Record<string, number> | undefined {
  if (!l) return undefined;
  const out: Record<string, number> = {};
  for (const k of keys) if (l[k] !== undefined) out[k] = l[k]!;
  return out;
}
