import { KINDS } from '../cluster/objects.js';
import type { World } from './world.js';

/**
 * A key for "the same state": two runs that reach equal keys at a choice point have the
 * same futures, so exhaustive exploration explores only one. It covers the API server's
 * objects, every informer cache (by resourceVersion), every workqueue, controller memory
 * registered in world.stateParts, and the pending events (actor, chain, delay from now).
 * A process's position inside its generator is known only through its pending event's
 * actor label; the model's generators are loops whose next step depends only on state
 * covered here, which is what makes the key sound for them.
 */
export function stateKey(world: World): string {
  const parts: string[] = [];
  for (const kind of KINDS) for (const o of world.api.list(kind)) parts.push(JSON.stringify(o));
  for (const p of world.stateParts) parts.push(p());
  const now = world.now;
  const pending = world.kernel
    .pending()
    .map((e) => `${e.time - now}:${e.actor}:${e.chain}:${e.background ? 'b' : ''}`)
    .sort();
  parts.push(pending.join(';'));
  return parts.join('\n');
}
