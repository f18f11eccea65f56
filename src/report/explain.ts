import { isRancherActor } from '../actors/rancher-server.js';
import { ANN_RANCHER_QUOTA } from '../actors/rancher-quota.js';
import type { ResourceQuota } from '../cluster/objects.js';
import { launcherPodVm } from '../cluster/launcher.js';
import { human as formatQuantity } from './units.js';
import type { ResourceList } from '../cluster/resources.js';
import type { RunOutcome } from '../sim/outcome.js';
import { ANN_MIGRATING_NAME_PREFIX, ANN_MIGRATING_UID_PREFIX, decodeDelta } from '../strategies/harvester-quota.js';
import type { TimelineEntry } from '../sim/timeline.js';

const t = (ms: number) => `t=${(ms / 1000).toFixed(3)}s`;

/** The VM a migration annotation is about. */
function annotationVm(key: string, uidNames: ReadonlyMap<string, string>): string | undefined {
  if (key.startsWith(ANN_MIGRATING_UID_PREFIX)) return uidNames.get(key.slice(ANN_MIGRATING_UID_PREFIX.length)) ?? key.slice(ANN_MIGRATING_UID_PREFIX.length);
  if (key.startsWith(ANN_MIGRATING_NAME_PREFIX)) return key.slice(ANN_MIGRATING_NAME_PREFIX.length);
  return undefined;
}

function hardChanges(a: ResourceList, b: ResourceList): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().filter((k) => a[k] !== b[k]);
  return keys.map((k) => `${k} ${a[k] === undefined ? '∅' : formatQuantity(a[k]!, k)} → ${b[k] === undefined ? '∅' : formatQuantity(b[k]!, k)}`).join(', ');
}

function deltaText(value: string): string {
  const d = decodeDelta(value);
  return d['limits.cpu'] !== undefined ? `+${formatQuantity(d['limits.cpu'], 'limits.cpu')} CPU` : 'its delta';
}

/**
 * The run told in words: who reset what, which stale write lost, which admission failed
 * and why, and how the end differs from what the user asked for. Written from the
 * timeline's structured entries; only the events that bear on the quota and the VMs.
 */
export function explain(entries: readonly TimelineEntry[], outcome: RunOutcome, uidNames: ReadonlyMap<string, string>, steps?: Array<number | undefined>): string[] {
  const lines: string[] = [];
  // `steps`, when given, gets each line's kernel step (the race table's row number), undefined
  // for the summaries and the end: the report numbers the story like the race.
  let at: number | undefined;
  const out = {
    push(line: string): void {
      lines.push(line);
      steps?.push(at);
    },
  };
  const quotaRefusals = new Map<string, { first: TimelineEntry; count: number }>();
  let conflicts = 0;
  let invalid = 0;
  let editRefusals = 0;
  /** What last made Rancher's sync look at the namespaces: its re-list, or the user's accepted edit (what the next reset follows). */
  let trigger: 'relist' | 'edit' | undefined;

  for (const e of entries) {
    at = e.step;
    if (e.kind === 'note') {
      const ev = e.event;
      if (ev?.type === 'agent-stopped') out.push(`${t(e.t)} a cluster agent pod was deleted`);
      else if (ev?.type === 'tunnel-lost') out.push(`${t(e.t)} the agent session carrying Rancher's connections closed (${ev.remaining} other session(s) open): every watch ended with "tunnel disconnect"`);
      else if (ev?.type === 'tunnel-back' && ev.kind === 'Namespace') {
        trigger = 'relist';
        out.push(`${t(e.t)} Rancher re-listed the namespaces through ${ev.via}: it re-syncs every namespace`);
      }
      else if (ev?.type === 'action-at' || ev?.type === 'action-timed' || ev?.type === 'action-after-write') out.push(`${t(e.t)} scenario: ${e.text}`);
      else if (ev?.type === 'stale-read') out.push(`${t(e.t)} ${e.actor} ${e.text.replace(/^read stale /, 'decided from a stale ')}`);
      continue;
    }
    if (e.kind === 'refused') {
      const err = e.err!;
      if (err.message.includes('exceeded quota')) {
        const key = e.target!.key;
        const vm = launcherPodVm(key.slice(key.indexOf('/') + 1)) ?? key;
        const r = quotaRefusals.get(vm);
        if (r) r.count++;
        else {
          quotaRefusals.set(vm, { first: e, count: 1 });
          out.push(`${t(e.t)} ${vm}'s migration target pod was refused: ${err.message.replace(/^pods "[^"]*" is forbidden: /, '')}`);
        }
      } else if (err.reason === 'Conflict' && e.target!.kind === 'ResourceQuota') {
        if (++conflicts <= 3) out.push(`${t(e.t)} ${e.actor} wrote the quota from a stale cache and lost: 409 Conflict`);
      } else if (err.code === 422) {
        if (++invalid === 1) out.push(`${t(e.t)} ${e.actor}'s quota update is invalid and keeps being retried: ${err.message}`);
      } else if (e.actor === 'user') {
        if (++editRefusals <= 3) out.push(`${t(e.t)} the user's quota edit was refused (${err.message.replace(/^admission webhook "[^"]*" denied the request: /, '')}); the user will retry`);
      }
      continue;
    }
    const cur = e.cur;
    const old = e.old;
    if (!cur || !old) continue;
    if (cur.kind === 'Namespace' && e.actor === 'user') {
      trigger = 'edit';
      out.push(`${t(e.t)} the user's edit was accepted: ${cur.metadata.annotations[ANN_RANCHER_QUOTA] ?? ''}`);
    } else if (cur.kind === 'VirtualMachineInstance' && (old as typeof cur).status.nodeName !== cur.status.nodeName) {
      out.push(`${t(e.t)} ${cur.metadata.name} migrated ${(old as typeof cur).status.nodeName} → ${cur.status.nodeName}`);
    } else if (cur.kind === 'ResourceQuota') {
      const line = quotaWrite(e, old as ResourceQuota, cur, uidNames, trigger);
      if (line) out.push(line);
    }
  }
  at = undefined;
  for (const [vm, r] of quotaRefusals) if (r.count > 1) out.push(`  (${vm}'s target pod was refused ${r.count} times in all)`);
  if (conflicts > 3) out.push(`  (${conflicts} quota writes lost to 409 Conflicts in all)`);
  if (invalid > 1) out.push(`  (${invalid} invalid quota updates in all)`);

  for (const c of outcome.quota) {
    if (c.actual === c.wanted) continue;
    const got = c.actual === undefined ? 'missing' : formatQuantity(c.actual, c.resource);
    out.push(`end: ${c.namespace} spec.hard ${c.resource} is ${got}; the user asked for ${formatQuantity(c.wanted, c.resource)}`);
  }
  if (outcome.stuck.length) out.push(`end: ${outcome.stuck.join(', ')} never left ${outcome.stuck.length > 1 ? 'their' : 'its'} node`);
  if (outcome.violation) {
    const v = outcome.violation;
    out.push(`invariant ${v.invariant} broken from ${t(v.since)} (reported at step ${v.step}, ${t(v.at)}): ${v.detail}`);
  }
  return lines;
}

function quotaWrite(e: TimelineEntry, old: ResourceQuota, cur: ResourceQuota, uidNames: ReadonlyMap<string, string>, trigger: 'relist' | 'edit' | undefined): string | undefined {
  const added = Object.keys(cur.metadata.annotations).filter((k) => old.metadata.annotations[k] === undefined && annotationVm(k, uidNames));
  const removed = Object.keys(old.metadata.annotations).filter((k) => cur.metadata.annotations[k] === undefined && annotationVm(k, uidNames));
  const hard = hardChanges(old.spec.hard, cur.spec.hard);
  const when = t(e.t);
  if (isRancherActor(e.actor) && hard) {
    const held = Object.keys(old.metadata.annotations).filter((k) => annotationVm(k, uidNames));
    const lost = held.length ? `; Harvester's ${held.map((k) => `${deltaText(old.metadata.annotations[k]!)} for ${annotationVm(k, uidNames)}`).join(', ')} lost` : '';
    const after = trigger === 'relist' ? ' (after re-listing)' : trigger === 'edit' ? " (syncing the user's edit)" : '';
    return `${when} Rancher${after} reset ${hard} to the namespace annotation${lost}`;
  }
  if (e.actor.startsWith('harvester/')) {
    if (added.length && hard) return `${when} Harvester raised ${hard} for ${added.map((k) => annotationVm(k, uidNames)).join(', ')}'s migration`;
    if (removed.length && hard) return `${when} ${removed.map((k) => annotationVm(k, uidNames)).join(', ')}'s migration ended; Harvester subtracted its delta: ${hard}`;
    if (added.length) return `${when} Harvester recorded ${added.map((k) => `${annotationVm(k, uidNames)}'s migration (${deltaText(cur.metadata.annotations[k]!)})`).join(', ')} on the quota`;
    if (removed.length) return `${when} Harvester removed ${removed.map((k) => annotationVm(k, uidNames)).join(', ')}'s migration record`;
    if (hard) {
      const running = Object.keys(cur.metadata.annotations).filter((k) => annotationVm(k, uidNames)).length;
      return `${when} Harvester set ${hard} (the user's value + the deltas of ${running} running migration${running === 1 ? '' : 's'})`;
    }
    return undefined;
  }
  if (e.actor === 'user' && hard) return `${when} the user set ${hard}`;
  return undefined;
}
