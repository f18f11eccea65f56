import type { ExpectationOutcome } from '../report/html.js';

/** Text for an XML attribute or element. */
export const x = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/**
 * JUnit XML in the shape GitLab, Jenkins and GitHub test reporters read: one <testsuite>
 * per scenario, one <testcase> per strategy × expectation, a <failure> when it does not hold.
 */
export function junitXml(scenarios: ReadonlyArray<{ name: string; file: string; expectations: readonly ExpectationOutcome[] }>): string {
  const total = scenarios.reduce((n, s) => n + s.expectations.length, 0);
  const failures = scenarios.reduce((n, s) => n + s.expectations.filter((e) => !e.passed).length, 0);
  const suites = scenarios.map((s) => {
    const f = s.expectations.filter((e) => !e.passed).length;
    const cases = s.expectations.map((e) => {
      const head = `    <testcase classname="${x(`quotarace.${s.name}.${e.strategy}`)}" name="${x(e.name)}" file="${x(s.file)}" time="0">`;
      if (e.passed) return `${head}</testcase>`;
      return `${head}\n      <failure message="${x(e.message)}" type="ExpectationFailed">${x(`${s.name} / ${e.strategy}: ${e.message}`)}</failure>\n    </testcase>`;
    });
    return `  <testsuite name="${x(s.name)}" tests="${s.expectations.length}" failures="${f}" errors="0" skipped="0" time="0">\n${cases.join('\n')}${cases.length ? '\n' : ''}  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="quotarace" tests="${total}" failures="${failures}" errors="0" time="0">\n${suites.join('\n')}\n</testsuites>\n`;
}
