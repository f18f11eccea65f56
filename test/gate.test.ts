import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { load, main } from '../src/cli/main.js';
import { junitXml } from '../src/gate/junit.js';
import type { ExpectationOutcome } from '../src/report/html.js';
import { BUILTIN_STRATEGIES } from '../src/strategies/builtin.js';

/**
 * The CI gate: `expect:` bounds and their exit codes, JUnit XML, the GitHub step summary,
 * sharded runs and `merge`, and how reports are written. Every file goes to a temporary
 * folder; `run` always gets --reports, --workers 1 and a small --runs.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const scenario = (f: string) => join(ROOT, 'scenarios', f);
const INCIDENT = scenario('1-incident-7178.yaml');
const NORMAL = scenario('2-normal-migration.yaml');
const RESTART = scenario('3-agent-restart-during-migration.yaml');
const CONTROL = scenario('6-control-no-race.yaml');
const EDIT = scenario('8-edit-during-migration.yaml');

interface Cli {
  code: number;
  out: string;
  err: string;
}

async function cli(...argv: string[]): Promise<Cli> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'quotarace-gate-'));
});
afterAll(() => {
  if (tmp && !process.env.QUOTARACE_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
});

/** A fresh folder under this file's temporary folder. */
function dir(name: string): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** A scenario's text with its `expect:` block (the file's last block) replaced. */
function withExpect(file: string, expectBlock: string): string {
  const text = readFileSync(file, 'utf8');
  const at = text.search(/^expect:/m);
  expect(at).toBeGreaterThan(0);
  return `${text.slice(0, at)}${expectBlock.trimEnd()}\n`;
}

function write(name: string, text: string): string {
  const f = join(dir('scenarios'), name);
  writeFileSync(f, text);
  return f;
}

/** 1-based line and column of the first occurrence of `needle` in the `expect:` block of `text`. */
function lineCol(text: string, needle: string): string {
  const i = text.indexOf(needle, text.search(/^expect:/m));
  expect(i, `"${needle}" in the scenario`).toBeGreaterThanOrEqual(0);
  const before = text.slice(0, i).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

/** The strategies `run` picks for a scenario: its own list, else every built-in. */
const strategiesOf = (file: string): string[] => [...(load(file).strategies ?? BUILTIN_STRATEGIES.map((b) => b.name))];

function walk(d: string): string[] {
  return readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

interface JsonSummary {
  scenarios: Array<{ name: string; seed: number; runs: number; strategies: Array<{ name: string; runs: number; quotaCorrect: number; evidence: Array<{ path: string }> }> }>;
}

describe('expect: the gate', () => {
  it('an expectation that fails exits 1 and says which scenario, strategy and metric, by how much, and where the evidence is', async () => {
    const file = write('restart-min.yaml', withExpect(RESTART, 'expect: { pre-fix: { quotaCorrect: 0.9 } }'));
    const reports = dir('min-reports');
    const r = await cli('run', file, '--runs', '20', '--reports', reports, '--workers', '1', '--json');
    expect(r.code).toBe(1);
    const fail = r.err.split('\n').filter((l) => l.startsWith('FAIL'));
    expect(fail).toHaveLength(1);
    const line = fail[0]!;
    expect(line).toContain('FAIL agent-restart-during-migration / pre-fix: quotaCorrect >= 0.9: ');
    expect(line).toContain('quotaCorrect');
    expect(line).toContain('below the minimum 0.9 by');

    // "by how much" is the minimum minus what was measured.
    const json = JSON.parse(r.out) as JsonSummary;
    const preFix = json.scenarios[0]!.strategies.find((s) => s.name === 'pre-fix')!;
    expect(preFix.runs).toBe(20);
    expect(preFix.quotaCorrect).toBeLessThan(0.9);
    expect(line).toContain(`quotaCorrect is ${preFix.quotaCorrect.toFixed(4)}, below the minimum 0.9 by ${(0.9 - preFix.quotaCorrect).toFixed(4)}`);

    // The evidence named is on disk, is a failing pre-fix run, and is the replay command's file.
    const m = /a run that breaks it: \S+, evidence (\S+\.evidence)/.exec(line);
    expect(m, line).not.toBeNull();
    const evidence = m![1]!;
    expect(evidence.startsWith(reports)).toBe(true);
    expect(existsSync(evidence)).toBe(true);
    const text = readFileSync(evidence, 'utf8');
    expect(text.startsWith('# quotarace evidence v2\n')).toBe(true);
    expect(text).toMatch(/^strategy: pre-fix$/m);
    expect(text).toMatch(/^failure: \S/m);
    expect(line).toContain(`quotarace replay ${evidence}`);
    expect(preFix.evidence.map((e) => e.path)).toContain(evidence);
    expect(r.err).toMatch(/quotarace: 1 expectation not met/);
  });

  it('a max bound that is exceeded fails with "above the maximum"', async () => {
    const file = write('restart-max.yaml', withExpect(RESTART, 'expect: { v1.4.2: { quotaCorrect: { max: 0.1 } } }'));
    const r = await cli('run', file, '--runs', '20', '--reports', dir('max-reports'), '--workers', '1');
    expect(r.code).toBe(1);
    const fail = r.err.split('\n').filter((l) => l.startsWith('FAIL'));
    expect(fail).toEqual(['FAIL agent-restart-during-migration / v1.4.2: quotaCorrect <= 0.1: quotaCorrect is 1.0000, above the maximum 0.1 by 0.9000']);
  });

  it('expectations that hold exit 0 and print no FAIL', async () => {
    const file = write('restart-ok.yaml', withExpect(RESTART, 'expect:\n  v1.4.2: { quotaCorrect: 1, migrationsSucceeded: 1 }\n  pre-fix: { quotaCorrect: { max: 0.5 }, migrationsSucceeded: { min: 0.9 } }\n'));
    const r = await cli('run', file, '--runs', '20', '--reports', dir('ok-reports'), '--workers', '1');
    expect(r.err).not.toContain('FAIL');
    expect(r.code).toBe(0);
  });

  // Regression test for a bug found while writing these tests (fixed).
  it('an expectation for a strategy that did not run is not silently dropped (scenario with a strategy module)', async () => {
    const d = dir('user-strategy');
    mkdirSync(join(d, 'strategies'), { recursive: true });
    writeFileSync(join(d, 'strategies', 'exact-delta.ts'), readFileSync(join(ROOT, 'scenarios', 'strategies', 'exact-delta.ts')));
    const text = readFileSync(join(ROOT, 'scenarios', '9-user-strategy.yaml'), 'utf8').replace(/^ {2}exact-delta:/m, '  exact-delat:');
    expect(text).toContain('exact-delat:');
    const file = join(d, 'typo.yaml');
    writeFileSync(file, text);
    const r = await cli('run', file, '--runs', '2', '--reports', join(d, 'reports'), '--workers', '1', '--allow-module', join(d, 'strategies'));
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('exact-delat');
  });

  describe('grammar errors exit 2 with file:line:col, before anything runs', () => {
    const cases: Array<{ what: string; block: string; at: string; field: string; message: string | RegExp }> = [
      { what: 'a rate of 1.5', block: 'expect:\n  pre-fix:\n    quotaCorrect: 1.5\n', at: '1.5', field: 'expect.pre-fix.quotaCorrect', message: 'expected a rate between 0 and 1' },
      { what: 'neither min nor max', block: 'expect:\n  pre-fix:\n    quotaCorrect: {}\n', at: '{}', field: 'expect.pre-fix.quotaCorrect', message: 'expected min, max or both' },
      { what: 'min above max', block: 'expect:\n  pre-fix:\n    quotaCorrect: { min: 0.9, max: 0.5 }\n', at: '{ min: 0.9', field: 'expect.pre-fix.quotaCorrect', message: 'expected min <= max, got min 0.9, max 0.5' },
      { what: 'an unknown metric', block: 'expect:\n  pre-fix:\n    quotaCorect: 0.9\n', at: 'quotaCorect', field: 'expect.pre-fix.quotaCorect', message: 'unknown key "quotaCorect"' },
      { what: 'a strategy that does not exist', block: 'expect:\n  v9:\n    quotaCorrect: 0.9\n', at: 'v9', field: 'expect.v9', message: /expectations for "v9", which this scenario does not run/ },
    ];
    for (const c of cases) {
      it(c.what, async () => {
        const text = withExpect(RESTART, c.block);
        const file = write(`bad-${c.what.replace(/\W+/g, '-')}.yaml`, text);
        const reports = join(tmp, `never-${c.what.replace(/\W+/g, '-')}`);
        const r = await cli('run', file, '--runs', '2', '--reports', reports, '--workers', '1');
        expect(r.code).toBe(2);
        expect(r.out).toBe('');
        expect(existsSync(reports)).toBe(false);
        const lines = r.err.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]!.startsWith(`${file}:${lineCol(text, c.at)}: ${c.field}: `), lines[0]).toBe(true);
        if (typeof c.message === 'string') expect(lines[0]).toContain(c.message);
        else expect(lines[0]).toMatch(c.message);
        expect(r.err).not.toMatch(/^\s+at\s/m);
      });
    }

    it('a built-in strategy the scenario does not list', async () => {
      const base = readFileSync(RESTART, 'utf8');
      const text = `${base.slice(0, base.search(/^expect:/m))}strategies: [pre-fix]\nexpect:\n  v1.4.2: { quotaCorrect: 1 }\n`;
      const file = write('bad-unlisted.yaml', text);
      const r = await cli('run', file, '--runs', '2', '--reports', join(tmp, 'never-unlisted'), '--workers', '1');
      expect(r.code).toBe(2);
      expect(r.err.trim()).toBe(`${file}:${lineCol(text, 'v1.4.2:')}: expect.v1.4.2: expectations for "v1.4.2", which this scenario does not run (strategies: pre-fix)`);
    });
  });
});

/** A small XML reader, enough to check well-formedness and read JUnit back. */
interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function unescapeXml(s: string): string {
  if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(s)) throw new Error(`bare & in ${JSON.stringify(s)}`);
  return s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e: string) => (e.startsWith('#x') ? String.fromCodePoint(parseInt(e.slice(2), 16)) : e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : ENTITY[e]!));
}

function parseXml(xml: string): XmlElement {
  if (!xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')) throw new Error('no XML declaration');
  const body = xml.slice(xml.indexOf('?>') + 2);
  const token = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*="[^"<]*")*)\s*(\/?)>|([^<]+)/y;
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack = [root];
  let m: RegExpExecArray | null;
  token.lastIndex = 0;
  while (token.lastIndex < body.length) {
    const at = token.lastIndex;
    m = token.exec(body);
    if (!m) throw new Error(`not well-formed at ${at}: ${JSON.stringify(body.slice(at, at + 60))}`);
    const top = stack[stack.length - 1]!;
    if (m[5] !== undefined) {
      if (m[5].includes('>') && /[^\s]/.test(m[5]) && top === root) throw new Error('text outside the root');
      top.text += unescapeXml(m[5]);
    } else if (m[1]) {
      if (top.name !== m[2]) throw new Error(`</${m[2]}> closes <${top.name}>`);
      stack.pop();
    } else {
      const attrs: Record<string, string> = {};
      for (const a of m[3]!.matchAll(/([A-Za-z_][\w.:-]*)="([^"<]*)"/g)) {
        if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]}`);
        attrs[a[1]!] = unescapeXml(a[2]!);
      }
      const el: XmlElement = { name: m[2]!, attrs, children: [], text: '' };
      top.children.push(el);
      if (!m[4]) stack.push(el);
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (root.children.length !== 1 || root.text.trim() !== '') throw new Error('expected exactly one root element');
  return root.children[0]!;
}

describe('--junit', () => {
  it('writes well-formed JUnit: a suite per scenario, a case per scenario × strategy × expectation, failures only where they failed', async () => {
    const failing = write(
      'junit-restart.yaml',
      withExpect(RESTART, 'expect:\n  pre-fix: { quotaCorrect: 0.9, migrationsSucceeded: 1 }\n  v1.4.2: { quotaCorrect: 1, invariantViolations: { max: 0 } }\n'),
    );
    // A reports folder whose name needs escaping: the failure message carries the evidence path.
    const reports = dir('junit-r&<"x\'');
    const junit = join(tmp, 'junit.xml');
    const r = await cli('run', failing, CONTROL, '--runs', '12', '--reports', reports, '--workers', '1', '--junit', junit);
    expect(r.code).toBe(1);
    const failLines = r.err.split('\n').filter((l) => l.startsWith('FAIL'));
    expect(failLines.length).toBeGreaterThan(0);

    const xml = readFileSync(junit, 'utf8');
    expect(xml.startsWith('<?xml')).toBe(true);
    const root = parseXml(xml);
    expect(root.name).toBe('testsuites');

    const plans = [failing, CONTROL].map((f) => ({ s: load(f), strategies: strategiesOf(f) }));
    const suites = root.children;
    expect(suites.map((s) => s.name)).toEqual(['testsuite', 'testsuite']);
    expect(suites.map((s) => s.attrs.name)).toEqual(plans.map((p) => p.s.name));

    let tests = 0;
    let failures = 0;
    for (const [i, suite] of suites.entries()) {
      const { s, strategies } = plans[i]!;
      const cases = suite.children;
      expect(cases.every((c) => c.name === 'testcase')).toBe(true);
      // Every expectation of a strategy the scenario ran is one case, in file order.
      const wanted = s.expect.filter((e) => strategies.includes(e.strategy));
      expect(cases).toHaveLength(wanted.length);
      cases.forEach((c, j) => {
        const e = wanted[j]!;
        expect(c.attrs.classname).toBe(`quotarace.${s.name}.${e.strategy}`);
        const name = [e.min !== undefined ? `${e.metric} >= ${e.min}` : '', e.max !== undefined ? `${e.metric} <= ${e.max}` : ''].filter(Boolean).join(' and ');
        expect(c.attrs.name).toBe(name);
        expect(c.attrs.file).toBe(s.file);
        expect(c.children.every((f) => f.name === 'failure')).toBe(true);
        expect(c.children.length).toBeLessThanOrEqual(1);
      });
      const f = cases.filter((c) => c.children.length === 1).length;
      expect(suite.attrs.tests).toBe(String(cases.length));
      expect(suite.attrs.failures).toBe(String(f));
      tests += cases.length;
      failures += f;
    }
    expect(root.attrs.tests).toBe(String(tests));
    expect(root.attrs.failures).toBe(String(failures));
    expect(failures).toBe(failLines.length);

    // The one that failed: pre-fix's quotaCorrect, with the evidence path escaped and read back whole.
    const failed = suites[0]!.children.filter((c) => c.children.length);
    expect(failed.map((c) => `${c.attrs.classname} ${c.attrs.name}`)).toEqual(['quotarace.agent-restart-during-migration.pre-fix quotaCorrect >= 0.9']);
    const failure = failed[0]!.children[0]!;
    expect(failure.attrs.message).toContain('below the minimum 0.9 by');
    expect(failure.attrs.message).toContain(`${reports}/agent-restart-during-migration/pre-fix/`);
    expect(failure.text).toBe(`agent-restart-during-migration / pre-fix: ${failure.attrs.message}`);
    expect(failLines[0]).toContain(failure.attrs.message!);
    expect(xml).toContain('junit-r&amp;&lt;&quot;x&apos;');
    expect(xml).not.toContain('junit-r&<');
    // A passing case has no <failure>; the control scenario has none at all.
    expect(suites[1]!.attrs.failures).toBe('0');
  });

  // Regression test for a bug found while writing these tests (fixed).
  it('a strategy that crashed does not pass its expectations in JUnit', async () => {
    const d = dir('crash');
    writeFileSync(
      join(d, 'crash.ts'),
      `import { defineStrategy } from 'quotarace';
export default defineStrategy({
  name: 'crash',
  description: 'throws from reconcile',
  reconcilers: [{ name: 'broken', watches: ['ResourceQuota'], reconcile() { throw new Error('boom'); } }],
  webhooks: [],
});
`,
    );
    const base = readFileSync(CONTROL, 'utf8');
    const file = join(d, 'crash.yaml');
    writeFileSync(file, `${base.slice(0, base.search(/^expect:/m))}strategies: [v1.4.2, ./crash.ts]\nexpect:\n  crash: { migrationsSucceeded: 1, invariantViolations: { max: 0 } }\n`);
    const junit = join(d, 'junit.xml');
    const r = await cli('run', file, '--runs', '2', '--reports', join(d, 'reports'), '--workers', '1', '--junit', junit, '--allow-module', join(d, 'crash.ts'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('ERROR');
    const root = parseXml(readFileSync(junit, 'utf8'));
    expect(Number(root.attrs.failures) + Number(root.attrs.errors)).toBeGreaterThan(0);
  });

  it('escapes <, & and " in every attribute and text it writes', () => {
    const e: ExpectationOutcome = {
      scenario: 'a&b',
      strategy: 's"<1>',
      metric: 'quotaCorrect',
      name: 'quotaCorrect >= 1',
      actual: 0.5,
      passed: false,
      message: 'quotaCorrect is 0.5 < 1 & "so" it failed',
    };
    const xml = junitXml([{ name: 'a&b', file: 'dir/"x"<&>.yaml', expectations: [e, { ...e, passed: true, message: '' }] }]);
    const root = parseXml(xml);
    expect(root.attrs).toMatchObject({ tests: '2', failures: '1' });
    const suite = root.children[0]!;
    expect(suite.attrs).toMatchObject({ name: 'a&b', tests: '2', failures: '1' });
    const [bad, good] = suite.children;
    expect(bad!.attrs).toMatchObject({ classname: 'quotarace.a&b.s"<1>', name: 'quotaCorrect >= 1', file: 'dir/"x"<&>.yaml' });
    expect(bad!.children[0]!.attrs.message).toBe(e.message);
    expect(bad!.children[0]!.text).toBe(`a&b / s"<1>: ${e.message}`);
    expect(xml).toContain('message="quotaCorrect is 0.5 &lt; 1 &amp; &quot;so&quot; it failed"');
    expect(good!.children).toEqual([]);
  });
});

describe('GITHUB_STEP_SUMMARY', () => {
  it('appends a Markdown table with a row per scenario × strategy, and keeps what was there', async () => {
    const summary = join(dir('summary'), 'step-summary.md');
    const before = process.env.GITHUB_STEP_SUMMARY;
    process.env.GITHUB_STEP_SUMMARY = summary;
    try {
      const files = [NORMAL, CONTROL];
      const rowsWanted = files.flatMap((f) => strategiesOf(f).map((st) => `| ${load(f).name} | ${st.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`)} | 3 |`));
      const r1 = await cli('run', ...files, '--runs', '3', '--reports', dir('summary-reports'), '--workers', '1');
      expect(r1.code).toBe(0);
      const once = readFileSync(summary, 'utf8');
      const lines = once.split('\n');
      expect(lines.filter((l) => l.startsWith('| scenario | strategy |'))).toHaveLength(1);
      const header = lines.findIndex((l) => l.startsWith('| scenario | strategy |'));
      expect(lines[header + 1]).toMatch(/^\|(-{3,}:?\|)+$|^\|(\s*-+:?\s*\|)+$/);
      const rows = lines.filter((l) => l.startsWith('| ') && !l.startsWith('| scenario '));
      expect(rows).toHaveLength(rowsWanted.length);
      rows.forEach((row, i) => expect(row.startsWith(rowsWanted[i]!), `${row} vs ${rowsWanted[i]}`).toBe(true));
      // Every row has as many cells as the header.
      const cells = (l: string) => l.split(/(?<!\\)\|/).length;
      for (const row of rows) expect(cells(row)).toBe(cells(lines[header]!));

      // The verdict comes first, as the terminal's last line says it.
      expect(once).toMatch(/^### quotarace\n\n\*\*✅ 2 scenarios, \d+ expectations met\*\*\n/);

      const r2 = await cli('run', ...files, '--runs', '3', '--reports', dir('summary-reports'), '--workers', '1');
      expect(r2.code).toBe(0);
      const twice = readFileSync(summary, 'utf8');
      expect(twice.startsWith(once)).toBe(true);
      expect(twice).toBe(once + once);
      expect(twice.split('\n').filter((l) => l.startsWith('| scenario | strategy |'))).toHaveLength(2);
    } finally {
      if (before === undefined) delete process.env.GITHUB_STEP_SUMMARY;
      else process.env.GITHUB_STEP_SUMMARY = before;
    }
  });
});

describe('GITHUB_STEP_SUMMARY of a failed gate', () => {
  it('says so first, and names for each failed expectation a run that breaks it, its evidence and the replay command', async () => {
    const summary = join(dir('summary-failed'), 'step-summary.md');
    const before = process.env.GITHUB_STEP_SUMMARY;
    process.env.GITHUB_STEP_SUMMARY = summary;
    try {
      const file = join(dir('summary-failed-scenario'), 'fails.yaml');
      writeFileSync(file, readFileSync(INCIDENT, 'utf8').replace(/\nexpect:[\s\S]*$/, '\nstrategies: [pre-fix]\nexpect:\n  pre-fix: { quotaCorrect: 1 }\n'));
      const r = await cli('run', file, '--runs', '4', '--reports', dir('summary-failed-reports'), '--workers', '1');
      expect(r.code).toBe(1);
      const text = readFileSync(summary, 'utf8');
      expect(text).toMatch(/^### quotarace\n\n\*\*❌ 1 of 1 expectations not met\*\*\n/);
      expect(text).toMatch(/- incident-7178 \/ pre-fix: .*run `random:\d+`, evidence `[^`]+\.evidence` \(replay: `npx quotarace replay [^`]+\.evidence`\)/);
    } finally {
      if (before === undefined) delete process.env.GITHUB_STEP_SUMMARY;
      else process.env.GITHUB_STEP_SUMMARY = before;
    }
  });
});

describe('--shard and merge', () => {
  const BOTH = [INCIDENT, EDIT];
  let results: string[];
  let shardReports: string;

  beforeAll(async () => {
    shardReports = dir('shard-reports');
    results = [];
    for (const i of [1, 2, 3]) {
      const file = join(tmp, `s${i}.json`);
      const r = await cli('run', ...BOTH, '--runs', '40', '--shard', `${i}/3`, '--results', file, '--reports', shardReports, '--workers', '1');
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      results.push(file);
    }
  });

  it('the shards tile the seeds', () => {
    const docs = results.map((f) => JSON.parse(readFileSync(f, 'utf8')) as { shard: { index: number; count: number }; scenarios: Array<{ range: { from: number; to: number }; tallies: Array<{ tally: { runs: number } }> }> });
    for (let s = 0; s < BOTH.length; s++) {
      const ranges = docs.map((d) => d.scenarios[s]!.range);
      expect(ranges[0]!.from).toBe(1);
      expect(ranges[2]!.to).toBe(41);
      expect(ranges[1]!.from).toBe(ranges[0]!.to);
      expect(ranges[2]!.from).toBe(ranges[1]!.to);
      for (const d of docs) for (const t of d.scenarios[s]!.tallies) expect(t.tally.runs).toBe(d.scenarios[s]!.range.to - d.scenarios[s]!.range.from);
    }
    // A shard writes only its results file, no report.
    expect(readdirSync(shardReports)).toEqual([]);
  });

  it('merge prints the same JSON, writes the same evidence and the same HTML as one unsharded run', async () => {
    const merged = dir('merged');
    const whole = dir('whole');
    const m = await cli('merge', ...results, '--json', '--reports', merged, '--workers', '1');
    const w = await cli('run', ...BOTH, '--runs', '40', '--json', '--reports', whole, '--workers', '1');
    expect(m.code).toBe(w.code);
    expect(m.err.split(merged).join('<R>')).toBe(w.err.split(whole).join('<R>'));
    const norm = (s: string, d: string) => s.split(d).join('<REPORTS>');
    expect(norm(m.out, merged)).toBe(norm(w.out, whole));
    const json = JSON.parse(w.out) as JsonSummary;
    expect(json.scenarios.map((s) => s.runs)).toEqual([40, 40]);
    expect(json.scenarios.flatMap((s) => s.strategies.flatMap((st) => st.evidence)).length).toBeGreaterThan(0);

    const files = (d: string) => walk(d).map((f) => relative(d, f)).sort();
    expect(files(merged)).toEqual(files(whole));
    const evidence = files(whole).filter((f) => f.endsWith('.evidence'));
    expect(evidence.length).toBeGreaterThan(0);
    for (const f of evidence) expect(readFileSync(join(merged, f)).equals(readFileSync(join(whole, f))), f).toBe(true);
    const html = files(whole).filter((f) => f.endsWith('.html'));
    expect(html.sort()).toEqual(['edit-during-migration.html', 'incident-7178.html', 'index.html']);
    // The same but for the run line's note that says the campaign ran as shards.
    const shardNote = new RegExp(`; ran as ${results.length} shards \\(run --shard i/${results.length}, then merge\\): the same results as this one command`);
    for (const f of html) {
      const m2 = readFileSync(join(merged, f), 'utf8');
      expect(m2, f).toMatch(shardNote);
      expect(norm(m2.replace(shardNote, ''), merged), f).toBe(norm(readFileSync(join(whole, f), 'utf8'), whole));
    }
  });

  it('merge refuses a missing shard, a shard given twice, and shards run with other options', async () => {
    const r = dir('merge-refused');
    const missing = await cli('merge', results[0]!, results[1]!, '--reports', r, '--workers', '1');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('missing shard 3/3');

    const twice = await cli('merge', results[0]!, results[0]!, results[1]!, results[2]!, '--reports', r, '--workers', '1');
    expect(twice.code).toBe(2);
    expect(twice.err).toContain('shard 1/3 is given twice');

    const other = join(tmp, 's2-other.json');
    const o = await cli('run', ...BOTH, '--runs', '30', '--shard', '2/3', '--results', other, '--reports', r, '--workers', '1');
    expect(o.code).toBe(0);
    const mixed = await cli('merge', results[0]!, other, results[2]!, '--reports', r, '--workers', '1');
    expect(mixed.code).toBe(2);
    expect(mixed.err).toContain('was run with other');

    const notResults = await cli('merge', INCIDENT, '--reports', r, '--workers', '1');
    expect(notResults.code).toBe(2);
    for (const x of [missing, twice, mixed, notResults]) expect(x.err).not.toMatch(/^\s+at\s/m);
    // Nothing was published by a refused merge.
    expect(readdirSync(r)).toEqual([]);
  });

  it('--shard must be i/n with 1 <= i <= n, and cannot split an exhaustive exploration', async () => {
    for (const bad of ['0/3', '4/3', '1/0', 'x/3', '1']) {
      const r = await cli('run', INCIDENT, '--runs', '4', '--shard', bad, '--reports', join(tmp, 'never-shard'), '--workers', '1');
      expect(r.code, bad).toBe(2);
      expect(r.err).toContain('--shard');
    }
    const ex = await cli('run', CONTROL, '--explore', 'exhaustive', '--shard', '1/2', '--reports', join(tmp, 'never-shard'), '--workers', '1');
    expect(ex.code).toBe(2);
    expect(ex.err).toContain('exhaustive');
    expect(existsSync(join(tmp, 'never-shard'))).toBe(false);
  });

  // Each scenario keeps its own options (its seed) through a results file and merge.
  it('merge keeps each scenario its own seed (scenarios with different `seed:`)', async () => {
    const seeded = write('control-seed-50.yaml', readFileSync(CONTROL, 'utf8').replace(/^seed: 1$/m, 'seed: 50'));
    expect(load(seeded).seed).toBe(50);
    const files: string[] = [];
    for (const i of [1, 2]) {
      const f = join(tmp, `seed-s${i}.json`);
      expect((await cli('run', NORMAL, seeded, '--runs', '4', '--shard', `${i}/2`, '--results', f, '--reports', dir('seed-shards'), '--workers', '1')).code).toBe(0);
      files.push(f);
    }
    const m = await cli('merge', ...files, '--json', '--reports', dir('seed-merged'), '--workers', '1');
    const w = await cli('run', NORMAL, seeded, '--runs', '4', '--json', '--reports', dir('seed-whole'), '--workers', '1');
    expect((JSON.parse(w.out) as JsonSummary).scenarios.map((s) => s.seed)).toEqual([1, 50]);
    expect((JSON.parse(m.out) as JsonSummary).scenarios.map((s) => s.seed)).toEqual([1, 50]);
  });

  // Regression test for a bug found while writing these tests (fixed).
  it('merge refuses shards that ran different versions of a scenario', async () => {
    const file = write('control-edited.yaml', readFileSync(CONTROL, 'utf8'));
    const shards = dir('edited-shards');
    const s1 = join(tmp, 'edited-s1.json');
    const s2 = join(tmp, 'edited-s2.json');
    expect((await cli('run', file, '--runs', '6', '--shard', '1/2', '--results', s1, '--reports', shards, '--workers', '1')).code).toBe(0);
    writeFileSync(file, readFileSync(CONTROL, 'utf8').replace('limitsCpu: "40"', 'limitsCpu: "4"'));
    expect((await cli('run', file, '--runs', '6', '--shard', '2/2', '--results', s2, '--reports', shards, '--workers', '1')).code).toBe(0);
    writeFileSync(file, readFileSync(CONTROL, 'utf8'));
    const m = await cli('merge', s1, s2, '--reports', dir('edited-merged'), '--workers', '1');
    expect(m.code).toBe(2);
    // Says which shard, and that the scenario differs, by its hash; merges nothing.
    expect(m.err).toContain(s2);
    expect(m.err).toMatch(/sha256: was run with another version of .*control-edited\.yaml \(sha256 \w+/);
    expect(m.out).toBe('');
    expect(existsSync(join(tmp, 'edited-merged', 'index.html'))).toBe(false);
  });
});

describe('a strategy module edited between runs', () => {
  // A module that fails scenario 9 as v1.4.2 does (exact-delta without the console-log container's CPU),
  // beside a copy of the scenario that runs only it.
  let d: string;
  let mod: string;
  let original: string;
  let scenarioFile: string;
  const allow = () => ['--allow-module', mod];
  /**
   * The command in its own process, as a user runs it: a process bundles a module once, so
   * in-process commands after an edit would still run the bundle of the first version.
   */
  const bin = (...argv: string[]): Cli => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'quotarace.js'), ...argv], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
    return { code: r.status ?? -1, out: r.stdout.trimEnd(), err: r.stderr.trimEnd() };
  };
  const edit = (text: string) => writeFileSync(mod, text);

  beforeAll(() => {
    d = dir('edited-module');
    mkdirSync(join(d, 'strategies'), { recursive: true });
    mod = join(d, 'strategies', 'almost-delta.ts');
    original = readFileSync(join(ROOT, 'scenarios', 'strategies', 'exact-delta.ts'), 'utf8').replace('const CONSOLE_LOG_CPU = 15;', 'const CONSOLE_LOG_CPU = 0;').replace("name: 'exact-delta'", "name: 'almost-delta'");
    expect(original).toContain("name: 'almost-delta'");
    edit(original);
    const text = withExpect(join(ROOT, 'scenarios', '9-user-strategy.yaml'), 'expect:\n  almost-delta: { migrationsSucceeded: 1 }').replace(/^strategies: .*$/m, 'strategies: [./strategies/almost-delta.ts]');
    scenarioFile = join(d, 'almost.yaml');
    writeFileSync(scenarioFile, text);
  });

  const shard = (i: number, name: string): string => {
    const f = join(d, name);
    const r = bin('run', scenarioFile, '--runs', '6', '--shard', `${i}/2`, '--results', f, '--reports', join(d, 'shards'), '--workers', '1', ...allow());
    expect(r.code, r.err).toBe(0);
    return f;
  };

  it('merge refuses shards that ran different bytes of the module, and a module changed since the shards ran', () => {
    const s1 = shard(1, 's1.json');
    const s2 = shard(2, 's2.json');
    edit(`${original}// edited\n`);
    const s2edited = shard(2, 's2-edited.json');
    const between = bin('merge', s1, s2edited, '--reports', join(d, 'm1'), '--workers', '1', ...allow());
    expect(between.code).toBe(2);
    expect(between.err).toContain(`${s2edited}: modules: the strategy module ${mod} had sha256`);
    expect(between.err).toContain('it was edited between the shards');
    const since = bin('merge', s1, s2, '--reports', join(d, 'm2'), '--workers', '1', ...allow());
    expect(since.code).toBe(2);
    expect(since.err).toContain(`modules: the strategy module ${mod} changed since the shards ran`);
    edit(original);
    const ok = bin('merge', s1, s2, '--reports', join(d, 'm3'), '--workers', '1', ...allow());
    expect(ok.code, ok.err).toBe(1); // the expectation fails, as it does unsharded
    expect(ok.err).toContain('FAIL user-strategy / almost-delta: migrationsSucceeded');
  });

  it('replay: a module edit that leaves the run alone is accepted; one that changes it is refused as a code change, --strategy included; the fix is judged with --strategy', () => {
    edit(original);
    const r = bin('run', scenarioFile, '--runs', '2', '--reports', join(d, 'r'), '--workers', '1', ...allow());
    expect(r.code, r.err).toBe(1);
    const evidence = join(d, 'r', 'user-strategy', 'almost-delta', 'random-seed-1.evidence');
    const text = readFileSync(evidence, 'utf8');
    expect(text).toMatch(/^strategy-module: strategies\/almost-delta\.ts$/m);
    expect(text).toContain(`strategy-sha256: ${createHash('sha256').update(original).digest('hex')}`);
    expect((bin('replay', evidence, ...allow())).out).toContain('still fails');

    edit(`${original}// a comment: the same code\n`);
    const comment = bin('replay', evidence, ...allow());
    expect(comment.code, comment.err).toBe(0);
    expect(comment.out).toContain('trace: identical to the one recorded');

    const fixed = original.replace('const CONSOLE_LOG_CPU = 0;', 'const CONSOLE_LOG_CPU = 15;');
    edit(fixed);
    for (const extra of [['--expect-fixed'], ['--strategy', 'v1.4.2', '--expect-fixed']]) {
      const x = bin('replay', evidence, ...allow(), ...extra);
      expect(x.code, extra.join(' ')).toBe(2);
      expect(x.err).toContain('trace-sha256: the recorded run, replayed with almost-delta, prints another trace');
      expect(x.err).toContain('the code changed since the evidence was saved: the strategy module strategies/almost-delta.ts changed');
      expect(x.out).not.toContain('no longer fails');
    }

    // The documented way: the failing module stays as recorded, the fix is passed with --strategy.
    edit(original);
    const fix = join(d, 'strategies', 'fixed-delta.ts');
    writeFileSync(fix, fixed.replace("name: 'almost-delta'", "name: 'fixed-delta'"));
    const judged = bin('replay', evidence, ...allow(), '--strategy', fix, '--expect-fixed');
    expect(judged.out).toContain('recorded run: replayed with almost-delta, identical to the trace recorded in the evidence');
    expect(judged.out).toContain('no longer fails');
    expect(judged.code, judged.err).toBe(0);
  });
});

describe('report files', () => {
  it('never overwrites a file quotarace did not write', async () => {
    const reports = dir('clobber');
    const mine = join(reports, 'incident-7178.html');
    writeFileSync(mine, 'my notes');
    const r = await cli('run', INCIDENT, '--runs', '3', '--reports', reports, '--workers', '1');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${mine} exists and was not written by quotarace`);
    expect(r.err).not.toMatch(/^\s+at\s/m);
    expect(readFileSync(mine, 'utf8')).toBe('my notes');
    expect(existsSync(join(reports, 'index.html'))).toBe(false);
    expect(walk(reports).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // The same for the index and a JUnit file.
    const other = dir('clobber-index');
    writeFileSync(join(other, 'index.html'), '<!DOCTYPE html>\n<p>my index</p>');
    const ri = await cli('run', CONTROL, '--runs', '2', '--reports', other, '--workers', '1');
    expect(ri.code).toBe(2);
    expect(readFileSync(join(other, 'index.html'), 'utf8')).toBe('<!DOCTYPE html>\n<p>my index</p>');
    const junit = join(other, 'junit.xml');
    writeFileSync(junit, '<?xml version="1.0"?><mine/>');
    const rj = await cli('run', CONTROL, '--runs', '2', '--reports', dir('clobber-junit'), '--workers', '1', '--junit', junit);
    expect(rj.code).toBe(2);
    expect(readFileSync(junit, 'utf8')).toBe('<?xml version="1.0"?><mine/>');
  });

  it('replaces its own earlier report, and leaves no temporary file behind', async () => {
    const reports = dir('replace');
    const html = join(reports, 'control-no-race.html');
    expect((await cli('run', CONTROL, '--runs', '2', '--reports', reports, '--workers', '1')).code).toBe(0);
    const first = readFileSync(html, 'utf8');
    expect(first).toContain('2 random runs');
    expect((await cli('run', CONTROL, '--runs', '3', '--reports', reports, '--workers', '1')).code).toBe(0);
    const second = readFileSync(html, 'utf8');
    expect(second).not.toBe(first);
    expect(second).toContain('3 random runs');
    expect(second.startsWith('<!DOCTYPE html>\n<!-- quotarace report')).toBe(true);
    // Evidence from an earlier run is replaced in place too.
    expect((await cli('run', INCIDENT, '--runs', '3', '--reports', reports, '--workers', '1')).code).toBe(0);
    expect((await cli('run', INCIDENT, '--runs', '4', '--reports', reports, '--workers', '1')).code).toBe(0);
    const all = walk(reports);
    expect(all.filter((f) => f.endsWith('.evidence')).length).toBeGreaterThan(0);
    expect(all.filter((f) => f.endsWith('.tmp') || /\.\d+\.tmp$/.test(f))).toEqual([]);
  });
});

