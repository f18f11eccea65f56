import { formatQuantity } from '../cluster/quantity.js';
import type { ScenarioSummary, StrategyResult } from '../explore/campaign.js';
import type { Scenario } from '../scenario/model.js';
import { describeAction } from '../sim/run.js';
import type { ChartData } from './chartdata.js';
import { quotaOverTime, swimlane } from './charts.js';
import { FIDELITY } from './fidelity.js';
import { pairedDifference, wilson, type Interval } from './stats.js';

/** First bytes of every report: how quotarace recognises a file it may overwrite. */
export const REPORT_MARKER = '<!DOCTYPE html>\n<!-- quotarace report';

/** Every string from a scenario, a strategy or a trace goes through this. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface FailureDetail {
  readonly strategy: string;
  readonly evidencePath: string;
  /** The id of the run the evidence shows. */
  readonly run?: string;
  readonly failure: string;
  readonly runs: number;
  readonly explanation: readonly string[];
  readonly charts: ChartData;
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

export interface ScenarioReport {
  readonly scenario: Scenario;
  readonly summary: ScenarioSummary;
  readonly bits: ReadonlyMap<string, { quota: string; move: string }>;
  readonly failures: readonly FailureDetail[];
  readonly expectations: readonly ExpectationOutcome[];
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:980px;padding:0 1rem;color:#222}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6rem 0}th,td{border:1px solid #ddd;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#17702a;font-weight:600}.bad{color:#b3261e;font-weight:600}.muted{color:#666}
pre,code{font:13px/1.4 ui-monospace,monospace}pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
figure{margin:1rem 0}figcaption{color:#555;font-size:.9rem}.chart svg{max-width:100%;height:auto}
`;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ci = (i: Interval) => `${pct(i.low)}–${pct(i.high)}`;
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${(Math.abs(x) * 100).toFixed(1)} pts`;

function page(title: string, body: string): string {
  return `${REPORT_MARKER} v1 -->
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

function verdict(r: ScenarioReport): string {
  const s = r.summary;
  const baseline = s.strategies[0];
  const paired = s.explore !== 'exhaustive' && s.strategies.length > 1;
  const rows = s.strategies.map((st) => {
    if (st.error) return `<tr><th>${esc(st.name)}</th><td colspan="6" class="bad">ERROR: ${esc(st.error)}</td></tr>`;
    const n = st.runs;
    const q = wilson(Math.round(st.quotaCorrect * n), n);
    const bits = r.bits.get(st.name);
    const movedRuns = bits ? [...bits.move].filter((c) => c === '1').length : Math.round(st.migrationsSucceeded * n);
    const m = wilson(st.vmsMoved, st.vmsToMove);
    let diff = '<td class="muted">baseline</td><td class="muted">baseline</td>';
    if (paired && st !== baseline) {
      const a = r.bits.get(baseline!.name);
      if (a && bits) {
        const dq = pairedDifference(a.quota, bits.quota);
        const dm = pairedDifference(a.move, bits.move);
        diff = `<td class="num">${signed(dq.difference)} <span class="muted">[${signed(dq.interval.low)}, ${signed(dq.interval.high)}]</span></td><td class="num">${signed(dm.difference)} <span class="muted">[${signed(dm.interval.low)}, ${signed(dm.interval.high)}]</span></td>`;
      }
    } else if (!paired) diff = '<td class="muted">–</td><td class="muted">–</td>';
    const cls = (x: number) => (x >= 1 ? 'ok' : x < 0.5 ? 'bad' : '');
    return `<tr><th>${esc(st.name)}</th><td class="num">${n}</td><td class="num"><span class="${cls(st.quotaCorrect)}">${pct(st.quotaCorrect)}</span> <span class="muted">[${ci(q)}]</span></td><td class="num"><span class="${cls(st.migrationsSucceeded)}">${pct(st.migrationsSucceeded)}</span> <span class="muted">[${ci(m)}]<br>${st.vmsMoved} of ${st.vmsToMove} VMs; every VM moved in ${pct(movedRuns / Math.max(1, n))} of runs</span></td><td class="num">${pct(st.invariantViolations)}</td>${diff}</tr>`;
  });
  const expectations = r.expectations.length
    ? `<h3>Expectations</h3><table><tr><th>strategy</th><th>expectation</th><th>actual</th><th>result</th></tr>${r.expectations
        .map((e) => `<tr><td>${esc(e.strategy)}</td><td><code>${esc(e.name)}</code></td><td class="num">${e.actual.toFixed(4)}</td><td class="${e.passed ? 'ok' : 'bad'}">${e.passed ? 'pass' : esc(e.message)}</td></tr>`)
        .join('')}</table>`
    : '';
  return `<section id="verdict"><h2>Verdict</h2>
<table><tr><th>strategy</th><th>runs</th><th>quota correct [95% CI]</th><th>migrations succeeded [95% CI]</th><th>invariants broken</th><th>paired Δ quota correct vs ${esc(baseline?.name ?? '')} [95% CI]</th><th>paired Δ all VMs moved vs ${esc(baseline?.name ?? '')} [95% CI]</th></tr>
${rows.join('\n')}</table>
<p class="muted">Intervals are Wilson 95% intervals. Every strategy ran on the same seeds, so differences are paired run by run: only the runs where two strategies disagree count (a McNemar-style interval).${paired ? '' : ' Exhaustive exploration explores each strategy\'s own space, so there is no pairing.'}</p>
${expectations}</section>`;
}

function scenarioSection(r: ScenarioReport): string {
  const sc = r.scenario;
  const s = r.summary;
  const nodes = sc.nodes.map((n) => `<tr><td>${esc(n.name)}</td><td class="num">${n.cpu / 1000}</td><td class="num">${esc(formatQuantity(n.memory, 'memory'))}</td><td>${sc.rancher?.agentNode === n.name ? 'cattle-cluster-agent' : ''}</td></tr>`).join('');
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
      const how = x.selector === 'pct' ? x.guarantee : x.selector === 'exhaustive' ? x.summary : `${st.runs} random runs, seeds ${s.seed}–${s.seed + st.runs - 1}`;
      const failing = st.failingRuns?.length ? `; failing runs (trace one with <code>quotarace trace --run ID</code>): ${st.failingRuns.map((r) => `<code>${esc(r)}</code>`).join(' ')}` : '';
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

async function failureSection(r: ScenarioReport): Promise<string> {
  if (r.failures.length === 0) return `<section id="failures"><h2>Failures</h2><p class="ok">No strategy failed in this campaign.</p></section>`;
  const parts: string[] = [];
  for (const f of r.failures) {
    const lanes = await swimlane(f.charts);
    const quota = await quotaOverTime(f.charts);
    parts.push(`<article class="failure"><h3>${esc(f.strategy)}: ${esc(f.failure)}</h3>
<p class="muted">${f.runs} run(s) failed this way; the first${f.run ? ` (run <code>${esc(f.run)}</code>)` : ''}, shrunk to ${f.charts.lanes.length} writes and refusals, ends at ${(f.charts.endMs / 1000).toFixed(1)}s.</p>
<ol class="story">${f.explanation.map((l) => `<li>${esc(l)}</li>`).join('')}</ol>
<p>Replay it: <code>${esc(f.replay)}</code></p>
<figure class="chart swimlane">${lanes}<figcaption>Who wrote (●) and who was refused (✕), over simulated time.</figcaption></figure>
${quota ? `<figure class="chart quota">${quota}<figcaption>${esc(f.charts.quota!.namespace)} ${esc(f.charts.quota!.resource)}: spec.hard, status.hard (what admission checks), used, and what the user asked for.</figcaption></figure>` : ''}
</article>`);
  }
  return `<section id="failures"><h2>The most telling failure of each strategy</h2>${parts.join('\n')}</section>`;
}

function fidelitySection(): string {
  return `<section id="fidelity"><h2>Fidelity</h2><p>Each modelled rule and the real source it follows (the code cites it next to the rule).</p>
<table><tr><th>rule</th><th>in quotarace</th><th>source</th></tr>${FIDELITY.map(([a, b, c]) => `<tr><td>${esc(a)}</td><td><code>${esc(b)}</code></td><td>${esc(c)}</td></tr>`).join('')}</table></section>`;
}

/** One scenario's self-contained report. */
export async function scenarioReport(r: ScenarioReport): Promise<string> {
  const body = `<h1>${esc(r.scenario.name)}</h1>
<p class="muted">quotarace report · strategies ${r.summary.strategies.map((s) => esc(s.name)).join(', ')} · ${esc(r.summary.explore)} exploration</p>
${verdict(r)}
${scenarioSection(r)}
${await failureSection(r)}
${fidelitySection()}`;
  return page(`quotarace: ${r.scenario.name}`, body);
}

/** reports/index.html: every scenario of the run, with its verdicts. */
export function indexReport(entries: ReadonlyArray<{ summary: ScenarioSummary; href: string; expectations: readonly ExpectationOutcome[] }>): string {
  const rows = entries
    .flatMap((e) =>
      e.summary.strategies.map((st: StrategyResult, i) => {
        const failed = e.expectations.filter((x) => x.strategy === st.name && !x.passed).length;
        const exp = e.expectations.filter((x) => x.strategy === st.name);
        return `<tr>${i === 0 ? `<td rowspan="${e.summary.strategies.length}"><a href="${esc(e.href)}">${esc(e.summary.name)}</a></td>` : ''}<td>${esc(st.name)}</td><td class="num">${st.runs}</td><td class="num">${pct(st.quotaCorrect)}</td><td class="num">${pct(st.migrationsSucceeded)}</td><td>${exp.length ? (failed ? `<span class="bad">${failed} of ${exp.length} failed</span>` : `<span class="ok">${exp.length} passed</span>`) : '<span class="muted">none</span>'}</td></tr>`;
      }),
    )
    .join('\n');
  return page(
    'quotarace reports',
    `<h1>quotarace reports</h1><table><tr><th>scenario</th><th>strategy</th><th>runs</th><th>quota correct</th><th>migrations succeeded</th><th>expectations</th></tr>${rows}</table>`,
  );
}
