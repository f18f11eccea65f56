import { percent } from './units.js';
import type { ScenarioSummary, StrategyResult } from '../explore/campaign.js';
import { huntKind } from './kind.js';
import { anchor, esc } from './html-util.js';
import { safetyOf, verdictWord } from './verdict.js';

/** One `expect:` bound of a scenario, checked (gate/expect.ts): the index matrix and the scenario report show it. */
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
  /** The command that replays that evidence (allowing its module, for a module's). */
  readonly replay?: string;
}

/** An expectation of a strategy the run left out with --strategy: not checked, and said so wherever the gate counts. */
export interface NotChecked {
  readonly strategy: string;
  readonly name: string;
}

/** "3 not checked (pre-fix, v1.4.2 not run)", or '' when every expectation was checked. */
export function notCheckedNote(n: readonly NotChecked[]): string {
  if (n.length === 0) return '';
  return `${n.length} not checked (${[...new Set(n.map((x) => x.strategy))].join(', ')} not run)`;
}

/** One scenario of a run, as the index lists it. */
export interface IndexEntry {
  readonly summary: ScenarioSummary;
  readonly href: string;
  readonly expectations: readonly ExpectationOutcome[];
}

/**
 * How bad a strategy did on a scenario, from its recorded rates: 0 safe (every run right),
 * 1 under 5% of runs or VMs wrong, 2 under half, 3 half or more, and "error".
 */
export type Severity = 0 | 1 | 2 | 3 | 'incomplete' | 'error';

export function severity(st: StrategyResult): Severity {
  if (st.error) return 'error';
  const worst = Math.max(1 - st.quotaCorrect, 1 - st.migrationsSucceeded, st.invariantViolations);
  if (st.failures.length === 0 && worst === 0) return safetyOf(st) === 'incomplete' ? 'incomplete' : 0;
  return worst < 0.05 ? 1 : worst < 0.5 ? 2 : 3;
}

export const SEVERITY_WORDS: Record<Severity, string> = { 0: 'safe: every run right', 1: 'fails in under 5%', 2: 'fails in 5% to under 50%', 3: 'fails in half or more', incomplete: 'no failure found — incomplete search (stopped at --max-runs)', error: 'the strategy errored' };

const pct = (x: number) => percent(x);

/** Every strategy of the run, in order of first appearance across its scenarios. */
function strategiesOf(entries: readonly IndexEntry[]): string[] {
  const seen: string[] = [];
  for (const e of entries) for (const st of e.summary.strategies) if (!seen.includes(st.name)) seen.push(st.name);
  return seen;
}

/**
 * The strategy × scenario matrix: a row per strategy, a column per scenario, each cell
 * quota correct / migrations ok / invariants broken, coloured by how bad, linking to that
 * strategy's failure kinds in the scenario's report (its verdict when it did not fail).
 * The numbers are the recorded rates; each cell carries them exactly in data attributes.
 */
export function matrixSection(entries: readonly IndexEntry[]): string {
  const names = strategiesOf(entries);
  const head = entries
    .map((e) => {
      const failed = e.expectations.filter((x) => !x.passed).length;
      const errors = e.summary.strategies.some((s) => s.error);
      const gate = e.expectations.length === 0 && !errors ? '<span class="muted">no expectations</span>' : failed || errors ? '<span class="bad">FAIL</span>' : '<span class="ok">PASS</span>';
      return `<th class="sc" data-scenario="${esc(e.summary.name)}"><a href="${esc(e.href)}">${esc(e.summary.name)}</a><br><span class="muted">${e.summary.runs.toLocaleString('en-US')} ${e.summary.explore === 'exhaustive' ? 'interleavings' : 'runs'}</span> · ${gate}</th>`;
    })
    .join('');
  const rows = names.map((name) => {
    const cells = entries.map((e) => {
      const st = e.summary.strategies.find((s) => s.name === name);
      if (!st) return '<td class="cell none" title="not run on this scenario">–</td>';
      const sev = severity(st);
      const exp = e.expectations.filter((x) => x.strategy === name);
      const mark = exp.length === 0 ? '' : exp.every((x) => x.passed) ? ' <span class="exp met" title="meets its expectations">✓ expected</span>' : ' <span class="exp broken" title="breaks an expectation">✗ expectation</span>';
      if (sev === 'error') return `<td class="cell sev-error" data-scenario="${esc(e.summary.name)}" data-strategy="${esc(name)}"><a href="${esc(e.href)}#${anchor('verdict', name)}">error</a>${mark}</td>`;
      const target = st.failures.length ? anchor('failures', name) : anchor('verdict', name);
      const data = `data-scenario="${esc(e.summary.name)}" data-strategy="${esc(name)}" data-quota-correct="${st.quotaCorrect}" data-migrations-succeeded="${st.migrationsSucceeded}" data-invariant-violations="${st.invariantViolations}"`;
      const words = sev === 'incomplete' ? verdictWord(st) : SEVERITY_WORDS[sev];
      const open = sev === 'incomplete' ? ` <span class="open">${esc(verdictWord(st))}</span>` : '';
      return `<td class="cell sev-${sev}" ${data} title="${esc(`${name} on ${e.summary.name}: ${words}`)}"><a href="${esc(e.href)}#${target}">${pct(st.quotaCorrect)} / ${pct(st.migrationsSucceeded)} / ${pct(st.invariantViolations)}</a>${open}${mark}</td>`;
    });
    return `<tr data-strategy="${esc(name)}"><th class="st"><a href="#${anchor('kinds', name)}">${esc(name)}</a></th>${cells.join('')}</tr>`;
  });
  const legend = ([0, 1, 2, 3, 'incomplete', 'error'] as const).map((s) => `<span class="cell sev-${s} key">${esc(SEVERITY_WORDS[s])}</span>`).join(' ');
  return `<section id="matrix"><h2>Strategies × scenarios</h2>
<p class="muted">Each cell: quota correct (of runs) / VMs moved (of the VMs that had to move, over all runs) / invariants broken (of runs), over that scenario's runs (every strategy on the same seeds). Colour says how bad (the worst of the three); ✓ or ✗ says whether the scenario's expectations for that strategy hold, which is a separate question. A cell links to the strategy's failures in that scenario's report.</p>
<div class="scroll"><table class="matrix"><thead><tr><th>strategy</th>${head}</tr></thead><tbody>${rows.join('\n')}</tbody></table></div>
<p class="legend">${legend}</p></section>`;
}

/**
 * Per strategy, every distinct way it failed across the run's scenarios (failure kinds with
 * namespace names taken out, as the hunt compares them), each with the scenarios it happened
 * in and how many runs.
 */
export function kindsSection(entries: readonly IndexEntry[]): string {
  const parts = strategiesOf(entries).map((name) => {
    const kinds = new Map<string, Array<{ e: IndexEntry; runs: number; total: number; breaks: readonly string[] }>>();
    for (const e of entries) {
      const st = e.summary.strategies.find((s) => s.name === name);
      if (!st || st.error) continue;
      for (const f of st.failures) {
        const k = huntKind(f.signature);
        const list = kinds.get(k) ?? [];
        kinds.set(k, list);
        const same = list.find((x) => x.e === e);
        if (same) same.runs += f.runs;
        else list.push({ e, runs: f.runs, total: st.runs, breaks: f.breaks });
      }
    }
    const errors = entries.filter((e) => e.summary.strategies.some((s) => s.name === name && s.error));
    const ran = entries.filter((e) => e.summary.strategies.some((s) => s.name === name)).length;
    const body = kinds.size
      ? `<table class="kinds"><tr><th>failure kind</th><th>breaks</th><th>scenarios (runs failing this way)</th></tr>${[...kinds]
          .map(([k, list]) => `<tr><td class="sig">${esc(k)}</td><td>${[...new Set(list.flatMap((x) => x.breaks))].map((b) => `<b>${esc(b)}</b>`).join(', ')}</td><td>${list.map((x) => `<a href="${esc(x.e.href)}#${anchor('failures', name)}">${esc(x.e.summary.name)}</a> <span class="muted">(${x.runs.toLocaleString('en-US')} of ${x.total.toLocaleString('en-US')})</span>`).join(', ')}</td></tr>`)
          .join('')}</table>`
      : `<p class="ok">No failure in any scenario it ran in.</p>`;
    const err = errors.length ? `<p class="bad">Errored in ${errors.map((e) => `<a href="${esc(e.href)}">${esc(e.summary.name)}</a>`).join(', ')}.</p>` : '';
    return `<h3 id="${anchor('kinds', name)}">${esc(name)}: ${kinds.size} failure kind${kinds.size === 1 ? '' : 's'} across the ${ran === 1 ? 'scenario' : `${ran} scenarios`} it ran in</h3>${body}${err}`;
  });
  return `<section id="kinds"><h2>Failure kinds per strategy, across scenarios</h2>${parts.join('\n')}</section>`;
}
