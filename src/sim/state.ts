import { KINDS } from '../cluster/objects.js';
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
 * `include` keeps only some registered parts (tests that show an incomplete key is unsound).
 */
export function stateKey(world: World, include?: (part: StatePart) => boolean): string {
  const parts: string[] = [];
  for (const kind of KINDS) for (const o of world.api.list(kind)) parts.push(JSON.stringify(o));
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
  return parts.join('\n');
}
