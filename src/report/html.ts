import { decimals, percent } from './units.js';
import { limitToHard } from '../actors/rancher-quota.js';
import { formatQuantity } from '../cluster/quantity.js';
import type { ScenarioSummary, StrategyResult } from '../explore/campaign.js';
import { latenciesSearched } from '../explore/exhaustive.js';
import type { ShrinkNote } from '../explore/evidence-job.js';
import type { Scenario } from '../scenario/model.js';
import { describeAction } from '../sim/run.js';
import { headlineChart, quotaChart, SAFETY_COLOURS, STATUS_COLOURS, type ExpectationStatus, type HeadlineBar } from './charts.js';
import { FIDELITY } from './fidelity.js';
import { anchor, esc } from './html-util.js';
import { shellQuote } from '../base/shell.js';
import { significant } from '../base/digits.js';
import { replayCommand } from './files.js';
import { horizonNote } from './table.js';
import { kindsSection, matrixSection, notCheckedNote, type ExpectationOutcome, type NotChecked } from './index-matrix.js';
import { campaignComment } from './campaign-mark.js';
import type { QuotaState, RaceData } from './race.js';
import { safetyOf, stoppedAt, verdictWord } from './verdict.js';
import { pairedDifference, vmsMovedInterval, wilson, type Interval } from './stats.js';

/** First bytes of every report: how quotarace recognises a file it may overwrite. */
export const REPORT_MARKER = '<!DOCTYPE html>\n<!-- quotarace report';

export { esc, anchor } from './html-util.js';

/** The failure a report zooms into for one strategy. */
export interface FailureDetail {
  readonly strategy: string;
  readonly evidencePath: string;
  /** The id of the run the evidence shows. */
  readonly run?: string;
  readonly failure: string;
  readonly runs: number;
  readonly breaks?: readonly string[];
  /** Why this failure is the one shown ("the run the gate quotes for quotaCorrect", ...). */
  readonly why?: string;
  readonly explanation: readonly string[];
  /** Each explanation line's kernel step (the race table's row number), when it has one. */
  readonly storySteps?: ReadonlyArray<number | undefined>;
  readonly race: RaceData;
  /** sha256 of the shown run's whole trace, as recorded by the job that shrank it; `replay` prints the same. */
  readonly traceSha256: string;
  /** What shrinking took from the campaign's run. */
  readonly shrink: ShrinkNote;
  /** The command that replays the shown (shrunk) run from its evidence. */
  readonly replay: string;
  /** The command that traces the campaign's unshrunk run. */
  readonly unshrunk: string;
}

export type { ExpectationOutcome, NotChecked } from './index-matrix.js';
export { notCheckedNote } from './index-matrix.js';

/** How the reports were made: shown in each page's header and the index. The date is the report's, never the simulator's. */
export interface RunMeta {
  /** The run line: executed as printed (from the same directory) it reproduces the campaign. */
  readonly command: string;
  /** Shell comments beside it: tool version, scenario and module sha256, runs and seed per scenario, shards. */
  readonly notes: readonly string[];
  readonly version: string;
  readonly date: string;
}

export interface ScenarioReport {
  readonly scenario: Scenario;
  readonly summary: ScenarioSummary;
  readonly bits: ReadonlyMap<string, { quota: string; move: string }>;
  readonly failures: readonly FailureDetail[];
  readonly expectations: readonly ExpectationOutcome[];
  /** Expectations of strategies left out with --strategy. */
  readonly notChecked?: readonly NotChecked[];
  readonly meta?: RunMeta;
  /** How `--strategy` names each strategy (a module by its path), for the commands the report prints. */
  readonly strategyArgs?: Readonly<Record<string, string>>;
}

const STYLE = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1360px;padding:.8rem 1.2rem 3rem;color:#1d1d1d}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin:2rem 0 .6rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{font-size:1.02rem;margin:1.2rem 0 .4rem}
.meta{color:#555;font-size:.86rem;margin:.1rem 0 .6rem;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #e0e0e0;padding:.25rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f6f6;font-weight:600;overflow-wrap:normal}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.ok{color:#1b5e20;font-weight:600}.bad{color:#b71c1c;font-weight:600}.muted{color:#666}
pre,code{font:12.5px/1.4 ui-monospace,monospace}code{overflow-wrap:anywhere}pre{background:#f6f6f6;padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere}
.chart svg{max-width:100%;height:auto}figure{margin:.6rem 0}figcaption{color:#555;font-size:.86rem}
#headline{display:grid;grid-template-columns:minmax(0,1fr) 380px;gap:1.2rem;align-items:start;border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;margin-top:.4rem}
#headline h2{margin:0 0 .3rem;border:0;padding:0}
.verdicts{display:flex;flex-direction:column;gap:.3rem}
.v{display:grid;grid-template-columns:190px 150px minmax(0,1fr);gap:.6rem;align-items:baseline;padding:.3rem .5rem;border-left:6px solid #757575;background:#fafafa}
.v .name{font-weight:600;overflow-wrap:anywhere}.v .badge{font-weight:700;font-size:.82rem;letter-spacing:.02em}.v .say{overflow-wrap:anywhere}
.v.safe{border-left-color:${SAFETY_COLOURS.safe}}.v.unsafe{border-left-color:${SAFETY_COLOURS.unsafe};background:#fff4f4}.v.error{border-left-color:#212121;background:#eee}
.v.safe .badge{color:${SAFETY_COLOURS.safe}}.v.unsafe .badge{color:${SAFETY_COLOURS.unsafe}}
.v.incomplete{border-left-color:#f9a825;background:#fffdf3}.v.incomplete .badge{color:#5d4037}
.v .exp{display:block;font-weight:600;font-size:.78rem;letter-spacing:0;overflow-wrap:anywhere}.v .exp.met{color:${STATUS_COLOURS['meets its expectation']}}.v .exp.broken{color:${STATUS_COLOURS['breaks its expectation']}}.v .exp.none{color:${STATUS_COLOURS['no expectation']};font-weight:400}
.v .go{display:block;font-size:.82rem;margin-top:.1rem}
.caveat{font-size:.84rem;color:#5d4037;background:#fff8e1;padding:.3rem .5rem;margin:.4rem 0 0}
table.kinds td.sig{max-width:420px}
table.race{font-size:12.5px;table-layout:fixed}table.race td,table.race th{padding:.15rem .35rem}
table.race th.lane{width:26px;min-width:26px;padding:.3rem 0;vertical-align:bottom;height:210px}
table.race th.lane span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;display:inline-block;font-weight:500;font-size:12px}
table.race td.lane{width:26px;padding:0;text-align:center;background:linear-gradient(#ccc,#ccc) no-repeat center/1px 100%}
table.race td.lane svg{display:block;margin:2px auto;background:#fff}
table.race td.t{white-space:nowrap;font-variant-numeric:tabular-nums}
table.race td.st{background:#fbfbfb}table.race td.st.ch{background:#fff3c4;font-weight:600}
table.race tr.gap td{background:#f3f3f3;color:#777;font-style:italic;text-align:center}
tr.reset td.what{color:#b71c1c;font-weight:600}tr.raise td.what{color:#0d47a1;font-weight:600}tr.restore td.what{color:#4a148c;font-weight:600}tr.edit td.what{color:#e65100;font-weight:600}
.banner{display:flex;gap:1rem;align-items:baseline;padding:.5rem .8rem;border-radius:6px;margin:.4rem 0;border:1px solid #ddd}
.banner.pass{background:#e8f5e9;border-color:#a5d6a7}.banner.fail{background:#ffebee;border-color:#ef9a9a}
.banner .word{font-weight:800;font-size:1.1rem}.banner.pass .word{color:#1b5e20}.banner.fail .word{color:#b71c1c}
ol.story{font-size:.9rem;list-style:none;padding-left:.4rem}ol.story .step{display:inline-block;min-width:3.2em;font-variant-numeric:tabular-nums;color:#555}ol.story li.nostep{padding-left:3.45em}details summary{cursor:pointer;color:#333}
#toc{font-size:.86rem;margin:.3rem 0 .4rem;color:#444;overflow-wrap:anywhere}#toc a{white-space:nowrap}
.scroll{overflow-x:auto}
table.matrix th.sc{min-width:150px;font-weight:600}table.matrix th.st{white-space:nowrap}
table.matrix td.cell{white-space:nowrap;font-variant-numeric:tabular-nums}table.matrix td.cell a{color:inherit}
.cell.sev-0{background:#e8f5e9;color:#1b5e20}.cell.sev-1{background:#ffebee;color:#8e0000}.cell.sev-2{background:#ffcdd2;color:#8e0000}.cell.sev-3{background:#e57373;color:#3e0000;font-weight:600}.cell.sev-error{background:#424242;color:#fff}.cell.sev-incomplete{background:#fff8e1;color:#5d4037}.cell.none{color:#999;text-align:center}
.cell.key{display:inline-block;padding:.1rem .4rem;margin:.1rem 0;font-size:.82rem}
table.matrix .exp{font-size:.76rem;font-weight:600;white-space:nowrap;background:#fff;border-radius:3px;padding:0 .25rem;margin-left:.2rem}table.matrix .exp.met{color:#1b5e20}table.matrix .exp.broken{color:#b71c1c}
`;

const pct = (x: number) => percent(x);
const pct0 = (x: number) => (x === 1 ? '100%' : x === 0 ? '0%' : percent(x, x > 0.99 || x < 0.01 ? 1 : 0));
const ci = (i: Interval) => `${pct(i.low)}–${pct(i.high)}`;
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${decimals(Math.abs(x) * 100, 1, [0])} pts`;
const plural = (n: number, w: string) => `${n.toLocaleString('en-US')} ${w}${n === 1 ? '' : 's'}`;

function page(title: string, body: string): string {
  return `${REPORT_MARKER} v2 -->
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function metaLine(meta: RunMeta | undefined): string {
  if (!meta) return '';
  return `<p class="meta">quotarace ${esc(meta.version)} · ${esc(meta.date)} · reproduce with:</p><pre class="runline"><code class="cmd">${esc(meta.command)}</code>${meta.notes.map((n) => `\n<span class="muted">${esc(n)}</span>`).join('')}</pre>`;
}

/** The unit runs are counted in: interleavings of a complete enumeration are not a sample. */
const unitOf = (s: ScenarioSummary) => (s.explore === 'exhaustive' ? 'interleaving' : 'run');

function statusOf(r: ScenarioReport, strategy: string, metric?: string): ExpectationStatus {
  const exps = r.expectations.filter((e) => e.strategy === strategy && (metric === undefined || e.metric === metric));
  if (!exps.length) return 'no expectation';
  return exps.every((e) => e.passed) ? 'meets its expectation' : 'breaks its expectation';
}

/** Runs (or interleavings) where the quota ended wrong, VMs were left behind, an invariant broke. */
function counts(r: ScenarioReport, st: StrategyResult): { n: number; quota: number; moved: number; inv: number; failing: number } {
  const n = st.runs;
  const b = r.bits.get(st.name);
  const zeros = (s: string) => [...s].filter((c) => c === '0').length;
  return {
    n,
    quota: b ? zeros(b.quota) : Math.round((1 - st.quotaCorrect) * n),
    moved: b ? zeros(b.move) : 0,
    inv: Math.round(st.invariantViolations * n),
    failing: st.failures.reduce((x, f) => x + f.runs, 0),
  };
}

/** The headline sentence of one strategy: safe or not here, how often and how it fails. */
function sentence(r: ScenarioReport, st: StrategyResult): string {
  if (st.error) return `The strategy failed with an error: ${st.error}`;
  const c = counts(r, st);
  const unit = unitOf(r.summary);
  const x = st.exploration;
  // The latencies held fixed belong to the verdict: "no failure" is about those latencies only.
  let covered = '';
  if (x.selector === 'exhaustive') {
    const which =
      x.delays !== undefined
        ? (x.delaysComplete ?? -1) >= 0
          ? `every one of at most ${x.delaysComplete} delays explored, `
          : 'no delay bound covered completely, '
        : !x.complete
          ? ''
          : x.reduction === undefined
            ? 'one for each order of the steps that conflict, by DPOR, '
            : 'every one explored, ';
    covered = ` (${which}${latenciesSearched(x)})`;
    // Stopped at --max-runs: what it reached, never a verdict on what it did not.
    if (!x.complete) {
      const reached = `${c.n.toLocaleString('en-US')} ${unit}s it reached${covered} before it ${stoppedAt(st)}`;
      if (c.failing === 0) return `No failure found in the ${reached}: an incomplete search shows nothing about the ${unit}s it did not reach, so this is not a verdict of safety.`;
      covered = ` it reached${covered} before it ${stoppedAt(st)}`;
    }
  }
  const of = `${c.n.toLocaleString('en-US')} ${unit}s${r.summary.explore === 'exhaustive' ? covered : ''}`;
  if (c.failing === 0) return `No failure in ${of}: the quota always ended as the user asked and every VM moved.`;
  const parts: string[] = [];
  if (c.quota) parts.push(`the quota ended wrong in ${c.quota.toLocaleString('en-US')} (${pct0(c.quota / c.n)})`);
  if (c.moved) parts.push(`VMs were left behind in ${c.moved.toLocaleString('en-US')} (${pct0(c.moved / c.n)})`);
  if (c.inv) parts.push(`an invariant broke in ${c.inv.toLocaleString('en-US')}`);
  const kinds = st.failures.length;
  return `Fails in ${c.failing.toLocaleString('en-US')} of ${of}: ${parts.join(', ')}. ${plural(kinds, 'failure kind')}.`;
}

async function headline(r: ScenarioReport): Promise<string> {
  const s = r.summary;
  const rows: string[] = [];
  const bars: HeadlineBar[] = [];
  for (const st of s.strategies) {
    const status = statusOf(r, st.name);
    const failing = !st.error && st.failures.length > 0;
    // The colour is safety (did any run break the quota, a migration or an invariant); whether
    // that was expected is a mark of its own: "pre-fix UNSAFE, as expected" stays red.
    // An exhaustive search stopped at --max-runs without a failure is neither: "incomplete".
    const safety = safetyOf(st);
    const exps = r.expectations.filter((e) => e.strategy === st.name);
    const expMark =
      status === 'no expectation'
        ? '<span class="exp none">no expectation set</span>'
        : status === 'meets its expectation'
          ? `<span class="exp met">✓ as expected (${exps.map((e) => esc(e.name)).join(', ')})</span>`
          : `<span class="exp broken">✗ BREAKS ${exps.filter((e) => !e.passed).map((e) => esc(e.name)).join(', ')}</span>`;
    const word = esc(verdictWord(st));
    const zoomed = r.failures.some((f) => f.strategy === st.name);
    const go = failing ? `<span class="go"><a href="#${anchor('failures', st.name)}">failure kinds</a>${zoomed ? ` · <a href="#${anchor('race', st.name)}">the race</a>` : ''}</span>` : '';
    const data = `data-strategy="${esc(st.name)}" data-safety="${safety}" data-expectation="${status === 'no expectation' ? 'none' : status === 'meets its expectation' ? 'meets' : 'breaks'}"`;
    rows.push(`<div class="v ${safety}" id="${anchor('verdict', st.name)}" ${data}><span class="name">${esc(st.name)}</span><span class="badge">${word}${expMark}</span><span class="say">${esc(sentence(r, st))}${go}</span></div>`);
    if (st.error) continue;
    for (const [metric, key, value] of [
      ['quota correct', 'quotaCorrect', st.quotaCorrect],
      ['VMs moved', 'migrationsSucceeded', st.migrationsSucceeded],
    ] as const) {
      const e = r.scenario.expect.find((x) => x.strategy === st.name && x.metric === key);
      const bound = e?.min ?? e?.max;
      bars.push({ strategy: st.name, metric, value, label: pct0(value), ...(bound !== undefined ? { bound } : {}) });
    }
  }
  const chart = bars.length ? await headlineChart(bars, s.strategies.filter((x) => !x.error).map((x) => x.name)) : '';
  const caveats: string[] = [];
  for (const st of s.strategies) {
    const x = st.exploration;
    if (x.selector === 'pct' && st.failures.length === 0) {
      caveats.push(`${esc(st.name)}: no failure found, but PCT's bound says a depth-${x.depth} bug would still be missed with probability up to ${significant(x.missBound, 3, [0, 1])} (a heuristic, not a guarantee)${x.runsFor5Percent ? `; ${x.runsFor5Percent.toLocaleString('en-US')} runs would bring it under 5%` : ''}.`);
    }
    if (x.selector === 'exhaustive' && x.delays !== undefined) caveats.push(`${esc(st.name)}: delay-bounded enumeration, ${esc(x.summary.split(': ')[0]!)}; counts cover only those runs.`);
    else if (x.selector === 'exhaustive' && !x.complete) caveats.push(`${esc(st.name)}: the enumeration ${esc(stoppedAt(st))}, incomplete; counts cover only the interleavings explored.`);
  }
  for (const st of s.strategies) {
    if (!st.error && st.endedAtHorizon > 0) caveats.push(`<span class="horizon" data-strategy="${esc(st.name)}">${esc(horizonNote(st, horizonText(r.scenario.horizonMs)))}.</span>`);
  }
  if (s.explore === 'exhaustive') {
    caveats.push('Exhaustive exploration: counts over the enumerated interleavings, which are not equally likely in a real cluster; they are not probabilities.');
    // Pruning cuts a run at a state already explored: its end is covered, its past is not counted.
    caveats.push('Counters of what happened along a run (409 conflicts, target pods refused by quota, edits refused, agent restarts) are summed over the interleavings run to their end only: a run cut short at an explored state adds nothing, so even a complete search does not bound them.');
  }
  return `<section id="headline"><div><h2>Verdict on this scenario</h2><div class="verdicts">${rows.join('\n')}</div>${caveats.length ? `<p class="caveat">${caveats.join('<br>')}</p>` : ''}</div>
<figure class="chart headline-chart">${chart}<figcaption>Per strategy: quota correct (upper, solid bar) and VMs moved (lower, pale bar), 0–100%, each labelled with its value. Green: every run right; red: some run broke it. A black tick marks the bound of the scenario's expectation, whether or not it was met (✓ or ✗ beside the strategy).</figcaption></figure></section>`;
}

/** A horizon as a scenario spells it: 30m, 20s. */
function horizonText(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

/** The commands that show a failure kind's example: the run as it ran (`trace`), and its shrunk evidence (`replay`). */
function seeIt(r: ScenarioReport, st: StrategyResult, run: string, evidence: string | undefined): string {
  const trace = `<code>${esc(`quotarace trace ${shellQuote(r.scenario.file)} --strategy ${shellQuote(r.strategyArgs?.[st.name] ?? st.name)} --run ${shellQuote(run)}`)}</code> <span class="muted">(as it ran)</span>`;
  const module = r.strategyArgs?.[st.name];
  return evidence ? `${trace}<br><code>${esc(replayCommand(evidence, module !== undefined && module !== st.name ? module : undefined))}</code> <span class="muted">(shrunk)</span>` : trace;
}


/** Every failure kind of every strategy: count, metrics it breaks, example run, evidence, replay. */
function failuresSection(r: ScenarioReport): string {
  const s = r.summary;
  const parts: string[] = [];
  for (const st of s.strategies) {
    if (st.error || st.failures.length === 0) continue;
    const rows = st.failures.map((g) => {
      const ev = st.evidence.find((e) => e.run === g.firstRun && !e.breaks.includes('settled'));
      const shown = r.failures.find((f) => f.strategy === st.name && f.run === g.firstRun);
      return `<tr${shown ? ' class="shown"' : ''}><td class="num">${g.runs.toLocaleString('en-US')}</td><td class="num">${pct0(g.runs / Math.max(1, st.runs))}</td><td>${g.breaks.map((b) => `<b>${esc(b)}</b>`).join(', ')}</td><td class="sig">${esc(g.signature)}</td><td><code>${esc(g.firstRun)}</code>${shown ? ` <span class="muted">(zoomed below, ${shown.shrink.shrunk ? 'shrunk' : 'as it ran'})</span>` : ''}</td><td>${ev ? `<code>${esc(ev.path)}</code>` : '<span class="muted">not saved (evidence limit)</span>'}</td><td>${seeIt(r, st, g.firstRun, ev?.path)}</td></tr>`;
    });
    parts.push(`<h3 id="${anchor('failures', st.name)}">${esc(st.name)}: ${plural(st.failures.length, 'failure kind')}</h3>
<table class="kinds"><tr><th>${unitOf(s)}s</th><th>share</th><th>breaks</th><th>what went wrong</th><th>example ${unitOf(s)}</th><th>evidence</th><th>see it</th></tr>${rows.join('')}</table>`);
  }
  return `<section id="failures"><h2>Every failure kind</h2>${parts.length ? parts.join('\n') : '<p class="ok">No strategy failed in this campaign.</p>'}</section>`;
}

const STATE_COLS: ReadonlyArray<[keyof QuotaState, string]> = [
  ['specHard', 'spec.hard'],
  ['statusHard', 'status.hard (admission)'],
  ['used', 'used'],
  ['migrations', 'migration annotations'],
  ['wish', 'user wants'],
];

/** The race as a sequence diagram (a lane per actor, a mark per step, hover text) beside the quota's state at each step. */
function raceTable(f: FailureDetail): string {
  const d = f.race;
  const lanes = d.actors;
  const head = `<tr><th>#</th><th>time</th>${lanes.map((a) => `<th class="lane" title="${esc(a)}"><span>${esc(a)}</span></th>`).join('')}<th style="width:230px">what</th>${STATE_COLS.map(([, l]) => `<th>${esc(l)}</th>`).join('')}</tr>`;
  const rows: string[] = [];
  let prevIndex = -1;
  let prevT = 0;
  const span = 2 + lanes.length + 1 + STATE_COLS.length;
  const ids = new Set<number>();
  for (const s of d.steps) {
    // A cache delivery is no timeline line: it never hides lines of its own.
    const skipped = s.kind === 'delivery' ? 0 : s.index - prevIndex - 1;
    if (skipped > 0) rows.push(`<tr class="gap"><td colspan="${span}">… ${plural(skipped, 'timeline line')} not shown (${((s.t - prevT) / 1000).toFixed(3)} s) …</td></tr>`);
    if (s.kind !== 'delivery') prevIndex = s.index;
    prevT = s.t;
    const colour = s.kind === 'refused' ? '#c62828' : s.kind === 'note' ? '#9e9e9e' : s.kind === 'delivery' ? '#00838f' : s.tag === 'reset' ? '#c62828' : s.tag === 'raise' ? '#1565c0' : s.tag === 'restore' ? '#6a1b9a' : s.tag === 'edit' ? '#ef6c00' : '#455a64';
    const shape =
      s.kind === 'refused'
        ? `<path d="M3 3L11 11M11 3L3 11" stroke="${colour}" stroke-width="2.4"/>`
        : s.kind === 'note'
          ? `<rect x="3" y="3" width="8" height="8" fill="none" stroke="${colour}" stroke-width="1.6"/>`
          : s.kind === 'delivery'
            ? `<circle cx="7" cy="7" r="4.2" fill="none" stroke="${colour}" stroke-width="1.8"/>`
          : `<circle cx="7" cy="7" r="5" fill="${colour}"/>`;
    const title = `${(s.t / 1000).toFixed(3)}s ${s.actor} ${s.kind === 'refused' ? 'REFUSED' : s.kind}: ${s.text}`;
    const cells = lanes.map((a) => (a === s.actor ? `<td class="lane"><svg class="mark" width="14" height="14" viewBox="0 0 14 14"><title>${esc(title)}</title>${shape}</svg></td>` : '<td class="lane"></td>')).join('');
    const state = STATE_COLS.map(([k]) => `<td class="st${s.changed.includes(k) ? ' ch' : ''}">${esc(s.state[k])}</td>`).join('');
    // The first row of each step is the story's link target for that step.
    const id = ids.has(s.step) ? '' : ` id="${stepAnchor(f.strategy, s.step)}"`;
    ids.add(s.step);
    rows.push(`<tr class="${s.tag ?? ''}"${id} data-step="${s.step}"><td class="num">${s.step}</td><td class="t">${(s.t / 1000).toFixed(3)}s</td>${cells}<td class="what" title="${esc(s.text)}">${esc(s.label)}</td>${state}</tr>`);
  }
  return `<table class="race"><thead>${head}</thead><tbody>${rows.join('\n')}</tbody></table>`;
}

const deliveries = (n: number) => `${n.toLocaleString('en-US')} cache deliver${n === 1 ? 'y' : 'ies'}`;
const stepAnchor = (strategy: string, step: number) => `${anchor('race', strategy)}-step-${step}`;

/** The story, each line numbered with its step as the race table numbers its rows (a link when that row is shown). */
function story(f: FailureDetail): string {
  const shown = new Set(f.race.steps.map((s) => s.step));
  return f.explanation
    .map((l, i) => {
      const step = f.storySteps?.[i];
      if (step === undefined) return `<li class="nostep">${esc(l)}</li>`;
      const n = shown.has(step) ? `<a class="step" href="#${stepAnchor(f.strategy, step)}">#${step}</a>` : `<span class="step" title="not among the rows shown">#${step}</span>`;
      return `<li data-step="${step}">${n} ${esc(l)}</li>`;
    })
    .join('');
}

/** What the zoomed run is: "shrunk from random:17: drain node-1 removed, 212 of 476 choices at their defaults, 120 of 480 steps". */
export function shrinkSentence(n: ShrinkNote): string {
  if (!n.shrunk) return `run ${n.from} itself, not shrunk (no smaller run fails the same way)`;
  const parts: string[] = [];
  for (const a of n.removedActions) parts.push(`${a} removed`);
  parts.push(`${n.atDefault.toLocaleString('en-US')} of ${plural(n.choices, 'choice')} at their defaults (the run had ${n.originalChoices.toLocaleString('en-US')})`);
  parts.push(`${n.steps.toLocaleString('en-US')} of ${plural(n.originalSteps, 'step')}`);
  if (n.horizonMs !== undefined) parts.push(`cut at ${n.horizonMs / 1000}s`);
  return `shrunk from ${n.from}: ${parts.join(', ')}`;
}

async function raceSection(r: ScenarioReport): Promise<string> {
  if (!r.failures.length) return `<section id="race"><h2>The race, zoomed</h2><p class="ok">No failure to show.</p></section>`;
  const parts: string[] = [];
  for (const f of r.failures) {
    const d = f.race;
    const n = f.shrink;
    const unshrunk = n.shrunk
      ? `<p class="muted unshrunk">The unshrunk ${esc(unitOf(r.summary))} <code>${esc(n.from)}</code> (trace sha256 <code>${esc(n.originalTraceSha256)}</code>): <code>${esc(f.unshrunk)}</code></p>`
      : '';
    parts.push(`<article class="failure" data-strategy="${esc(f.strategy)}" id="${anchor('race', f.strategy)}" data-trace-sha256="${esc(f.traceSha256)}"><h3>${esc(f.strategy)}: ${esc(f.failure)}</h3>
<p class="shown">The run shown: ${esc(shrinkSentence(n))}${f.why ? ` (${esc(f.why)})` : ''}; ${plural(f.runs, unitOf(r.summary))} failed this way.</p>
<p class="muted">trace sha256 <code class="trace-hash">${esc(f.traceSha256)}</code>; replay prints the same: <code>${esc(f.replay)}</code></p>
${unshrunk}
<details open><summary>The story in words (#: the step, as the race table's rows)</summary><ol class="story">${story(f)}</ol></details>
<figure class="seq">${raceTable(f)}<figcaption>${d.steps.filter((x) => x.kind !== 'delivery').length} of the ${n.shrunk ? 'shrunk ' : ''}run's ${d.total} timeline lines, and ${deliveries(d.steps.filter((x) => x.kind === 'delivery').length)}: the ones that move namespace “${esc(d.namespace)}”'s quota or mark the story (Rancher's reset in red, Harvester's raises in blue and restores in purple, the user in orange); ● write, ✕ refusal, □ what an actor said, ○ Harvester's or Rancher's cache receiving this namespace's quota or namespace (what they decide from: a write read before its delivery is a stale read); hover a mark for its full text. Right: the quota after each step (yellow: changed since the row above), quantities exactly as the trace prints them. Times to the millisecond, one row per step.</figcaption></figure>
</article>`);
  }
  return `<section id="race"><h2>The race, zoomed</h2>${parts.join('\n')}</section>`;
}

async function quotaSection(r: ScenarioReport): Promise<string> {
  const parts: string[] = [];
  for (const f of r.failures) {
    const wrong = f.race.quotas.filter((q) => q.wrong);
    if (!wrong.length) parts.push(`<p class="muted" data-strategy="${esc(f.strategy)}"><b>${esc(f.strategy)}</b>, ${unitOf(r.summary)} <code>${esc(f.run ?? '')}</code>: every quota key ended as the user asked; nothing to chart.</p>`);
    for (const q of wrong) {
      const svg = await quotaChart(q, f.race.markers);
      parts.push(`<figure class="chart quota" data-strategy="${esc(f.strategy)}" data-key="${esc(`${q.namespace}/${q.resource}`)}">${svg}<figcaption><b>${esc(f.strategy)}</b>, the ${f.shrink.shrunk ? `run shrunk from <code>${esc(f.shrink.from)}</code>` : `${unitOf(r.summary)} <code>${esc(f.shrink.from)}</code>`}: ${esc(q.resource)} of namespace “${esc(q.namespace)}”${q.wrong ? ' (ended wrong)' : ''}, in ${esc(q.unit === 'm' ? 'millicores (m)' : q.unit)}; at the end ${q.ends.map((e) => `${esc(e.series)} <b class="q">${esc(e.value)}</b>`).join(', ')}. spec.hard is the thick pale line, status.hard (what admission checks) the thin dashed dark one; each change of spec.hard is a point coloured (and shaped) by the rule that wrote it; vertical rules mark events.</figcaption></figure>`);
    }
  }
  return `<section id="quota"><h2>Quota over time</h2>${parts.length ? parts.join('\n') : '<p class="muted">No failure to show.</p>'}</section>`;
}

function detailsSection(r: ScenarioReport): string {
  const s = r.summary;
  const exhaustive = s.explore === 'exhaustive';
  const baseline = s.strategies[0];
  const paired = !exhaustive && s.strategies.length > 1;
  const rows = s.strategies.map((st) => {
    if (st.error) return `<tr><th>${esc(st.name)}</th><td colspan="7" class="bad">ERROR: ${esc(st.error)}</td></tr>`;
    const n = st.runs;
    const c = counts(r, st);
    const q = wilson(n - c.quota, n);
    const m = vmsMovedInterval(st.vmsMoved, st.vmsToMove, n);
    const quota = exhaustive ? `${(n - c.quota).toLocaleString('en-US')} of ${n.toLocaleString('en-US')}` : `${pct(st.quotaCorrect)} <span class="muted">[${ci(q)}]</span>`;
    const moved = exhaustive ? `${st.vmsMoved} of ${st.vmsToMove} VMs` : `${pct(st.migrationsSucceeded)} <span class="muted">[${ci(m)}]</span>`;
    // Paired run by run against the first strategy: the quota, and whether every VM that had to move did.
    let diff = '<td class="muted">baseline</td><td class="muted">baseline</td>';
    if (!paired) diff = '<td class="muted">–</td><td class="muted">–</td>';
    else if (st !== baseline) {
      const a = r.bits.get(baseline!.name);
      const b = r.bits.get(st.name);
      const cell = (x: string, y: string) => {
        const d = pairedDifference(x, y);
        return `<td class="num">${signed(d.difference)} <span class="muted">[${signed(d.interval.low)}, ${signed(d.interval.high)}]</span></td>`;
      };
      diff = a && b ? cell(a.quota, b.quota) + cell(a.move, b.move) : '<td class="muted">–</td><td class="muted">–</td>';
    }
    return `<tr><th>${esc(st.name)}</th><td class="num">${n.toLocaleString('en-US')}</td><td class="num">${quota}</td><td class="num">${moved}</td><td class="num">${exhaustive ? `${c.inv} of ${n}` : pct(st.invariantViolations)}</td><td class="num">${exhaustive ? c.failing : st.failingRuns.length ? c.failing : 0}</td>${diff}</tr>`;
  });
  const expectations = r.expectations.length
    ? `<h3>Expectations (the CI gate)</h3><table><tr><th>strategy</th><th>expectation</th><th>actual</th><th>result</th></tr>${r.expectations
        .map((e) => `<tr><td>${esc(e.strategy)}</td><td><code>${esc(e.name)}</code></td><td class="num">${Number.isFinite(e.actual) ? decimals(e.actual, 4, [0, 1]) : '–'}</td><td class="${e.passed ? 'ok' : 'bad'}">${e.passed ? 'pass' : esc(e.message)}</td></tr>`)
        .join('')}</table>`
    : '';
  const note = exhaustive
    ? 'Exhaustive exploration enumerates interleavings; the numbers are counts over that enumeration. Interleavings are not equally likely in a real cluster, so no confidence interval applies.'
    : 'Intervals are Wilson 95% intervals over runs. VMs moved is the fraction of the VMs that had to move that did, pooled over the runs; the VMs of one run are not independent samples, so its interval takes the runs as the sample size, not the VMs (Wilson\'s interval of that fraction over the runs: the worst case of VMs moving or staying together). Every strategy ran on the same seeds, so the differences to the first strategy are paired run by run (McNemar-style intervals): runs whose quota ended right, and runs in which every VM that had to move did.';
  return `<section id="verdict"><h2>The numbers</h2>
<table><tr><th>strategy</th><th>${unitOf(s)}s</th><th>quota correct${exhaustive ? '' : ' [95% CI]'}</th><th>VMs moved, of VMs that had to move${exhaustive ? '' : ' [95% CI over runs]'}</th><th>invariants broken</th><th>failing ${unitOf(s)}s</th><th>paired Δ quota correct vs ${esc(baseline?.name ?? '')}</th><th>paired Δ runs with every VM moved vs ${esc(baseline?.name ?? '')}</th></tr>
${rows.join('\n')}</table>
<p class="muted">${note}</p>
${expectations}</section>`;
}

function scenarioSection(r: ScenarioReport): string {
  const sc = r.scenario;
  const s = r.summary;
  const nodes = sc.nodes.map((n) => `<tr><td>${esc(n.name)}</td><td class="num">${esc(formatQuantity(n.cpu, 'cpu'))}</td><td class="num">${esc(formatQuantity(n.memory, 'memory'))}</td><td>${(() => { const k = sc.rancher?.agentNodes.filter((a) => a === n.name).length ?? 0; return k === 0 ? '' : k === 1 ? 'cattle-cluster-agent' : `cattle-cluster-agent ×${k}`; })()}</td></tr>`).join('');
  const ns = sc.namespaces
    .map(
      (n) =>
        `<tr><td>${esc(n.name)}</td><td>${esc(Object.entries(limitToHard(n.quota)).map(([k, v]) => `${k}=${formatQuantity(v, k)}`).join(', '))}</td><td>${n.vms.map((v) => `${esc(v.name)} <span class="muted">(${v.cpu} vCPU, ${esc(formatQuantity(v.memory, 'memory'))}, on ${esc(v.node)})</span>`).join('<br>')}</td></tr>`,
    )
    .join('');
  const actions = sc.actions
    .map((a) => `<li>${esc(describeAction(a))} ${'at' in a.timing ? `at ${a.timing.at / 1000}s` : `between ${a.timing.between[0] / 1000}s and ${a.timing.between[1] / 1000}s`}</li>`)
    .join('');
  const explored = s.strategies
    .map((st) => {
      const x = st.exploration;
      let how: string;
      if (x.selector === 'pct') how = `PCT (a heuristic, not a guarantee): ${x.guarantee}`;
      else if (x.selector === 'exhaustive' && x.delays !== undefined) how = `delay-bounded enumeration, ${x.summary}; counts, not probabilities`;
      else if (x.selector === 'exhaustive') how = `enumeration, ${x.summary}; counts, not probabilities`;
      else how = `${st.runs.toLocaleString('en-US')} random runs, seeds ${s.seed}–${s.seed + st.runs - 1}`;
      const failing = st.failingRuns?.length ? `; first failing ${unitOf(s)}s: ${st.failingRuns.map((x2) => `<code>${esc(x2)}</code>`).join(' ')}` : '';
      return `<li><b>${esc(st.name)}</b>: ${esc(how)}${failing}</li>`;
    })
    .join('');
  return `<section id="scenario"><h2>Scenario</h2>
<p>${esc(sc.description)}</p>
<p class="muted">${esc(sc.file)} · sha256 ${esc(sc.hash.slice(0, 16))}… · horizon ${sc.horizonMs / 1000}s · Rancher ${sc.rancher ? 'imported' : 'not imported'}</p>
<table><tr><th>node</th><th>cpu</th><th>memory</th><th>runs</th></tr>${nodes}</table>
<table><tr><th>namespace</th><th>user's quota</th><th>VMs</th></tr>${ns}</table>
<h3>Actions</h3><ul>${actions || '<li class="muted">none</li>'}</ul>
<h3>What was explored</h3><ul>${explored}</ul></section>`;
}

function fidelitySection(): string {
  return `<section id="fidelity"><h2>Fidelity</h2><p>Each modelled rule and the real source it follows (the code cites it next to the rule).</p>
<table><tr><th>rule</th><th>in quotarace</th><th>source</th></tr>${FIDELITY.map(([a, b, c]) => `<tr><td>${esc(a)}</td><td><code>${esc(b)}</code></td><td>${esc(c)}</td></tr>`).join('')}</table></section>`;
}

/** The scenario report's contents: each section, and each strategy's failure kinds and race. */
function scenarioToc(r: ScenarioReport): string {
  const failing = r.summary.strategies.filter((st) => !st.error && st.failures.length);
  const sub = (section: string, names: readonly string[]) => (names.length ? ` <span class="muted">(${names.map((n) => `<a href="#${anchor(section, n)}">${esc(n)}</a>`).join(', ')})</span>` : '');
  return `<nav id="toc" aria-label="contents"><b>Contents:</b> <a href="#headline">Verdict</a> · <a href="#failures">Failure kinds</a>${sub('failures', failing.map((x) => x.name))} · <a href="#race">The race</a>${sub('race', r.failures.map((f) => f.strategy))} · <a href="#quota">Quota over time</a> · <a href="#verdict">The numbers</a> · <a href="#scenario">Scenario</a> · <a href="#fidelity">Fidelity</a></nav>`;
}

/** One scenario's self-contained report: the verdict first, then every failure kind, then the race of the one shown. */
export async function scenarioReport(r: ScenarioReport): Promise<string> {
  const failed = r.expectations.filter((e) => !e.passed).length;
  const skipped = notCheckedNote(r.notChecked ?? []);
  const gate =
    (r.expectations.length ? (failed ? `<span class="bad">gate: ${failed} of ${r.expectations.length} expectations not met</span>` : `<span class="ok">gate: ${r.expectations.length} of ${r.expectations.length} expectations met</span>`) : `<span class="muted">no expectations${skipped ? ' checked' : ''}</span>`) +
    (skipped ? ` <span class="muted" id="not-checked">(${esc(skipped)})</span>` : '');
  const body = `<h1>${esc(r.scenario.name)}</h1>
<p class="meta">${gate} · ${esc(r.summary.explore)} exploration, ${plural(r.summary.runs, unitOf(r.summary))} per strategy · <a href="index.html">all scenarios</a></p>
${metaLine(r.meta)}
${scenarioToc(r)}
${await headline(r)}
${failuresSection(r)}
${await raceSection(r)}
${await quotaSection(r)}
${detailsSection(r)}
${scenarioSection(r)}
${fidelitySection()}`;
  return page(`quotarace: ${r.scenario.name}`, body);
}

/**
 * reports/index.html: the run's pass/fail banner, the strategy × scenario matrix (every
 * strategy and every scenario of the run in one table), each strategy's failure kinds across
 * scenarios, then a banner and a table per scenario with its gate.
 */
export function indexReport(entries: ReadonlyArray<{ summary: ScenarioSummary; href: string; expectations: readonly ExpectationOutcome[]; notChecked?: readonly NotChecked[] }>, meta?: RunMeta): string {
  const total = entries.reduce((n, e) => n + e.expectations.length, 0);
  const skippedAll = entries.reduce((n, e) => n + (e.notChecked?.length ?? 0), 0);
  const unchecked = skippedAll ? `, ${skippedAll} not checked (their strategies not run)` : '';
  const failedAll = entries.reduce((n, e) => n + e.expectations.filter((x) => !x.passed).length, 0);
  const errors = entries.reduce((n, e) => n + e.summary.strategies.filter((s) => s.error).length, 0);
  const ok = failedAll === 0 && errors === 0;
  const top = `<div class="banner ${ok ? 'pass' : 'fail'}" id="run-verdict"><span class="word">${ok ? 'PASS' : 'FAIL'}</span><span>${plural(entries.length, 'scenario')}, ${ok ? `${plural(total, 'expectation')} met${unchecked}` : `${failedAll} of ${plural(total, 'expectation')} not met${unchecked}${errors ? `, ${plural(errors, 'strategy error')}` : ''}`}</span></div>`;
  const blocks = entries.map((e) => {
    const failed = e.expectations.filter((x) => !x.passed);
    const broken = e.summary.strategies.filter((s) => s.error);
    const pass = failed.length === 0 && broken.length === 0;
    const rows = e.summary.strategies
      .map((st) => {
        const exp = e.expectations.filter((x) => x.strategy === st.name);
        const f = exp.filter((x) => !x.passed);
        const verdict = st.error ? '<span class="bad">error</span>' : exp.length ? (f.length ? `<span class="bad">${f.map((x) => esc(x.name)).join(', ')} not met</span>` : `<span class="ok">${exp.map((x) => esc(x.name)).join(', ')}</span>`) : '<span class="muted">no expectation</span>';
        return `<tr><td>${esc(st.name)}</td><td class="num">${st.runs.toLocaleString('en-US')}</td><td class="num">${st.error ? '–' : pct(st.quotaCorrect)}</td><td class="num">${st.error ? '–' : pct(st.migrationsSucceeded)}</td><td class="num">${st.error ? '–' : st.failures.length}</td><td>${verdict}</td></tr>`;
      })
      .join('');
    return `<section class="scenario" data-scenario="${esc(e.summary.name)}"><div class="banner ${pass ? 'pass' : 'fail'}"><span class="word">${pass ? 'PASS' : 'FAIL'}</span><a href="${esc(e.href)}">${esc(e.summary.name)}</a><span class="muted">${e.expectations.length ? `${e.expectations.length - failed.length} of ${plural(e.expectations.length, 'expectation')} met` : `no expectations${e.notChecked?.length ? ' checked' : ''}`}${e.notChecked?.length ? `, ${esc(notCheckedNote(e.notChecked))}` : ''} · ${esc(e.summary.explore)}, ${plural(e.summary.runs, unitOf(e.summary))} per strategy</span></div>
<table><tr><th>strategy</th><th>${unitOf(e.summary)}s</th><th>quota correct</th><th>VMs moved, of VMs that had to move</th><th>failure kinds</th><th>gate</th></tr>${rows}</table></section>`;
  });
  const toc = toc_([
    ['matrix', 'Strategies × scenarios'],
    ['kinds', 'Failure kinds per strategy'],
    ['scenarios', 'Each scenario and its gate'],
  ]);
  const mark = meta ? campaignComment({ command: meta.command, date: meta.date, reports: entries.map((e) => e.href) }) : '';
  return page('quotarace reports', `${mark}<h1>quotarace reports</h1>${metaLine(meta)}${top}${toc}
${matrixSection(entries)}
${kindsSection(entries)}
<section id="scenarios"><h2>Each scenario and its gate</h2>${blocks.join('\n')}</section>`);
}

/** A table of contents: one line of links to the page's sections. */
function toc_(items: ReadonlyArray<readonly [string, string]>): string {
  return `<nav id="toc" aria-label="contents"><b>Contents:</b> ${items.map(([id, label]) => `<a href="#${esc(id)}">${esc(label)}</a>`).join(' · ')}</nav>`;
}
