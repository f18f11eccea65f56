import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScenarioResult, ScenarioSummary } from '../explore/campaign.js';
import { EVIDENCE_HEADER } from '../explore/evidence.js';
import { checkExpectations, expectationsJson } from '../gate/expect.js';
import { junitXml } from '../gate/junit.js';
import { stepSummary } from '../gate/step-summary.js';
import { checkOutputs, NotOurFile, OutputError, writeFileAtomic } from '../report/files.js';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { indexReport, REPORT_MARKER, scenarioReport, type ExpectationOutcome } from '../report/html.js';
import { formatTable } from '../report/table.js';
import { EXIT_FAILED, EXIT_OK, shellQuote, type Io } from './io.js';
import type { Plan } from './plans.js';

/** What `run` and `merge` share after the runs: evidence, reports, JSON, JUnit and the gate's verdict. */
export interface Finished {
  readonly summary: ScenarioSummary;
  readonly expectations: readonly ExpectationOutcome[];
  readonly href: string;
}

/** Evidence, the scenario's HTML report, its table; the expectations checked. */
export async function publish(plan: Plan, result: ScenarioResult, reportsDir: string, json: boolean, io: Io, chosen: boolean): Promise<Finished> {
  for (const f of result.files) writeFileAtomic(f.path, f.text, EVIDENCE_HEADER);
  const expectations = checkExpectations(plan.s, result.summary, chosen);
  const html = await scenarioReport({
    scenario: plan.s,
    summary: result.summary,
    bits: result.bits,
    failures: result.failures.map((f) => ({ ...f, replay: `npx quotarace replay ${shellQuote(f.evidencePath)}` })),
    expectations,
  });
  const href = `${plan.s.name}.html`;
  writeFileAtomic(join(reportsDir, href), html, REPORT_MARKER);
  if (!json) io.out(formatTable(result.summary) + '\n');
  return { summary: result.summary, expectations, href };
}

export const JUNIT_MARKER = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="quotarace"';
export const RESULTS_MARKER = '{"format":"quotarace-results-v1"';

/** Refuse, before any simulation, to overwrite a file quotarace did not write. */
function mustBeOurs(path: string, marker: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    return; // not there: fine
  }
  if (!st.isFile()) throw new OutputError(`${path}: exists and is not a regular file; not writing there`);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.max(marker.length, 1));
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n === 0) return;
    if (!buf.subarray(0, n).toString('utf8').startsWith(marker)) throw new NotOurFile(`${path} exists and was not written by quotarace; not overwriting it (checked before any simulation)`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Every output a `run` or `merge` will write at a fixed path, checked before any
 * simulation: the reports folder, JUnit, a shard's results file, index.html and each
 * scenario's report. A foreign file there is refused up front, not after the campaign.
 */
export function checkRunOutputs(reportsDir: string, plans: readonly Plan[], outs: { junit?: string; results?: string }, html: boolean): void {
  checkOutputs(reportsDir, [outs.junit, outs.results]);
  if (outs.junit !== undefined) mustBeOurs(outs.junit, JUNIT_MARKER);
  if (outs.results !== undefined) mustBeOurs(outs.results, RESULTS_MARKER);
  if (!html) return;
  mustBeOurs(join(reportsDir, 'index.html'), REPORT_MARKER);
  for (const p of plans) mustBeOurs(join(reportsDir, `${p.s.name}.html`), REPORT_MARKER);
}

/** After every scenario: the index, JUnit, the GitHub step summary, the gate's verdict. */
export function conclude(done: readonly Finished[], plans: readonly Plan[], args: Record<string, unknown>, io: Io): number {
  const reportsDir = String(args.reports);
  writeFileAtomic(join(reportsDir, 'index.html'), indexReport(done), REPORT_MARKER);
  if (args.json) io.out(JSON.stringify({ scenarios: done.map((d) => ({ ...d.summary, expectations: expectationsJson(d.expectations) })) }, null, 2));
  const suites = done.map((d, i) => ({ name: d.summary.name, file: plans[i]!.s.file, expectations: d.expectations }));
  if (args.junit) writeFileAtomic(String(args.junit), junitXml(suites), JUNIT_MARKER);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, stepSummary(done));
  const broken = done.flatMap((d) => d.summary.strategies.filter((s) => s.error).map((s) => s.error!));
  for (const b of broken) io.err(`ERROR ${b}`);
  const failed = done.flatMap((d) => d.expectations.filter((e) => !e.passed));
  for (const e of failed) io.err(`FAIL ${e.scenario} / ${e.strategy}: ${e.name}: ${e.message}`);
  if (broken.length) {
    io.err(`quotarace: ${broken.length} strategy run${broken.length === 1 ? '' : 's'} failed with an error; the other strategies' results stand`);
    return EXIT_FAILED;
  }
  if (failed.length) {
    io.err(`quotarace: ${failed.length} expectation${failed.length === 1 ? '' : 's'} not met`);
    return EXIT_FAILED;
  }
  return EXIT_OK;
}
