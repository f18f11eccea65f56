import type { ExpectationOutcome, NotChecked } from '../report/html.js';

/** Text for an XML attribute or element. */
export const x = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/**
 * JUnit XML in the shape GitLab, Jenkins and GitHub test reporters read: one <testsuite>
 * per scenario, one <testcase> per strategy × expectation, a <failure> when it does not hold, and
 * a <skipped> one for each expectation of a strategy left out with --strategy.
 */
export function junitXml(scenarios: ReadonlyArray<{ name: string; file: string; expectations: readonly ExpectationOutcome[]; notChecked?: readonly NotChecked[] }>): string {
  const total = scenarios.reduce((n, s) => n + s.expectations.length + (s.notChecked?.length ?? 0), 0);
  const failures = scenarios.reduce((n, s) => n + s.expectations.filter((e) => !e.passed).length, 0);
  const skippedAll = scenarios.reduce((n, s) => n + (s.notChecked?.length ?? 0), 0);
  const suites = scenarios.map((s) => {
    const f = s.expectations.filter((e) => !e.passed).length;
    const head = (strategy: string, name: string) => `    <testcase classname="${x(`quotarace.${s.name}.${strategy}`)}" name="${x(name)}" file="${x(s.file)}" time="0">`;
    const cases = s.expectations.map((e) => {
      if (e.passed) return `${head(e.strategy, e.name)}</testcase>`;
      return `${head(e.strategy, e.name)}\n      <failure message="${x(e.message)}" type="ExpectationFailed">${x(`${s.name} / ${e.strategy}: ${e.message}`)}</failure>\n    </testcase>`;
    });
    const skipped = s.notChecked ?? [];
    for (const n of skipped) cases.push(`${head(n.strategy, n.name)}\n      <skipped message="${x(`${n.strategy} was not run (left out with --strategy)`)}"/>\n    </testcase>`);
    return `  <testsuite name="${x(s.name)}" tests="${s.expectations.length + skipped.length}" failures="${f}" errors="0" skipped="${skipped.length}" time="0">\n${cases.join('\n')}${cases.length ? '\n' : ''}  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="quotarace" tests="${total}" failures="${failures}" errors="0"${skippedAll ? ` skipped="${skippedAll}"` : ''} time="0">\n${suites.join('\n')}\n</testsuites>\n`;
}
