import type { ScenarioSummary } from '../explore/campaign.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The per-scenario table `quotarace run` prints. */
export function formatTable(s: ScenarioSummary): string {
  const header = ['strategy', 'runs', 'quota correct', 'migrations ok', 'invariants broken', 'rejected/run', '409s/run', 'edits refused/run', 'agent restarts/run', 'drain mean s', 'failing runs'];
  const rows = s.strategies.map((r) => r.error ? [r.name, 'ERROR', '-', '-', '-', '-', '-', '-', '-', '-', '-'] : [
    r.name,
    String(r.runs),
    pct(r.quotaCorrect),
    pct(r.migrationsSucceeded),
    pct(r.invariantViolations),
    r.targetPodsRejectedByQuota.toFixed(2),
    r.conflicts.toFixed(2),
    r.editsRefused.toFixed(2),
    r.agentRestarts.toFixed(2),
    r.drainSeconds ? r.drainSeconds.mean.toFixed(1) : '-',
    r.failingRuns.length ? r.failingRuns.join(' ') : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const how = s.explore === 'exhaustive' ? 'exhaustive exploration' : `${s.runs} ${s.explore} runs per strategy from seed ${s.seed}`;
  const notes: string[] = [];
  for (const r of s.strategies) {
    const x = r.exploration;
    if (x.selector === 'pct') notes.push(`${r.name}: ${x.guarantee}`);
    if (x.selector === 'exhaustive') notes.push(`${r.name}: ${x.summary}`);
    if (r.error) notes.push(`${r.name}: ERROR ${r.error}`);
    for (const e of r.evidence) {
      notes.push(`${r.name}: ${e.path}  ${e.failure}  (steps ${e.stepsBefore} → ${e.stepsAfter})${e.deterministic ? '' : '  ' + e.determinism}`);
    }
  }
  return [`${s.name}  (${s.file}; ${how})`, line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ...notes].join('\n');
}
