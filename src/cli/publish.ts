import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScenarioResult, ScenarioSummary } from '../explore/campaign.js';
import { EVIDENCE_MARKER, parseEvidence } from '../explore/evidence.js';
import { replayRun } from '../explore/shrink.js';
import { checkExpectations, expectationsJson } from '../gate/expect.js';
import { junitXml } from '../gate/junit.js';
import { stepSummary } from '../gate/step-summary.js';
import { explain } from '../report/explain.js';
import { checkOutputs, NotOurFile, OutputError, writeFileAtomic } from '../report/files.js';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { indexReport, REPORT_MARKER, scenarioReport, type ExpectationOutcome, type FailureDetail, type RunMeta } from '../report/html.js';
import { raceData } from '../report/race.js';
import { formatTable } from '../report/table.js';
import { Timeline } from '../report/timeline.js';
import type { Scenario } from '../scenario/model.js';
import type { Strategy } from '../strategies/api.js';
import { VERSION } from './help.js';
import { EXIT_FAILED, EXIT_OK, shellQuote, type Io } from './io.js';
import type { Plan } from './plans.js';

/** What `run` and `merge` share after the runs: evidence, reports, JSON, JUnit and the gate's verdict. */
export interface Finished {
  readonly summary: ScenarioSummary;
  readonly expectations: readonly ExpectationOutcome[];
  readonly href: string;
}

/** The command that makes these results without shards: the same for `run` and `merge`, so their reports are identical. */
export function runCommand(plans: readonly Plan[]): string {
  const o = plans[0]?.opts;
  const parts = ['quotarace run', ...plans.map((p) => shellQuote(p.s.file))];
  if (o) {
    if (o.mode !== 'exhaustive') parts.push(`--runs ${o.runs}`, `--seed ${o.seed}`);
    if (o.mode !== 'random') parts.push(`--explore ${o.mode}`);
    if (o.mode === 'pct') parts.push(`--depth ${o.depth}`);
    if (o.delays !== undefined) parts.push(`--delays ${o.delays}`);
  }
  return parts.join(' ');
}

export function runMeta(plans: readonly Plan[]): RunMeta {
  // The report's date (UTC day), never the simulator's: simulations never read a clock.
  return { command: runCommand(plans), version: VERSION, date: new Date().toISOString().slice(0, 10) };
}

/**
 * The failure each strategy's report zooms into: the run the gate quotes for a failed
 * expectation, else the first run that got the quota wrong, else the most common kind; so
 * the terminal, the gate and the report name the same run. Re-run from its evidence file's
 * choices in this thread to get the whole typed timeline.
 */
export function shownFailures(scenario: Scenario, strategies: readonly Strategy[], result: ScenarioResult, expectations: readonly ExpectationOutcome[], replayOf: (path: string) => string): FailureDetail[] {
  const out: FailureDetail[] = [];
  for (const st of result.summary.strategies) {
    const strategy = strategies.find((x) => x.name === st.name);
    if (st.error || !strategy || !st.evidence.length) continue;
    const failing = st.evidence.filter((e) => !e.breaks.includes('settled') || e.breaks.length > 1);
    const gate = expectations.find((e) => e.strategy === st.name && !e.passed && e.evidence);
    let pick = gate ? st.evidence.find((e) => e.path === gate.evidence) : undefined;
    let why = gate ? `the run the gate quotes for ${gate.name}` : '';
    if (!pick && st.firstBreaking.quota) {
      pick = failing.find((e) => e.run === st.firstBreaking.quota && e.breaks.includes('quota'));
      why = 'the first run whose quota ended wrong';
    }
    if (!pick) {
      pick = [...failing].sort((a, b) => b.runs - a.runs)[0];
      why = 'the most common failure kind';
    }
    if (!pick) continue;
    const file = result.files.find((f) => f.path === pick!.path);
    const ev = file ? parseEvidence(file.text) : undefined;
    if (!ev || 'error' in ev) continue;
    const timeline = new Timeline();
    const { outcome } = replayRun(
      { scenario, strategy, seed: ev.seed, window: ev.windowMs, windowWrites: ev.windowWrites, disabled: new Set(ev.disabledActions), values: ev.choices, horizonMs: ev.horizonMs },
      { strict: false },
      timeline,
    );
    out.push({
      strategy: st.name,
      evidencePath: pick.path,
      run: pick.run,
      failure: pick.failure,
      runs: pick.runs,
      breaks: pick.breaks,
      why,
      explanation: explain(timeline.entries, outcome, timeline.uidNames),
      race: raceData(scenario, timeline.entries, outcome, timeline.uidNames, timeline.deliveries),
      replay: replayOf(pick.path),
    });
  }
  return out;
}

/** Evidence, the scenario's HTML report, its table and summary line; the expectations checked. */
export async function publish(plan: Plan, result: ScenarioResult, reportsDir: string, args: Record<string, unknown>, io: Io, chosen: boolean, plans: readonly Plan[] = [plan]): Promise<Finished> {
  for (const f of result.files) writeFileAtomic(f.path, f.text, EVIDENCE_MARKER);
  const expectations = checkExpectations(plan.s, result.summary, chosen);
  const html = await scenarioReport({
    scenario: plan.s,
    summary: result.summary,
    bits: result.bits,
    failures: shownFailures(plan.s, plan.strategies, result, expectations, (p) => `npx quotarace replay ${shellQuote(p)}`),
    expectations,
    meta: runMeta(plans),
  });
  const href = `${plan.s.name}.html`;
  writeFileAtomic(join(reportsDir, href), html, REPORT_MARKER);
  if (!args.json) io.out(`${formatTable(result.summary, { wide: Boolean(args.wide) })}\n${scenarioLine(result.summary, expectations, join(reportsDir, href))}\n`);
  return { summary: result.summary, expectations, href };
}

export const JUNIT_MARKER = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="quotarace"';
/** The start of any version's results file: one an older quotarace wrote may be replaced too. */
export const RESULTS_MARKER = '{"format":"quotarace-results-v';

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

/** "incident-7178: 3 of 3 expectations met · reports/incident-7178.html" */
export function scenarioLine(s: ScenarioSummary, expectations: readonly ExpectationOutcome[], report: string): string {
  const failed = expectations.filter((e) => !e.passed).length;
  const errors = s.strategies.filter((x) => x.error).length;
  const gate = expectations.length === 0 ? 'no expectations' : failed ? `${failed} of ${expectations.length} expectations NOT met` : `${expectations.length} of ${expectations.length} expectations met`;
  return `${failed || errors ? 'FAIL' : 'ok'}  ${s.name}: ${gate}${errors ? `, ${errors} strateg${errors === 1 ? 'y' : 'ies'} errored` : ''} · ${report}`;
}

/** After every scenario: the index, JUnit, the GitHub step summary, the gate's verdict and the run's summary line. */
export function conclude(done: readonly Finished[], plans: readonly Plan[], args: Record<string, unknown>, io: Io): number {
  const reportsDir = String(args.reports);
  const index = join(reportsDir, 'index.html');
  writeFileAtomic(index, indexReport(done, runMeta(plans)), REPORT_MARKER);
  if (args.json) io.out(JSON.stringify({ scenarios: done.map((d) => ({ ...d.summary, expectations: expectationsJson(d.expectations) })) }, null, 2));
  const suites = done.map((d, i) => ({ name: d.summary.name, file: plans[i]!.s.file, expectations: d.expectations }));
  if (args.junit) writeFileAtomic(String(args.junit), junitXml(suites), JUNIT_MARKER);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, stepSummary(done));
  const broken = done.flatMap((d) => d.summary.strategies.filter((s) => s.error).map((s) => s.error!));
  for (const b of broken) io.err(`ERROR ${b}`);
  const failed = done.flatMap((d) => d.expectations.filter((e) => !e.passed));
  for (const e of failed) io.err(`FAIL ${e.scenario} / ${e.strategy}: ${e.name}: ${e.message}`);
  const total = done.reduce((n, d) => n + d.expectations.length, 0);
  const scen = `${done.length} scenario${done.length === 1 ? '' : 's'}`;
  if (!args.json) io.out(failed.length || broken.length ? `${scen}, ${failed.length} of ${total} expectations not met${broken.length ? `, ${broken.length} strategy error(s)` : ''} · ${index}` : `${scen}, ${total} expectation${total === 1 ? '' : 's'} met · ${index}`);
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
