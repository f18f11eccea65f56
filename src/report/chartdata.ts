import { parseRancherQuota } from '../actors/rancher-quota.js';
import type { ResourceQuota } from '../cluster/objects.js';
import { isByteResource } from '../cluster/quantity.js';
import type { RunOutcome } from '../sim/outcome.js';
import type { TimelineEntry } from './timeline.js';

/** What the report draws for one failing run: small, serializable (it crosses worker threads). */
export interface ChartData {
  readonly lanes: ReadonlyArray<{ t: number; actor: string; kind: 'write' | 'refused'; text: string }>;
  readonly quota:
    | {
        readonly namespace: string;
        readonly resource: string;
        readonly unit: string;
        readonly points: ReadonlyArray<{ t: number; series: string; value: number }>;
      }
    | undefined;
  readonly endMs: number;
}

const MAX_LANE_POINTS = 1500;

/**
 * From a traced run: every write and refusal as a mark on its actor's lane, and one quota
 * resource over time (spec.hard, status.hard, used, and what the user asked for). The
 * resource is the first one the run got wrong, else the first the user set.
 */
export function chartData(entries: readonly TimelineEntry[], outcome: RunOutcome): ChartData {
  const lanes: Array<{ t: number; actor: string; kind: 'write' | 'refused'; text: string }> = [];
  for (const e of entries) {
    if (e.kind === 'note' || lanes.length >= MAX_LANE_POINTS) continue;
    lanes.push({ t: e.t / 1000, actor: e.actor, kind: e.kind, text: e.text });
  }
  const check = outcome.quota.find((c) => c.actual !== c.wanted) ?? outcome.quota[0];
  if (!check) return { lanes, quota: undefined, endMs: outcome.endMs };
  const { namespace, resource } = check;
  const scale = isByteResource(resource) ? 1000 * 2 ** 30 : 1000;
  const unit = isByteResource(resource) ? 'GiB' : 'cores';
  const points: Array<{ t: number; series: string; value: number }> = [];
  const push = (t: number, series: string, v: number | undefined) => {
    if (v !== undefined) points.push({ t: t / 1000, series, value: v / scale });
  };
  let first = true;
  let last: ResourceQuota | undefined;
  for (const e of entries) {
    if (e.kind === 'write' && e.cur?.kind === 'ResourceQuota' && e.cur.metadata.namespace === namespace) {
      const cur = e.cur;
      if (first && e.old?.kind === 'ResourceQuota') {
        const o = e.old;
        push(0, 'spec.hard', o.spec.hard[resource]);
        push(0, 'status.hard', o.status.hard[resource]);
        push(0, 'used', o.status.used[resource]);
        push(0, 'user asked', o.spec.hard[resource]);
      }
      first = false;
      push(e.t, 'spec.hard', cur.spec.hard[resource]);
      push(e.t, 'status.hard', cur.status.hard[resource]);
      push(e.t, 'used', cur.status.used[resource]);
      last = cur;
    } else if (e.event?.type === 'edit-wanted' && e.event.namespace === namespace) {
      const wanted = parseRancherQuota(e.event.annotation)?.hard[resource];
      push(e.t, 'user asked', wanted);
    }
  }
  if (last) {
    push(outcome.endMs, 'spec.hard', last.spec.hard[resource]);
    push(outcome.endMs, 'status.hard', last.status.hard[resource]);
    push(outcome.endMs, 'used', last.status.used[resource]);
  }
  push(outcome.endMs, 'user asked', check.wanted);
  return { lanes, quota: points.length ? { namespace, resource, unit, points } : undefined, endMs: outcome.endMs };
}
