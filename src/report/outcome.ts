import { formatQuantity } from '../cluster/quantity.js';
import type { RunOutcome } from '../sim/outcome.js';

const ENDED = {
  settled: 'settled',
  horizon: 'stopped at the horizon',
  quiescent: 'stopped: no API write for 10 simulated minutes, nothing left could change the cluster',
  stuck: 'stopped: only waits for a change that nothing left could make',
} as const;

/** The end of a trace: the verdict and each check behind it. */
export function formatOutcome(o: RunOutcome): string {
  const lines = [
    `end at ${(o.endMs / 1000).toFixed(3)}s (${ENDED[o.ended]}), ${o.steps} steps`,
    `quota ${o.quotaCorrect ? 'CORRECT' : 'WRONG'}:`,
  ];
  for (const c of o.quota) {
    const actual = c.actual === undefined ? 'missing' : formatQuantity(c.actual, c.resource);
    const mark = c.actual === c.wanted ? 'ok ' : 'BAD';
    const refused = c.refusedWish === undefined ? '' : ` (the user's later ${formatQuantity(c.refusedWish, c.resource)} is below what the namespace uses: refused for good, rightly)`;
    lines.push(`  ${mark} ${c.namespace} ${c.resource}: wanted ${formatQuantity(c.wanted, c.resource)}, spec.hard ${actual}${refused}`);
  }
  lines.push(`migrations ${o.moved}/${o.mustMove} moved${o.stuck.length ? `; not moved: ${o.stuck.join(', ')}` : ''}${o.stopped.length ? `; stopped (pod deleted, not counted): ${o.stopped.join(', ')}` : ''}`);
  if (o.violation) {
    const v = o.violation;
    lines.push(`invariant ${v.invariant} BROKEN from ${(v.since / 1000).toFixed(3)}s (past its grace at step ${v.step}, ${(v.at / 1000).toFixed(3)}s): ${v.detail}`);
  } else lines.push('invariants held');
  const c = o.counters;
  lines.push(
    `counters: target pods rejected by quota ${c.targetPodsRejectedByQuota}, 409 conflicts ${c.conflicts}, edits refused ${c.editsRefused}, agent restarts ${c.agentRestarts}, drain ${c.drainMs >= 0 ? (c.drainMs / 1000).toFixed(1) + 's' : 'unfinished/none'}`,
  );
  return lines.join('\n');
}
