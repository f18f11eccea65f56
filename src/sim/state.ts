import { KINDS } from '../cluster/objects.js';
import { DIGESTS, objectState, UUID, VERSION } from '../cluster/state-text.js';
import type { StatePart, World } from '../cluster/world.js';

/**
 * A key for "the same state": two runs that reach equal keys at a choice point have the
 * same futures, so exhaustive exploration explores only one. It is the API server's objects
 * plus every part registered on the world by the component that holds it (informer caches
 * with their pending deliveries, workqueues with their rate limiters, reconcilers' in-flight
 * plans and expectations, the admission cache, each script's position), plus the kernel's
 * pending events. Nothing is remembered here by hand: a component that keeps state
 * registers it where it is created. A test (test/state-key.test.ts) checks the key is
 * sound, and that dropping parts of it makes exploration miss end states.
 *
 * The key is canonical up to what the model cannot tell apart (see {@link canonicalize}):
 * resourceVersions are renumbered per object, UIDs in order of appearance. So two writes to
 * different objects, run in either order, reach one key.
 *
 * `include` keeps only some registered parts (tests that show an incomplete key is unsound);
 * `options` turns canonicalisation off part by part (tests that show each part matters).
 */
export function stateKey(world: World, include?: (part: StatePart) => boolean, options: KeyOptions = CANONICAL): string {
  const parts: string[] = [];
  if (options.objects) for (const kind of KINDS) for (const o of world.api.list(kind)) parts.push(objectState(o));
  for (const p of world.state) {
    if (include && !include(p)) continue;
    parts.push(`${p.kind}:${p.name}=${p.key()}`);
  }
  if (!include || include({ kind: 'kernel', name: 'pending', key: () => '' })) {
    const now = world.now;
    const pending = world.kernel
      .pending()
      .map((e) => `${e.time - now}:${e.actor}:${e.chain}:${e.background ? 'b' : ''}`)
      .sort();
    parts.push(pending.join(';'));
  }
  return canonicalize(parts.join('\n'), options);
}

/** How the key writes what the model only compares (tests vary it to show each choice matters). */
export interface KeyOptions {
  /**
   * rank: per object, by rank among its versions held (canonical); absolute: as issued;
   * appearance: numbered in order of appearance over the whole key; none: left out.
   */
  readonly resourceVersions: 'rank' | 'absolute' | 'appearance' | 'none';
  /** Number UIDs in order of appearance (else: the generated UIDs). */
  readonly uids: boolean;
  /** A held version's content digest beside its resourceVersion. */
  readonly contents: boolean;
  /** The API server's objects. */
  readonly objects: boolean;
}
export const CANONICAL: KeyOptions = { resourceVersions: 'rank', uids: true, contents: true, objects: true };
/** The key as it was before canonicalisation: absolute resourceVersions and UIDs. */
export const ABSOLUTE: KeyOptions = { ...CANONICAL, resourceVersions: 'absolute', uids: false };

/**
 * Renames what the model only compares, so states that differ in nothing else meet:
 * - resourceVersions, per object, by rank among the versions of that object the state holds
 *   (0, "unconditional", stays 0). The model compares resourceVersions only between versions
 *   of one object: equal or not (optimistic concurrency, "did it change"), and newer or not
 *   (the admission plugin's copy against its informer's). Ranks keep both, and the API
 *   server's next version is newer than every held one in either state. The absolute counter
 *   is not compared by anyone across a step (the write clock reads it within one step).
 *   Renumbering in plain order of appearance would not keep "newer than".
 * - UIDs, in order of first appearance: only ever tested for equality (owner labels,
 *   migration UIDs), and a new one is fresh in either state.
 * Generated names are left as they are: the cluster agent picks which old pod to replace by
 * sorting pod names, so a state and its copy with two names swapped can differ in what
 * happens next.
 */
export function canonicalize(key: string, options: KeyOptions = CANONICAL): string {
  let out = options.contents ? key : key.replace(DIGESTS, '');
  if (options.resourceVersions === 'rank') {
    const versions = new Map<string, number[]>();
    for (const m of out.matchAll(VERSION)) {
      const rv = Number(m[2]);
      let list = versions.get(m[1]!);
      if (!list) versions.set(m[1]!, (list = []));
      if (rv !== 0 && !list.includes(rv)) list.push(rv);
    }
    for (const list of versions.values()) list.sort((a, b) => a - b);
    out = out.replace(VERSION, (_, id: string, rv: string) => {
      const n = Number(rv);
      return `${id}@${n === 0 ? 0 : 'r' + (versions.get(id)!.indexOf(n) + 1)}`;
    });
  } else if (options.resourceVersions === 'appearance') {
    const seen = new Map<string, number>();
    out = out.replace(VERSION, (_, id: string, rv: string) => {
      let i = seen.get(rv);
      if (i === undefined) seen.set(rv, (i = rv === '0' ? 0 : seen.size + 1));
      return `${id}@a${i}`;
    });
  } else if (options.resourceVersions === 'none') out = out.replace(VERSION, (_, id: string) => id);
  else out = out.replace(VERSION, (_, id: string, rv: string) => `${id}@${rv}`);
  if (options.uids) {
    const seen = new Map<string, number>();
    out = out.replace(UUID, (u) => {
      let i = seen.get(u);
      if (i === undefined) seen.set(u, (i = seen.size + 1));
      return `uid${i}`;
    });
  }
  return out;
}
