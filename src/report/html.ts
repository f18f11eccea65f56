import { formatQuantity } from '../cluster/quantity.js';
import type { ScenarioSummary, StrategyResult } from '../explore/campaign.js';
import type { Scenario } from '../scenario/model.js';
import { describeAction } from '../sim/run.js';
import { headlineChart, quotaChart, STATUS_COLOURS, type ExpectationStatus, type HeadlineBar } from './charts.js';
import { FIDELITY } from './fidelity.js';
import type { QuotaState, RaceData } from './race.js';
import { pairedDifference, wilson, type Interval } from './stats.js';

/** First bytes of every report: how quotarace recognises a file it may overwrite. */
export const REPORT_MARKER = '<!DOCTYPE html>\n<!-- quotarace report';

/** Every string from a scenario, a strategy or a trace goes through this. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

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
  readonly race: RaceData;
  readonly replay: string;
}

export interface ExpectationOutcome {
  readonly scenario: string;
  readonly strategy: string;
  readonly metric: string;
  /** "quotaCorrect >= 1" */
  readonly name: string;
  readonly actual: number;
  readonly passed: boolean;
  readonly message: string;
  /** A failed bound: the id of a run that breaks this metric, and its evidence file if one was saved. */
  readonly run?: string;
  readonly evidence?: string;
}

/** How the reports were made: shown in each page's header and the index. The date is the report's, never the simulator's. */
export interface RunMeta {
  readonly command: string;
  readonly version: string;
  readonly date: string;
}

export interface ScenarioReport {
  readonly scenario: Scenario;
  readonly summary: ScenarioSummary;
  readonly bits: ReadonlyMap<string, { quota: string; move: string }>;
  readonly failures: readonly FailureDetail[];
  readonly expectations: readonly ExpectationOutcome[];
  readonly meta?: RunMeta;
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
.v.meets{border-left-color:${STATUS_COLOURS['meets its expectation']}}.v.breaks{border-left-color:${STATUS_COLOURS['breaks its expectation']};background:#fff4f4}
.v.meets .badge{color:${STATUS_COLOURS['meets its expectation']}}.v.breaks .badge{color:${STATUS_COLOURS['breaks its expectation']}}
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
ol.story{font-size:.9rem}details summary{cursor:pointer;color:#333}
`;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const pct0 = (x: number) => (x === 1 ? '100%' : x === 0 ? '0%' : `${(x * 100).toFixed(x > 0.99 || x < 0.01 ? 1 : 0)}%`);
const ci = (i: Interval) => `${pct(i.low)}–${pct(i.high)}`;
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${(Math.abs(x) * 100).toFixed(1)} pts`;
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
  return `<p class="meta">quotarace ${esc(meta.version)} · ${esc(meta.date)} · <code>${esc(meta.command)}</code></p>`;
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
  const covered = x.selector === 'exhaustive' && x.delays !== undefined ? ((x.delaysComplete ?? -1) >= 0 ? ` (every one of at most ${x.delaysComplete} delays explored)` : ' (no delay bound covered completely)') : ' (every one explored)';
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
    const cls = status === 'meets its expectation' ? 'meets' : status === 'breaks its expectation' ? 'breaks' : 'none';
    const exps = r.expectations.filter((e) => e.strategy === st.name);
    const expText =
      status === 'no expectation'
        ? 'no expectation set'
        : status === 'meets its expectation'
          ? `as expected (${exps.map((e) => esc(e.name)).join(', ')})`
          : `BREAKS ${exps.filter((e) => !e.passed).map((e) => esc(e.name)).join(', ')}`;
    const word = st.error ? 'ERROR' : failing ? 'UNSAFE here' : 'SAFE here';
    rows.push(`<div class="v ${cls}" data-strategy="${esc(st.name)}"><span class="name">${esc(st.name)}</span><span class="badge">${word}<br><span class="muted" style="font-weight:400;letter-spacing:0">${expText}</span></span><span class="say">${esc(sentence(r, st))}</span></div>`);
    if (st.error) continue;
    for (const [metric, key, value] of [
      ['quota correct', 'quotaCorrect', st.quotaCorrect],
      ['VMs moved', 'migrationsSucceeded', st.migrationsSucceeded],
    ] as const) {
      const e = r.scenario.expect.find((x) => x.strategy === st.name && x.metric === key);
      const bound = e?.min ?? e?.max;
      bars.push({ strategy: st.name, metric, value, status: statusOf(r, st.name, key), ...(bound !== undefined ? { bound } : {}) });
    }
  }
  const chart = bars.length ? await headlineChart(bars, s.strategies.filter((x) => !x.error).map((x) => x.name)) : '';
  const caveats: string[] = [];
  for (const st of s.strategies) {
    const x = st.exploration;
    if (x.selector === 'pct' && st.failures.length === 0) {
      caveats.push(`${esc(st.name)}: no failure found, but PCT's bound says a depth-${x.depth} bug would still be missed with probability up to ${x.missBound.toPrecision(3)} (a heuristic, not a guarantee)${x.runsFor5Percent ? `; ${x.runsFor5Percent.toLocaleString('en-US')} runs would bring it under 5%` : ''}.`);
    }
    if (x.selector === 'exhaustive' && x.delays !== undefined) caveats.push(`${esc(st.name)}: delay-bounded enumeration, ${esc(x.summary.split(': ')[0]!)}; counts cover only those runs.`);
    else if (x.selector === 'exhaustive' && !x.complete) caveats.push(`${esc(st.name)}: the enumeration stopped at --max-runs, incomplete; counts cover only the interleavings explored.`);
  }
  if (s.explore === 'exhaustive') caveats.push('Exhaustive exploration: counts over the enumerated interleavings, which are not equally likely in a real cluster; they are not probabilities.');
  return `<section id="headline"><div><h2>Verdict on this scenario</h2><div class="verdicts">${rows.join('\n')}</div>${caveats.length ? `<p class="caveat">${caveats.join('<br>')}</p>` : ''}</div>
<figure class="chart headline-chart">${chart}<figcaption>Per strategy: quota correct (upper, solid bar) and VMs moved (lower, pale bar), 0–100%. Green: meets the scenario's expectation; red: breaks it; grey: no expectation. A black tick marks the bound.</figcaption></figure></section>`;
}

function replayOf(r: ScenarioReport, st: StrategyResult, run: string, evidence: string | undefined): string {
  if (evidence) return `quotarace replay ${shellWord(evidence)}`;
  return `quotarace trace ${shellWord(r.scenario.file)} --strategy ${shellWord(st.name)} --run ${shellWord(run)}`;
}

const shellWord = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** Every failure kind of every strategy: count, metrics it breaks, example run, evidence, replay. */
function failuresSection(r: ScenarioReport): string {
  const s = r.summary;
  const parts: string[] = [];
  for (const st of s.strategies) {
    if (st.error || st.failures.length === 0) continue;
    const rows = st.failures.map((g) => {
      const ev = st.evidence.find((e) => e.run === g.firstRun && !e.breaks.includes('settled'));
      const shown = r.failures.find((f) => f.strategy === st.name && f.run === g.firstRun);
      return `<tr${shown ? ' class="shown"' : ''}><td class="num">${g.runs.toLocaleString('en-US')}</td><td class="num">${pct0(g.runs / Math.max(1, st.runs))}</td><td>${g.breaks.map((b) => `<b>${esc(b)}</b>`).join(', ')}</td><td class="sig">${esc(g.signature)}</td><td><code>${esc(g.firstRun)}</code>${shown ? ' <span class="muted">(zoomed below)</span>' : ''}</td><td>${ev ? `<code>${esc(ev.path)}</code>` : '<span class="muted">not saved (evidence limit)</span>'}</td><td><code>${esc(replayOf(r, st, g.firstRun, ev?.path))}</code></td></tr>`;
    });
    parts.push(`<h3>${esc(st.name)}: ${plural(st.failures.length, 'failure kind')}</h3>
<table class="kinds"><tr><th>${unitOf(s)}s</th><th>share</th><th>breaks</th><th>what went wrong</th><th>example ${unitOf(s)}</th><th>evidence</th><th>replay</th></tr>${rows.join('')}</table>`);
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
  for (const s of d.steps) {
    if (s.index > prevIndex + 1) {
      const skipped = s.kind === 'delivery' ? 0 : s.index - prevIndex - 1;
      rows.push(`<tr class="gap"><td colspan="${span}">… ${plural(skipped, 'timeline line')} not shown (${((s.t - prevT) / 1000).toFixed(3)} s) …</td></tr>`);
    }
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
    rows.push(`<tr class="${s.tag ?? ''}" data-step="${s.step}"><td class="num">${s.step}</td><td class="t">${(s.t / 1000).toFixed(3)}s</td>${cells}<td class="what" title="${esc(s.text)}">${esc(s.label)}</td>${state}</tr>`);
  }
  return `<table class="race"><thead>${head}</thead><tbody>${rows.join('\n')}</tbody></table>`;
}

async function raceSection(r: ScenarioReport): Promise<string> {
  if (!r.failures.length) return `<section id="race"><h2>The race, zoomed</h2><p class="ok">No failure to show.</p></section>`;
  const parts: string[] = [];
  for (const f of r.failures) {
    const d = f.race;
    parts.push(`<article class="failure" data-strategy="${esc(f.strategy)}"><h3>${esc(f.strategy)}: ${esc(f.failure)}</h3>
<p class="muted">${esc(unitOf(r.summary))} <code>${esc(f.run ?? '')}</code>${f.why ? ` (${esc(f.why)})` : ''}; ${plural(f.runs, unitOf(r.summary))} failed this way. Replay it: <code>${esc(f.replay)}</code></p>
<details open><summary>The story in words</summary><ol class="story">${f.explanation.map((l) => `<li>${esc(l)}</li>`).join('')}</ol></details>
<figure class="seq">${raceTable(f)}<figcaption>${d.steps.length} of the shrunk run's ${d.total} timeline lines: the ones that move namespace “${esc(d.namespace)}”'s quota or mark the story (Rancher's reset in red, Harvester's raises in blue and restores in purple, the user in orange); ● write, ✕ refusal, □ what an actor said, ○ Harvester's or Rancher's cache receiving this namespace's quota or namespace (what they decide from: a write read before its delivery is a stale read); hover a mark for its full text. Right: the quota after each step (yellow: changed since the row above). Times to the millisecond, one row per step.</figcaption></figure>
</article>`);
  }
  return `<section id="race"><h2>The race, zoomed</h2>${parts.join('\n')}</section>`;
}

async function quotaSection(r: ScenarioReport): Promise<string> {
  const parts: string[] = [];
  for (const f of r.failures) {
    for (const q of f.race.quotas) {
      const svg = await quotaChart(q, f.race.markers);
      parts.push(`<figure class="chart quota" data-strategy="${esc(f.strategy)}" data-key="${esc(`${q.namespace}/${q.resource}`)}">${svg}<figcaption><b>${esc(f.strategy)}</b>, ${unitOf(r.summary)} <code>${esc(f.run ?? '')}</code>: ${esc(q.resource)} of namespace “${esc(q.namespace)}”${q.wrong ? ' (ended wrong)' : ''}. spec.hard is the thick pale line, status.hard (what admission checks) the thin dashed dark one; vertical rules mark events.</figcaption></figure>`);
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
    if (st.error) return `<tr><th>${esc(st.name)}</th><td colspan="6" class="bad">ERROR: ${esc(st.error)}</td></tr>`;
    const n = st.runs;
    const c = counts(r, st);
    const q = wilson(n - c.quota, n);
    const m = wilson(st.vmsMoved, st.vmsToMove);
    const quota = exhaustive ? `${(n - c.quota).toLocaleString('en-US')} of ${n.toLocaleString('en-US')}` : `${pct(st.quotaCorrect)} <span class="muted">[${ci(q)}]</span>`;
    const moved = exhaustive ? `${st.vmsMoved} of ${st.vmsToMove} VMs` : `${pct(st.migrationsSucceeded)} <span class="muted">[${ci(m)}]</span>`;
    let diff = '<td class="muted">baseline</td>';
    if (!paired) diff = '<td class="muted">–</td>';
    else if (st !== baseline) {
      const a = r.bits.get(baseline!.name);
      const b = r.bits.get(st.name);
      if (a && b) {
        const dq = pairedDifference(a.quota, b.quota);
        diff = `<td class="num">${signed(dq.difference)} <span class="muted">[${signed(dq.interval.low)}, ${signed(dq.interval.high)}]</span></td>`;
      }
    }
    return `<tr><th>${esc(st.name)}</th><td class="num">${n.toLocaleString('en-US')}</td><td class="num">${quota}</td><td class="num">${moved}</td><td class="num">${exhaustive ? `${c.inv} of ${n}` : pct(st.invariantViolations)}</td><td class="num">${exhaustive ? c.failing : st.failingRuns.length ? c.failing : 0}</td>${diff}</tr>`;
  });
  const expectations = r.expectations.length
    ? `<h3>Expectations (the CI gate)</h3><table><tr><th>strategy</th><th>expectation</th><th>actual</th><th>result</th></tr>${r.expectations
        .map((e) => `<tr><td>${esc(e.strategy)}</td><td><code>${esc(e.name)}</code></td><td class="num">${Number.isFinite(e.actual) ? e.actual.toFixed(4) : '–'}</td><td class="${e.passed ? 'ok' : 'bad'}">${e.passed ? 'pass' : esc(e.message)}</td></tr>`)
        .join('')}</table>`
    : '';
  const note = exhaustive
    ? 'Exhaustive exploration enumerates interleavings; the numbers are counts over that enumeration. Interleavings are not equally likely in a real cluster, so no confidence interval applies.'
    : 'Intervals are Wilson 95% intervals. Every strategy ran on the same seeds, so the difference to the first strategy is paired run by run (a McNemar-style interval).';
  return `<section id="verdict"><h2>The numbers</h2>
<table><tr><th>strategy</th><th>${unitOf(s)}s</th><th>quota correct${exhaustive ? '' : ' [95% CI]'}</th><th>migrations succeeded${exhaustive ? '' : ' [95% CI]'}</th><th>invariants broken</th><th>failing ${unitOf(s)}s</th><th>paired Δ quota correct vs ${esc(baseline?.name ?? '')}</th></tr>
${rows.join('\n')}</table>
<p class="muted">${note}</p>
${expectations}</section>`;
}

function scenarioSection(r: ScenarioReport): string {
  const sc = r.scenario;
  const s = r.summary;
  const nodes = sc.nodes.map((n) => `<tr><td>${esc(n.name)}</td><td class="num">${n.cpu / 1000}</td><td class="num">${esc(formatQuantity(n.memory, 'memory'))}</td><td>${(() => { const k = sc.rancher?.agentNodes.filter((a) => a === n.name).length ?? 0; return k === 0 ? '' : k === 1 ? 'cattle-cluster-agent' : `cattle-cluster-agent ×${k}`; })()}</td></tr>`).join('');
  const ns = sc.namespaces
    .map(
      (n) =>
        `<tr><td>${esc(n.name)}</td><td>${esc(Object.entries(n.quota).map(([k, v]) => `${k}=${v}`).join(', '))}</td><td>${n.vms.map((v) => `${esc(v.name)} <span class="muted">(${v.cpu} vCPU, ${esc(formatQuantity(v.memory, 'memory'))}, on ${esc(v.node)})</span>`).join('<br>')}</td></tr>`,
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
      else if (x.selector === 'exhaustive') how = `${x.complete ? 'complete enumeration' : 'incomplete enumeration'}: ${x.interleavings.toLocaleString('en-US')} distinct interleavings, ${counts(r, st).failing.toLocaleString('en-US')} failing (${x.pruned.toLocaleString('en-US')} duplicate states pruned); counts, not probabilities`;
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

/** One scenario's self-contained report: the verdict first, then every failure kind, then the race of the one shown. */
export async function scenarioReport(r: ScenarioReport): Promise<string> {
  const failed = r.expectations.filter((e) => !e.passed).length;
  const gate = r.expectations.length ? (failed ? `<span class="bad">gate: ${failed} of ${r.expectations.length} expectations not met</span>` : `<span class="ok">gate: ${r.expectations.length} of ${r.expectations.length} expectations met</span>`) : '<span class="muted">no expectations</span>';
  const body = `<h1>${esc(r.scenario.name)}</h1>
<p class="meta">${gate} · ${esc(r.summary.explore)} exploration, ${plural(r.summary.runs, unitOf(r.summary))} per strategy · <a href="index.html">all scenarios</a></p>
${metaLine(r.meta)}
${await headline(r)}
${failuresSection(r)}
${await raceSection(r)}
${await quotaSection(r)}
${detailsSection(r)}
${scenarioSection(r)}
${fidelitySection()}`;
  return page(`quotarace: ${r.scenario.name}`, body);
}

/** reports/index.html: a pass/fail banner per scenario with its gate, the run's metadata, links. */
export function indexReport(entries: ReadonlyArray<{ summary: ScenarioSummary; href: string; expectations: readonly ExpectationOutcome[] }>, meta?: RunMeta): string {
  const total = entries.reduce((n, e) => n + e.expectations.length, 0);
  const failedAll = entries.reduce((n, e) => n + e.expectations.filter((x) => !x.passed).length, 0);
  const errors = entries.reduce((n, e) => n + e.summary.strategies.filter((s) => s.error).length, 0);
  const ok = failedAll === 0 && errors === 0;
  const top = `<div class="banner ${ok ? 'pass' : 'fail'}" id="run-verdict"><span class="word">${ok ? 'PASS' : 'FAIL'}</span><span>${plural(entries.length, 'scenario')}, ${ok ? `${plural(total, 'expectation')} met` : `${failedAll} of ${plural(total, 'expectation')} not met${errors ? `, ${plural(errors, 'strategy error')}` : ''}`}</span></div>`;
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
    return `<section class="scenario" data-scenario="${esc(e.summary.name)}"><div class="banner ${pass ? 'pass' : 'fail'}"><span class="word">${pass ? 'PASS' : 'FAIL'}</span><a href="${esc(e.href)}">${esc(e.summary.name)}</a><span class="muted">${e.expectations.length ? `${e.expectations.length - failed.length} of ${plural(e.expectations.length, 'expectation')} met` : 'no expectations'} · ${esc(e.summary.explore)}, ${plural(e.summary.runs, unitOf(e.summary))} per strategy</span></div>
<table><tr><th>strategy</th><th>${unitOf(e.summary)}s</th><th>quota correct</th><th>migrations succeeded</th><th>failure kinds</th><th>gate</th></tr>${rows}</table></section>`;
  });
  return page('quotarace reports', `<h1>quotarace reports</h1>${metaLine(meta)}${top}${blocks.join('\n')}`);
}
