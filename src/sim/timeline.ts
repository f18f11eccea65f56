import { createHash } from 'node:crypto';
import type { ApiError, Verb } from '../cluster/apiserver.js';
import type { Kind, KObject } from '../cluster/objects.js';
import { RESOURCE } from '../cluster/objects.js';
import type { TraceSink } from '../cluster/recorder.js';
import { describeChange } from '../cluster/describe.js';
import { renderEvent, type SimEvent } from '../cluster/events.js';

export interface TimelineEntry {
  readonly t: number;
  readonly actor: string;
  readonly kind: 'write' | 'refused' | 'note';
  readonly text: string;
  /** The kernel step during which it happened. */
  readonly step: number;
  /** For writes: the versions before and after (immutable, so kept by reference). */
  readonly old?: KObject;
  readonly cur?: KObject;
  /** For refusals. */
  readonly err?: ApiError;
  readonly target?: { readonly kind: Kind; readonly key: string };
  /** For notes: what the actor said, typed. */
  readonly event?: SimEvent;
}

/** Where two traces first differ: a 1-based line and both lines, or undefined if equal. */
export function firstDifference(a: string, b: string): { line: number; a: string; b: string } | undefined {
  if (a === b) return undefined;
  const la = a.split('\n');
  const lb = b.split('\n');
  let i = 0;
  while (i < la.length && la[i] === lb[i]) i++;
  return { line: i + 1, a: la[i] ?? '(end)', b: lb[i] ?? '(end)' };
}

/** Collects a run's timeline: every write, every refusal, and what actors said they read. */
export class Timeline implements TraceSink {
  readonly entries: TimelineEntry[] = [];
  /**
   * Informer cache deliveries, kept apart from the entries: they are not trace lines (the
   * trace and its hash stay as they are), but the report's race diagram marks them.
   */
  readonly deliveries: Array<{ t: number; step: number; cache: string; kind: Kind; key: string; rv: number | undefined }> = [];
  /** VMI UID → name, for explaining UID-keyed annotations. */
  readonly uidNames = new Map<string, string>();

  write(t: number, actor: string, _verb: Verb, old: KObject | undefined, cur: KObject | undefined, step = 0): void {
    if (cur?.kind === 'VirtualMachineInstance') this.uidNames.set(cur.metadata.uid, cur.metadata.name);
    if (actor === 'setup') return;
    const rv = cur ? ` (rv ${cur.metadata.resourceVersion})` : '';
    this.entries.push({ t, actor, kind: 'write', text: describeChange(old, cur) + rv, step, old, cur });
  }

  refused(t: number, actor: string, verb: Verb, kind: Kind, key: string, err: ApiError, step = 0): void {
    this.entries.push({ t, actor, kind: 'refused', step, text: `${verb} ${RESOURCE[kind]} ${key} → ${err.code} ${err.reason}: ${err.message}`, err, target: { kind, key } });
  }

  delivered(t: number, cache: string, kind: Kind, key: string, rv: number | undefined, step = 0): void {
    this.deliveries.push({ t, step, cache, kind, key, rv });
  }

  event(t: number, actor: string, event: SimEvent, step = 0): void {
    this.entries.push({ t, actor, kind: 'note', text: renderEvent(event), step, event });
  }

  /** The timeline as text, one line per entry (or those `keep` keeps): time, actor, what happened. */
  format(keep?: (e: TimelineEntry) => boolean): string {
    const width = Math.max(12, ...this.entries.map((e) => e.actor.length));
    const mark = { write: 'write  ', refused: 'REFUSED', note: 'note   ' } as const;
    return (keep ? this.entries.filter(keep) : this.entries)
      .map((e) => `${(e.t / 1000).toFixed(3).padStart(9)}s  ${e.actor.padEnd(width)}  ${mark[e.kind]}  ${e.text}`)
      .join('\n');
  }
}

/**
 * The trace hash: sha256 (hex) of the whole trace text as `trace` prints it (every line,
 * unfiltered). The report states it for every run it shows, evidence records it, and `replay`
 * prints it: equal hashes mean the same run, line for line.
 */
export function traceHash(timeline: Timeline): string {
  return createHash('sha256').update(timeline.format()).digest('hex');
}

/**
 * `trace --only`: writes, refusals, notes, or actor=NAME (the actor's name or a prefix of it
 * ending at a "/" or "-": actor=harvester keeps harvester/vm-migration-controller).
 * Undefined for a value that is none of these.
 */
export function timelineFilter(only: string): ((e: TimelineEntry) => boolean) | undefined {
  const kinds: Record<string, TimelineEntry['kind']> = { writes: 'write', write: 'write', refusals: 'refused', refused: 'refused', notes: 'note', note: 'note' };
  const kind = kinds[only];
  if (kind) return (e) => e.kind === kind;
  const m = /^actor=(.+)$/.exec(only);
  if (!m) return undefined;
  const name = m[1]!;
  return (e) => e.actor === name || (e.actor.startsWith(name) && /[/-]/.test(e.actor[name.length] ?? '')) ;
}
