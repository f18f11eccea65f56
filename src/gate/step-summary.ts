import type { ScenarioSummary } from '../explore/campaign.js';
import type { ExpectationOutcome } from '../report/html.js';

const md = (s: string) => s.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);

/** The Markdown table appended to $GITHUB_STEP_SUMMARY. */
export function stepSummary(results: ReadonlyArray<{ summary: ScenarioSummary; expectations: readonly ExpectationOutcome[] }>): string {
  const lines = ['### quotarace', '', '| scenario | strategy | runs | quota correct | migrations ok | expectations |', '|---|---|---:|---:|---:|---|'];
  for (const r of results) {
    for (const st of r.summary.strategies) {
      const exp = r.expectations.filter((e) => e.strategy === st.name);
      const failed = exp.filter((e) => !e.passed);
      const verdict = exp.length === 0 ? '–' : failed.length ? `❌ ${failed.map((e) => md(e.message.split(';')[0]!)).join('; ')}` : `✅ ${exp.length} passed`;
      lines.push(`| ${md(r.summary.name)} | ${md(st.name)} | ${st.runs} | ${(st.quotaCorrect * 100).toFixed(1)}% | ${(st.migrationsSucceeded * 100).toFixed(1)}% | ${verdict} |`);
    }
  }
  return lines.join('\n') + '\n\n';
}
