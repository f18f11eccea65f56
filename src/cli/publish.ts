import { esc } from '../report/html-util.js';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScenarioResult, ScenarioSummary } from '../explore/campaign.js';
import { EVIDENCE_MARKER } from '../explore/evidence.js';
import { checkExpectations, expectationsJson, notChecked as notCheckedOf } from '../gate/expect.js';
import { junitXml, x as xmlText } from '../gate/junit.js';
import { stepSummary } from '../gate/step-summary.js';
import { checkOutputs, NotOurFile, OutputError, replayCommand, writeFileAtomic } from '../report/files.js';
import { firstWriteInto, lockReports, type ReportsLock } from './reports-lock.js';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { indexReport, notCheckedNote, REPORT_MARKER, scenarioReport, type ExpectationOutcome, type FailureDetail, type NotChecked, type RunMeta } from '../report/html.js';
import { formatTable } from '../report/table.js';
import { safetyOf } from '../report/verdict.js';
import type { Scenario } from '../scenario/model.js';
import type { Strategy } from '../strategies/api.js';
import { isStrategyPath, strategyRef } from '../strategies/loader.js';
import { cliPath, runLine } from './runline.js';
import { sandboxLimits, type SandboxLimits } from '../explore/pool.js';
import { VERSION } from './help.js';
import { EXIT_FAILED, EXIT_OK, shellQuote, type Io } from './io.js';
import type { CampaignPlan } from './plans.js';

/** What `run` and `merge` share after the runs: evidence, reports, JSON, JUnit and the gate's verdict. */
export interface Finished {
  readonly summary: ScenarioSummary;
  readonly expectations: readonly ExpectationOutcome[];
  /** Expectations of strategies left out with --strategy. */
  readonly notChecked: readonly NotChecked[];
  readonly href: string;
  /** The run line and provenance its report states (the index states the same). */
  readonly meta: RunMeta;
}

/** How the reports were made: the run line that reproduces them (the same for `run` and `merge`, so their reports match) and the report's date. */
export function runMeta(plans: readonly CampaignPlan[], chosen: boolean, shards?: number, sandbox?: SandboxLimits): RunMeta {
  const line = runLine(plans, chosen, shards, sandbox);
  // The report's date (UTC day), never the simulator's: simulations never read a clock.
  return { command: line.command, notes: line.notes, version: VERSION, date: new Date().toISOString().slice(0, 10) };
}

/** The sandbox limits the command ran modules under (flags, else the environment, else the defaults). */
export function sandboxOf(args: Record<string, unknown>): SandboxLimits | undefined {
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const l = sandboxLimits({ timeoutS: num(args['strategy-timeout']), memoryMb: num(args['strategy-memory']) });
  return typeof l === 'string' ? undefined : l;
}

/**
 * The failure each strategy's report zooms into: the run the gate quotes for a failed
 * expectation, else the first run that got the quota wrong, else the most common kind; so
 * the terminal, the gate and the report name the same run. What it shows (race, story,
 * state table, charts, trace hash) is what the evidence job recorded in the worker that
 * had the strategy loaded: nothing is re-run here.
 */
export function shownFailures(scenario: Scenario, strategies: readonly Strategy[], result: ScenarioResult, expectations: readonly ExpectationOutcome[], replayOf: (path: string, strategy: string) => string): FailureDetail[] {
  const out: FailureDetail[] = [];
  for (const st of result.summary.strategies) {
    if (st.error || !st.evidence.length) continue;
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
    const rec = result.recorded.get(pick.path);
    if (!rec) continue;
    const strategy = strategies.find((x) => x.name === st.name);
    const ref = strategy ? strategyRef(strategy) : st.name;
    out.push({
      strategy: st.name,
      evidencePath: pick.path,
      run: pick.run,
      failure: pick.failure,
      runs: pick.runs,
      breaks: pick.breaks,
      why,
      explanation: rec.explanation,
      storySteps: rec.storySteps,
      race: rec.race,
      traceSha256: rec.traceSha256,
      shrink: rec.shrink,
      replay: replayOf(pick.path, st.name),
      unshrunk: `npx quotarace trace ${shellQuote(cliPath(scenario.file))} --strategy ${shellQuote(isStrategyPath(ref) ? cliPath(ref) : st.name)} --run ${rec.shrink.from}`,
    });
  }
  return out;
}

/** Evidence, the scenario's HTML report, its table and summary line; the expectations checked. */
export async function publish(plan: CampaignPlan, result: ScenarioResult, reportsDir: string, args: Record<string, unknown>, io: Io, chosen: boolean, plans: readonly CampaignPlan[] = [plan], shards?: number): Promise<Finished> {
  if (firstWriteInto(reportsDir)) takeDownVerdict(reportsDir, args.junit as string | undefined, plans);
  for (const f of result.files) writeFileAtomic(f.path, f.text, EVIDENCE_MARKER);
  const moduleOf = (name: string) => {
    const st = plan.strategies.find((x) => x.name === name);
    return st && isStrategyPath(strategyRef(st)) ? cliPath(strategyRef(st)) : undefined;
  };
  const expectations = checkExpectations(plan.s, result.summary, chosen, moduleOf);
  const notChecked = notCheckedOf(plan.s, result.summary, chosen);
  const meta = runMeta(plans, chosen, shards, sandboxOf(args));
  const html = await scenarioReport({
    scenario: plan.s,
    summary: result.summary,
    bits: result.bits,
    failures: shownFailures(plan.s, plan.strategies, result, expectations, (p, strategy) => `npx ${replayCommand(cliPath(p), moduleOf(strategy))}`),
    expectations,
    notChecked,
    meta,
    strategyArgs: Object.fromEntries(plan.strategies.map((x) => [x.name, isStrategyPath(strategyRef(x)) ? cliPath(strategyRef(x)) : x.name])),
  });
  const href = `${plan.s.name}.html`;
  writeFileAtomic(join(reportsDir, href), html, REPORT_MARKER);
  if (!args.json) io.out(`${formatTable(result.summary, { wide: Boolean(args.wide) })}\n${scenarioLine(result.summary, expectations, join(reportsDir, href), notChecked)}\n`);
  return { summary: result.summary, expectations, notChecked, href, meta };
}

export const JUNIT_MARKER = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="quotarace"';
/** The start of any version's results file: one an older quotarace wrote may be replaced too. */
export const RESULTS_MARKER = '{"format":"quotarace-results-v';

/**
 * Before this run's first report replaces an earlier run's: the index and the JUnit file
 * say the folder is being rewritten, so a run interrupted from here on (Ctrl-C, a killed CI
 * job) leaves no earlier verdict standing beside reports it already replaced. conclude()
 * writes the real ones.
 */
function takeDownVerdict(reportsDir: string, junit: string | undefined, plans: readonly CampaignPlan[]): void {
  const command = runLine(plans, false).command;
  const when = new Date().toISOString();
  writeFileAtomic(
    join(reportsDir, 'index.html'),
    `${REPORT_MARKER} partial -->\n<html lang="en"><head><meta charset="utf-8"><title>quotarace: PARTIAL, run in progress or interrupted</title></head>\n` +
      `<body><h1>PARTIAL: no verdict</h1>\n<p>A quotarace run started ${esc(when)} (pid ${process.pid}) is rewriting this folder: <code>${esc(command)}</code>.</p>\n` +
      `<p>If this page is still here, that run did not finish (it was interrupted, or failed): the reports beside it are partial, some from this run, some from an earlier one, and no verdict stands. Run it again.</p></body></html>\n`,
    REPORT_MARKER,
  );
  if (junit !== undefined) {
    writeFileAtomic(
      junit,
      `${JUNIT_MARKER} tests="1" failures="0" errors="1" time="0">\n  <testsuite name="quotarace" tests="1" failures="0" errors="1" skipped="0" time="0">\n` +
        `    <testcase classname="quotarace" name="run finished" time="0">\n      <error message="PARTIAL: the run did not finish" type="Interrupted">${xmlText(`${command} (started ${when}, pid ${process.pid}) did not finish: no verdict`)}</error>\n    </testcase>\n  </testsuite>\n</testsuites>\n`,
      JUNIT_MARKER,
    );
  }
}

/** Refuse, before any simulation, to overwrite a file quotarace did not write. */
function mustBeOurs(path: string, marker: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    return; // not there: fine
  }
  if (!st.isFile()) throw new OutputError(`cannot write ${path}: it exists and is not a regular file`);
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
 * The reports folder is then locked for this run: the caller releases the lock it returns.
 */
export function checkRunOutputs(reportsDir: string, plans: readonly CampaignPlan[], outs: { junit?: string; results?: string }, html: boolean): ReportsLock | undefined {
  checkOutputs(reportsDir, [outs.junit, outs.results]);
  if (outs.junit !== undefined) mustBeOurs(outs.junit, JUNIT_MARKER);
  if (outs.results !== undefined) mustBeOurs(outs.results, RESULTS_MARKER);
  if (!html) return undefined;
  mustBeOurs(join(reportsDir, 'index.html'), REPORT_MARKER);
  for (const p of plans) mustBeOurs(join(reportsDir, `${p.s.name}.html`), REPORT_MARKER);
  // Last: every check above passed, so the lock is only taken by a run that will write.
  // (A shard writes only its results file: shards share a folder and run at once.)
  return lockReports(reportsDir, runLine(plans, false).command);
}

/** "incident-7178: 3 of 3 expectations met · reports/incident-7178.html" */
export function scenarioLine(s: ScenarioSummary, expectations: readonly ExpectationOutcome[], report: string, notChecked: readonly NotChecked[] = []): string {
  const failed = expectations.filter((e) => !e.passed).length;
  const errors = s.strategies.filter((x) => x.error).length;
  const skipped = notCheckedNote(notChecked);
  // An expectation met by an exhaustive search that stopped at --max-runs holds for what it reached only.
  const partial = s.strategies.filter((st) => safetyOf(st) === 'incomplete' && expectations.some((e) => e.strategy === st.name && e.passed)).map((st) => st.name);
  const caveat = partial.length ? ` (${partial.join(', ')}: measured on an incomplete exhaustive search)` : '';
  const gate = expectations.length === 0 ? (skipped ? `no expectations checked, ${skipped}` : 'no expectations') : `${failed ? `${failed} of ${expectations.length} expectations NOT met` : `${expectations.length} of ${expectations.length} expectations met`}${caveat}${skipped ? `, ${skipped}` : ''}`;
  return `${failed || errors ? 'FAIL' : 'ok'}  ${s.name}: ${gate}${errors ? `, ${errors} strateg${errors === 1 ? 'y' : 'ies'} errored` : ''} · ${report}`;
}

/** After every scenario: the index, JUnit, the GitHub step summary, the gate's verdict and the run's summary line. */
export function conclude(done: readonly Finished[], plans: readonly CampaignPlan[], args: Record<string, unknown>, io: Io): number {
  const reportsDir = String(args.reports);
  const index = join(reportsDir, 'index.html');
  const meta = done[0]?.meta ?? runMeta(plans, false);
  writeFileAtomic(index, indexReport(done, meta), REPORT_MARKER);
  if (args.json) io.out(JSON.stringify({ scenarios: done.map((d) => ({ ...d.summary, expectations: expectationsJson(d.expectations), ...(d.notChecked.length ? { notChecked: d.notChecked } : {}) })) }, null, 2));
  const suites = done.map((d, i) => ({ name: d.summary.name, file: plans[i]!.s.file, expectations: d.expectations, notChecked: d.notChecked }));
  if (args.junit) writeFileAtomic(String(args.junit), junitXml(suites), JUNIT_MARKER);
  if (process.env.GITHUB_STEP_SUMMARY) {
    try {
      appendFileSync(process.env.GITHUB_STEP_SUMMARY, stepSummary(done));
    } catch (e) {
      throw new OutputError(`cannot write the GitHub step summary ${process.env.GITHUB_STEP_SUMMARY} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  const broken = done.flatMap((d) => d.summary.strategies.filter((s) => s.error).map((s) => s.error!));
  for (const b of broken) io.err(`ERROR ${b}`);
  const failed = done.flatMap((d) => d.expectations.filter((e) => !e.passed));
  for (const e of failed) io.err(`FAIL ${e.scenario} / ${e.strategy}: ${e.name}: ${e.message}`);
  const total = done.reduce((n, d) => n + d.expectations.length, 0);
  const skipped = done.reduce((n, d) => n + d.notChecked.length, 0);
  const scen = `${done.length} scenario${done.length === 1 ? '' : 's'}`;
  const unchecked = skipped ? `, ${skipped} not checked (their strategies not run)` : '';
  if (!args.json) io.out(`reproduce with:\n  ${meta.command}\n${meta.notes.map((n) => `  ${n}`).join('\n')}`);
  const met = failed.length ? `${failed.length} of ${total} expectations not met` : `${total} expectation${total === 1 ? '' : 's'} met`;
  if (!args.json) io.out(`${scen}, ${met}${unchecked}${broken.length ? `, ${broken.length} strateg${broken.length === 1 ? 'y' : 'ies'} errored` : ''} · ${index}`);
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
