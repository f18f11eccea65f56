import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { load, main } from '../src/cli/main.js';
import { DEFAULT_CAMPAIGN, finishScenario, tallyScenario, type CampaignOptions } from '../src/explore/campaign.js';
import { WorkerPool } from '../src/explore/pool.js';
import { FIDELITY } from '../src/report/fidelity.js';
import { scenarioReport } from '../src/report/html.js';
import { wilson } from '../src/report/stats.js';
import { loadScenario } from '../src/scenario/load.js';
import { BUILTIN_STRATEGIES, builtinStrategy } from '../src/strategies/builtin.js';

/**
 * A real browser (Debian's chromium, driven by playwright-core) opens the reports that
 * `quotarace run` writes, over file:// only. The reports promise to be self-contained:
 * no script, no network, charts rendered to inline SVG at report time.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const INCIDENT = join(ROOT, 'scenarios', '1-incident-7178.yaml');
const CONTROL = join(ROOT, 'scenarios', '6-control-no-race.yaml');
const RUNS = 30;

const LAUNCH = {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
};

interface Cli {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[]): Promise<Cli> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** What a page did that a self-contained report must not do. */
interface Watch {
  page: Page;
  requests: string[];
  consoleErrors: string[];
  pageErrors: string[];
  dialogs: string[];
}

async function newWatchedPage(): Promise<Watch> {
  const page = await browser.newPage();
  const w: Watch = { page, requests: [], consoleErrors: [], pageErrors: [], dialogs: [] };
  page.on('request', (r) => w.requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') w.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => w.pageErrors.push(String(e)));
  page.on('dialog', (d) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  return w;
}

function expectClean(w: Watch): void {
  expect(w.consoleErrors).toEqual([]);
  expect(w.pageErrors).toEqual([]);
  expect(w.dialogs).toEqual([]);
  expect(w.requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
}

const url = (file: string) => pathToFileURL(file).href;

/** The strategies `run` picks for a scenario: its own list, else every built-in. */
const strategiesOf = (file: string): string[] => [...(load(file).strategies ?? BUILTIN_STRATEGIES.map((b) => b.name))];

/**
 * Debian's chromium is what these tests drive. `.ci/run` installs it, and in CI (CI set) a
 * missing browser fails the run. On a developer's machine without it the tests are skipped
 * with a notice, so that `npm ci && npm test` still passes there.
 */
const HAVE_CHROMIUM = existsSync('/usr/bin/chromium');
if (!HAVE_CHROMIUM && process.env.CI) throw new Error('the browser tests need /usr/bin/chromium: apt-get install chromium (.ci/run does)');
if (!HAVE_CHROMIUM) console.warn('browser tests skipped: /usr/bin/chromium is not installed (apt-get install chromium)');
const describeBrowser = HAVE_CHROMIUM ? describe : describe.skip;

let tmp: string;
let browser: Browser;
let run: Cli;

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  tmp = mkdtempSync(join(tmpdir(), 'quotarace-browser-'));
  run = await cli(['run', INCIDENT, CONTROL, '--runs', String(RUNS), '--reports', tmp, '--workers', '1']);
  browser = await chromium.launch(LAUNCH);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (tmp && !process.env.QUOTARACE_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
});

describeBrowser('reports in a real browser', () => {
  it('the run that wrote them succeeded', () => {
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    for (const f of ['index.html', 'incident-7178.html', 'control-no-race.html']) expect(existsSync(join(tmp, f)), f).toBe(true);
  });

  it('index.html links to each scenario report, and the links resolve when clicked', async () => {
    const w = await newWatchedPage();
    const { page } = w;
    const index = url(join(tmp, 'index.html'));
    await page.goto(index);
    const hrefs = await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href')));
    expect(hrefs).toEqual(['incident-7178.html', 'control-no-race.html']);

    await Promise.all([page.waitForURL('**/incident-7178.html'), page.click('a[href="incident-7178.html"]')]);
    expect(page.url()).toBe(url(join(tmp, 'incident-7178.html')));
    expect(await page.textContent('h1')).toBe('incident-7178');

    await page.goBack();
    expect(page.url()).toBe(index);
    await Promise.all([page.waitForURL('**/control-no-race.html'), page.click('a[href="control-no-race.html"]')]);
    expect(await page.textContent('h1')).toBe('control-no-race');

    expectClean(w);
    expect(new Set(w.requests)).toEqual(new Set([index, url(join(tmp, 'incident-7178.html')), url(join(tmp, 'control-no-race.html'))]));
    expect(await page.$$eval('script', (s) => s.length)).toBe(0);
    await page.close();
  });

  it('incident-7178.html: verdict, scenario, failures with charts, fidelity; no script, no network, no error', async () => {
    const w = await newWatchedPage();
    const { page } = w;
    const doc = url(join(tmp, 'incident-7178.html'));
    await page.goto(doc);

    // Sections, in this order.
    const ids = await page.$$eval('section[id]', (ss) => ss.map((s) => s.id));
    expect(ids).toEqual(['verdict', 'scenario', 'failures', 'fidelity']);

    // Verdict: one row per strategy, its quota-correct rate and a 95% interval.
    const rows = await page.$$eval('#verdict table:first-of-type tr', (trs) =>
      trs.slice(1).map((tr) => ({ name: tr.querySelector('th')?.textContent ?? '', cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '') })),
    );
    expect(rows.map((r) => r.name)).toEqual(strategiesOf(INCIDENT));
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['pre-fix', 'v1.4.2']));
    const PCT_CI = /^(\d{1,3}\.\d)% \[(\d{1,3}\.\d)%–(\d{1,3}\.\d)%\]$/;
    for (const r of rows) {
      expect(r.cells[0]).toBe(String(RUNS));
      const m = PCT_CI.exec(r.cells[1]!);
      expect(m, `quota cell of ${r.name}: ${r.cells[1]}`).not.toBeNull();
      const [p, lo, hi] = [Number(m![1]), Number(m![2]), Number(m![3])];
      expect(lo).toBeLessThanOrEqual(p);
      expect(hi).toBeGreaterThanOrEqual(p);
      // The interval is Wilson's for the counted successes.
      const ci = wilson(Math.round((p / 100) * RUNS), RUNS);
      expect(lo).toBeCloseTo(ci.low * 100, 1);
      expect(hi).toBeCloseTo(ci.high * 100, 1);
      // The same rate as the table printed on stdout.
      const table = run.out.slice(run.out.indexOf('incident-7178  ('), run.out.indexOf('control-no-race  ('));
      const line = table.split('\n').find((l) => l.startsWith(`${r.name} `));
      expect(line, `stdout row for ${r.name}`).toBeDefined();
      expect(line!.split(/\s+/)[2]).toBe(`${m![1]}%`);
    }
    expect(rows.find((r) => r.name === 'v1.4.2')!.cells[1]).toMatch(/^100\.0% \[/);

    // Failures: pre-fix's story, its replay command, its two charts.
    const articles = page.locator('#failures article.failure');
    const preFix = articles.filter({ has: page.locator('h3', { hasText: /^pre-fix: / }) });
    expect(await preFix.count()).toBe(1);
    const story = preFix.locator('ol.story > li');
    expect(await story.count()).toBeGreaterThan(3);
    // The story ends with how the run ended (and, when one broke, which invariant).
    const lines = await story.allTextContents();
    expect(lines.some((l) => /^end: /.test(l))).toBe(true);
    expect(lines.slice(lines.findIndex((l) => /^end: /.test(l))).every((l) => /^(end: |invariant )/.test(l))).toBe(true);
    const replay = (await preFix.locator('code').filter({ hasText: 'quotarace replay' }).first().textContent()) ?? '';
    expect(replay).toContain('quotarace replay');
    const evidence = replay.replace(/^.*quotarace replay /, '');
    expect(evidence.endsWith('.evidence')).toBe(true);
    expect(existsSync(evidence), evidence).toBe(true);

    const swim = preFix.locator('figure.swimlane svg');
    const quota = preFix.locator('figure.quota svg');
    expect(await swim.count()).toBe(1);
    expect(await quota.count()).toBe(1);
    const points = await swim.locator('.mark-symbol.role-mark path').count();
    expect(points).toBeGreaterThan(0);
    // As many marks as the caption says writes and refusals.
    const caption = (await preFix.locator('p.muted').first().textContent()) ?? '';
    expect(Number(/shrunk to (\d+) writes and refusals/.exec(caption)?.[1])).toBe(points);
    expect(await quota.locator('.mark-line.role-mark path').count()).toBeGreaterThan(0);
    for (const svg of [swim, quota]) {
      expect(await svg.locator('path').count()).toBeGreaterThan(0);
      const box = await svg.boundingBox();
      expect(box).not.toBeNull();
      expect(box!.width).toBeGreaterThan(0);
      expect(box!.height).toBeGreaterThan(0);
    }
    // Each strategy that failed has an article; v1.4.2 never failed here.
    expect(await articles.filter({ has: page.locator('h3', { hasText: /^v1\.4\.2: / }) }).count()).toBe(0);

    // Fidelity: a row per modelled rule.
    expect(await page.locator('#fidelity table tr').count()).toBe(FIDELITY.length + 1);
    expect(FIDELITY.length).toBeGreaterThan(0);

    // Self-contained: no script element, no inline handler, nothing fetched.
    expect(await page.$$eval('script', (s) => s.length)).toBe(0);
    const handlers = await page.$$eval('*', (els) => els.flatMap((e) => [...e.attributes].filter((a) => a.name.toLowerCase().startsWith('on')).map((a) => `${e.tagName}.${a.name}`)));
    expect(handlers).toEqual([]);
    expect(w.requests).toEqual([doc]);
    expectClean(w);

    await page.screenshot({ path: join(tmp, 'incident-7178.png'), fullPage: true });
    expect(existsSync(join(tmp, 'incident-7178.png'))).toBe(true);
    await page.close();
  });

  it('control-no-race.html says no strategy failed', async () => {
    const w = await newWatchedPage();
    const doc = url(join(tmp, 'control-no-race.html'));
    await w.page.goto(doc);
    expect(await w.page.textContent('#failures')).toContain('No strategy failed');
    expect(await w.page.locator('#failures svg').count()).toBe(0);
    expect(await w.page.$$eval('script', (s) => s.length)).toBe(0);
    expect(w.requests).toEqual([doc]);
    expectClean(w);
    await w.page.close();
  });
});

describeBrowser('markup from scenario files is shown, never run', () => {
  const INJECT = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';

  it('a description with <script> and <img onerror> is text in the report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quotarace-inject-'));
    try {
      // The control scenario with another name and a hostile description.
      const base = readFileSync(CONTROL, 'utf8').split('\n');
      const from = base.findIndex((l) => l.startsWith('description:'));
      const to = base.findIndex((l) => l.startsWith('cluster:'));
      expect(from).toBeGreaterThanOrEqual(0);
      const text = [...base.slice(0, from), `description: ${JSON.stringify(INJECT)}`, ...base.slice(to)].join('\n').replace(/^name: .*$/m, 'name: injection-probe');
      const file = join(dir, 'inject.yaml');
      writeFileSync(file, text);
      expect(load(file).description).toBe(INJECT);

      const reports = join(dir, 'reports');
      const r = await cli(['run', file, '--runs', '3', '--reports', reports, '--workers', '1']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const html = readFileSync(join(reports, 'injection-probe.html'), 'utf8');
      expect(html).not.toMatch(/<script/i);
      expect(html).not.toMatch(/<img/i);

      const w = await newWatchedPage();
      const doc = url(join(reports, 'injection-probe.html'));
      await w.page.goto(doc);
      expect(await w.page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      const shown = await w.page.evaluate(() => (globalThis as unknown as { document: { body: { innerText: string } } }).document.body.innerText);
      expect(shown).toContain('<script>window.__pwned=1</script>');
      expect(shown).toContain('<img src=x onerror="window.__pwned=2">');
      expect(await w.page.$$eval('script, img', (s) => s.length)).toBe(0);
      expect(w.requests.filter((u) => /\/x$/.test(u))).toEqual([]);
      expect(w.requests).toEqual([doc]);
      expectClean(w);
      await w.page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scenarioReport escapes a scenario name, and the page opens with no dialog', async () => {
    const NAME = '<script>alert(1)</script>';
    const s = loadScenario(INCIDENT, (n) => builtinStrategy(n) !== undefined);
    const strategies = ['pre-fix', 'v1.4.2'].map((n) => builtinStrategy(n)!);
    const text = readFileSync(INCIDENT, 'utf8');
    const opts: CampaignOptions = { ...DEFAULT_CAMPAIGN, runs: 8, seed: 1 };
    const dir = mkdtempSync(join(tmpdir(), 'quotarace-name-'));
    const pool = new WorkerPool(1);
    try {
      const tallies = await tallyScenario(s, text, strategies, opts, pool, { from: 1, to: 9 });
      const result = await finishScenario(s, text, strategies, tallies, opts, pool, dir);
      expect(result.failures.length).toBeGreaterThan(0); // so the charts and story are in the page too
      const html = await scenarioReport({
        scenario: { ...s, name: NAME },
        summary: { ...result.summary, name: NAME },
        bits: result.bits,
        failures: result.failures.map((f) => ({ ...f, replay: `npx quotarace replay ${f.evidencePath}` })),
        expectations: [],
      });
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toContain('<script>');
      expect(html).not.toMatch(/<script/i);

      const file = join(dir, 'named.html');
      writeFileSync(file, html);
      const w = await newWatchedPage();
      await w.page.goto(url(file));
      expect(await w.page.textContent('h1')).toBe(NAME);
      expect(await w.page.title()).toBe(`quotarace: ${NAME}`);
      // Give a dialog the chance to show, were a script to run.
      await w.page.waitForTimeout(100);
      expect(w.dialogs).toEqual([]);
      expect(w.requests).toEqual([url(file)]);
      expectClean(w);
      await w.page.close();
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
