import type { ScenarioSummary } from '../explore/campaign.js';
import { notCheckedNote, type ExpectationOutcome, type NotChecked } from '../report/html.js';
import { percent } from '../report/units.js';
import { safetyOf } from '../report/verdict.js';

const md = (s: string) => s.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);

/**
 * The Markdown appended to $GITHUB_STEP_SUMMARY: the verdict first (as the terminal's last
 * line and the report's banner say it), then one row per scenario × strategy, and for every
 * failed expectation the run that breaks it, its evidence and the command that replays it.
 */
export function stepSummary(results: ReadonlyArray<{ summary: ScenarioSummary; expectations: readonly ExpectationOutcome[]; notChecked?: readonly NotChecked[] }>): string {
  const all = results.flatMap((r) => r.expectations);
  const skipped = notCheckedNote(results.flatMap((r) => r.notChecked ?? []));
  const failed = all.filter((e) => !e.passed);
  const errors = results.flatMap((r) => r.summary.strategies.filter((s) => s.error).map((s) => `${r.summary.name} / ${s.name}`));
  const verdict =
    (failed.length || errors.length
      ? `❌ ${failed.length} of ${all.length} expectations not met${errors.length ? `, ${errors.length} strateg${errors.length === 1 ? 'y' : 'ies'} errored` : ''}`
      : `✅ ${results.length} scenario${results.length === 1 ? '' : 's'}, ${all.length} expectation${all.length === 1 ? '' : 's'} met`) + (skipped ? `; ${skipped}` : '');
  const lines = ['### quotarace', '', `**${verdict}**`, '', '| scenario | strategy | runs | quota correct | migrations ok | invariants broken | expectations |', '|---|---|---:|---:|---:|---:|---|'];
  for (const r of results) {
    for (const st of r.summary.strategies) {
      const exp = r.expectations.filter((e) => e.strategy === st.name);
      const bad = exp.filter((e) => !e.passed);
      const verdictCell = st.error ? '⚠️ error' : exp.length === 0 ? '–' : bad.length ? `❌ ${bad.map((e) => md(e.name)).join('; ')}` : `✅ ${exp.length} passed${safetyOf(st) === 'incomplete' ? ' (incomplete exhaustive search)' : ''}`;
      lines.push(`| ${md(r.summary.name)} | ${md(st.name)} | ${st.runs} | ${percent(st.quotaCorrect)} | ${percent(st.migrationsSucceeded)} | ${percent(st.invariantViolations)} | ${verdictCell} |`);
    }
  }
  if (failed.length) {
    lines.push('', 'Failed expectations, each with a run that breaks it:', '');
    for (const e of failed) {
      const where = e.run ? ` run \`${e.run}\`${e.evidence ? `, evidence \`${e.evidence}\` (replay: \`npx ${e.replay ?? `quotarace replay ${e.evidence}`}\`)` : ''}` : '';
      lines.push(`- ${md(e.scenario)} / ${md(e.strategy)}: ${md(e.message)}.${where}`);
    }
  }
  if (errors.length) lines.push('', ...errors.map((x) => `- ⚠️ ${md(x)}: the strategy errored (see the job's log)`));
  return lines.join('\n') + '\n\n';
}
