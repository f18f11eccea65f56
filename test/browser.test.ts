import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { load, main } from '../src/cli/main.js';
import { DEFAULT_CAMPAIGN, tallyScenario, type CampaignOptions } from '../src/explore/campaign.js';
import { finishScenario } from '../src/explore/finish.js';
import { WorkerPool } from '../src/explore/pool.js';
import { shownFailures } from '../src/cli/publish.js';
import { scenarioReport } from '../src/report/html.js';
import { vmsMovedInterval, wilson } from '../src/report/stats.js';
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
  run = await cli(['run', INCIDENT, CONTROL, '--runs', String(RUNS), '--reports', tmp, '--workers', '1', '--json']);
  browser = await chromium.launch(LAUNCH);
});

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
    const hrefs = await page.$$eval('a', (as) => as.map((a) => a.getAttribute('href')!));
    // Every link is to a scenario's report (or a section of one), or to a section of this page that exists.
    const pages = new Set(hrefs.filter((h) => !h.startsWith('#')).map((h) => h.replace(/#.*$/, '')));
    expect([...pages]).toEqual(['incident-7178.html', 'control-no-race.html']);
    for (const h of hrefs.filter((x) => x.startsWith('#'))) expect(await page.locator(`[id="${h.slice(1)}"]`).count(), h).toBe(1);
    // A pass/fail banner for the run and per scenario, and the run's metadata.
    expect(await page.textContent('#run-verdict')).toMatch(/^PASS2 scenarios, \d+ expectations met$/);
    expect(await page.locator('.scenario .banner.pass').count()).toBe(2);
    expect(await page.$$eval('#toc a', (as) => as.map((a) => a.getAttribute('href')))).toEqual(['#matrix', '#kinds', '#scenarios']);
    expect(await page.textContent('.meta')).toMatch(/quotarace \d+\.\d+\.\d+ · \d{4}-\d{2}-\d{2} · reproduce with:/);
    expect(await page.textContent('pre.runline code.cmd')).toMatch(/^quotarace run \S+1-incident-7178.yaml \S+6-control-no-race.yaml .*--runs 30 --seed 1$/);

    await Promise.all([page.waitForURL('**/incident-7178.html'), page.click('.banner a[href="incident-7178.html"]')]);
    expect(page.url()).toBe(url(join(tmp, 'incident-7178.html')));
    expect(await page.textContent('h1')).toBe('incident-7178');

    await page.goBack();
    expect(page.url()).toBe(index);
    await Promise.all([page.waitForURL('**/control-no-race.html'), page.click('.banner a[href="control-no-race.html"]')]);
    expect(await page.textContent('h1')).toBe('control-no-race');

    expectClean(w);
    expect(new Set(w.requests)).toEqual(new Set([index, url(join(tmp, 'incident-7178.html')), url(join(tmp, 'control-no-race.html'))]));
    expect(await page.$$eval('script', (s) => s.length)).toBe(0);
    await page.close();
  });

  it('incident-7178.html: the headline above the fold at 1400×900, every failure kind, the race zoomed; no label cut; no script, no network', async () => {
    const w = await newWatchedPage();
    const { page } = w;
    await page.setViewportSize({ width: 1400, height: 900 });
    const doc = url(join(tmp, 'incident-7178.html'));
    await page.goto(doc);

    const ids = await page.$$eval('section[id]', (ss) => ss.map((s) => s.id));
    expect(ids).toEqual(['headline', 'failures', 'race', 'quota', 'verdict', 'scenario', 'fidelity']);

    // The headline: one verdict per strategy, all of it above the fold.
    const headline = await page.locator('#headline').boundingBox();
    expect(headline).not.toBeNull();
    expect(headline!.y + headline!.height).toBeLessThanOrEqual(900);
    const verdicts = page.locator('#headline .v');
    expect(await verdicts.evaluateAll((vs) => vs.map((v) => v.getAttribute('data-strategy')))).toEqual(strategiesOf(INCIDENT));
    const preFix = page.locator('#headline .v[data-strategy="pre-fix"]');
    expect(await preFix.textContent()).toMatch(/UNSAFE here.*as expected.*Fails in \d+ of 30 runs: the quota ended wrong in \d+/s);
    // Coloured by safety: pre-fix broke the quota, so it is red although that was expected (a mark of its own).
    expect(await preFix.getAttribute('class')).toContain('unsafe');
    expect(await preFix.getAttribute('data-expectation')).toBe('meets');
    expect(await preFix.locator('.exp.met').textContent()).toContain('✓ as expected');
    const red = await preFix.evaluate((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { borderLeftColor: string } }).getComputedStyle(e).borderLeftColor);
    expect(red).toBe('rgb(198, 40, 40)');
    expect(await page.locator('#headline .v[data-strategy="v1.4.2"]').evaluate((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { borderLeftColor: string } }).getComputedStyle(e).borderLeftColor)).toBe('rgb(46, 125, 50)');
    // The verdict row links to the strategy's failure kinds and its zoomed race, and both exist.
    for (const href of await preFix.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')!))) expect(await page.locator(`[id="${href.slice(1)}"]`).count(), href).toBe(1);
    expect(await preFix.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual(['#failures-pre-fix', '#race-pre-fix']);
    // Value labels on the bars: each strategy's two rates, as printed in the numbers table.
    const labels = await page.$$eval('#headline figure svg text', (ts) => ts.map((t) => t.textContent));
    expect(labels.filter((l) => /^\d+(\.\d)?%$/.test(l ?? '')).length).toBeGreaterThanOrEqual(2 * strategiesOf(INCIDENT).length);
    // The table of contents: every link resolves to a section of the page.
    const toc = await page.$$eval('#toc a', (as) => as.map((a) => a.getAttribute('href')!));
    expect(toc.slice(0, 2)).toEqual(['#headline', '#failures']);
    for (const h of toc) expect(await page.locator(`[id="${h.slice(1)}"]`).count(), h).toBe(1);
    expect(await page.locator('#headline .v[data-strategy="v1.4.2"]').textContent()).toMatch(/SAFE here/);
    expect(await page.locator('#headline figure svg').count()).toBe(1);

    // No text overflows its box anywhere in the headline, the failure kinds or the race.
    const overflowing = await page.$$eval('#headline .v > span, #failures td, #race td', (els) => els.filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent?.slice(0, 40)));
    expect(overflowing).toEqual([]);
    // Lane labels are whole: each rotated name fits inside its header cell.
    const cut = await page.$$eval('#race th.lane', (ths) =>
      ths.filter((th) => { const s = th.querySelector('span')!.getBoundingClientRect(); const b = th.getBoundingClientRect(); return s.height > b.height + 1 || s.top < b.top - 1; }).map((th) => th.textContent),
    );
    expect(cut).toEqual([]);

    // Every failure kind of pre-fix, each with its run id and replay command.
    const kinds = page.locator('#failures table.kinds').first().locator('tr');
    expect(await kinds.count()).toBeGreaterThan(1);
    const rowsText = await kinds.allTextContents();
    expect(rowsText.slice(1).every((t) => /random:\d+/.test(t) && /quotarace (replay|trace)/.test(t))).toBe(true);
    const evidence = (await page.locator('#failures code', { hasText: '.evidence' }).first().textContent())!;
    expect(existsSync(evidence), evidence).toBe(true);

    // The race: a lane per actor, a mark with hover text per step, Rancher's reset and Harvester's raises marked.
    const race = page.locator('#race article[data-strategy="pre-fix"]');
    expect(await race.count()).toBe(1);
    const marks = race.locator('svg.mark');
    expect(await marks.count()).toBeGreaterThan(5);
    const titles = await marks.evaluateAll((ms) => ms.map((m) => m.querySelector('title')?.textContent ?? ''));
    expect(titles.every((t) => /^\d+\.\d{3}s /.test(t))).toBe(true);
    expect(await race.locator('tr.reset').count()).toBeGreaterThan(0);
    expect(await race.locator('tr.raise').count()).toBeGreaterThan(0);
    expect(await race.locator('th.lane', { hasText: /^rancher$/ }).count()).toBe(1);
    // Cache deliveries: when Harvester's and Rancher's caches saw the quota (stale reads are made of them).
    expect(titles.some((t) => /(harvester|rancher)'s cache receives ResourceQuota /.test(t))).toBe(true);
    expect(await race.locator('th.lane', { hasText: 'harvester/vm-migration-controller' }).count()).toBe(1);
    // The state table: spec.hard and status.hard side by side.
    expect(await race.locator('th', { hasText: 'spec.hard' }).count()).toBe(1);
    expect(await race.locator('th', { hasText: 'status.hard' }).count()).toBe(1);
    const story = await race.locator('ol.story > li').allTextContents();
    expect(story.some((l) => /^end: /.test(l))).toBe(true);
    // Story items are numbered with their step, as the race table numbers its rows; a shown step links to its row.
    const numbered = await race.locator('ol.story > li[data-step]').evaluateAll((ls) => ls.map((l) => ({ step: l.getAttribute('data-step'), text: l.querySelector('.step')!.textContent, href: l.querySelector('a.step')?.getAttribute('href') ?? null })));
    expect(numbered.length).toBeGreaterThan(3);
    const rowSteps = new Set(await race.locator('table.race tr[data-step]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-step'))));
    for (const n of numbered) {
      expect(n.text).toBe(`#${n.step}`);
      if (n.href) {
        expect(rowSteps.has(n.step)).toBe(true);
        expect(await race.locator(`table.race tr[id="${n.href.slice(1)}"] td.num`).first().textContent()).toBe(n.step);
      } else expect(rowSteps.has(n.step)).toBe(false);
    }
    expect(numbered.some((n) => n.href)).toBe(true);
    // No gap row says that nothing was left out; the caption counts lines within the timeline's.
    expect(await race.locator('tr.gap', { hasText: /… 0 timeline lines/ }).count()).toBe(0);
    const caption = (await race.locator('figcaption').textContent())!;
    const [, shownLines, totalLines] = /^(\d+) of the shrunk run's (\d+) timeline lines/.exec(caption)!;
    expect(Number(shownLines)).toBeLessThanOrEqual(Number(totalLines));
    expect(Number(shownLines)).toBe(await race.locator('table.race tbody tr[data-step]:not(:has(circle[fill="none"]))').count());

    // Quota over time for every key that ended wrong, and only those, named unambiguously.
    const quota = page.locator('#quota figure.quota[data-strategy="pre-fix"]');
    expect(await quota.count()).toBeGreaterThanOrEqual(1);
    expect(await quota.first().textContent()).toContain('namespace “default”');
    expect((await quota.allTextContents()).every((t) => t.includes('(ended wrong)'))).toBe(true);
    // Each rule's writes of spec.hard in its own colour: Harvester's and Rancher's differ.
    const fills = await quota.first().evaluate((f) => {
      const byWriter: Record<string, string> = {};
      for (const p of f.querySelectorAll('path[aria-roledescription="point"]')) {
        const who = /written by: ([^;]+)/.exec(p.getAttribute('aria-label') ?? '')?.[1];
        if (who) byWriter[who] = p.getAttribute('fill')!;
      }
      return byWriter;
    });
    expect(Object.keys(fills)).toEqual(expect.arrayContaining(['rancher', 'harvester/vm-migration-controller']));
    expect(new Set(Object.values(fills)).size).toBe(Object.keys(fills).length);

    // Self-contained: no script element, no inline handler, nothing fetched.
    expect(await page.$$eval('script', (s) => s.length)).toBe(0);
    const handlers = await page.$$eval('*', (els) => els.flatMap((e) => [...e.attributes].filter((a) => a.name.toLowerCase().startsWith('on')).map((a) => `${e.tagName}.${a.name}`)));
    expect(handlers).toEqual([]);
    expect(w.requests).toEqual([doc]);
    expectClean(w);

    const shots = process.env.QUOTARACE_SCREENSHOTS ?? tmp;
    await page.screenshot({ path: join(shots, 'incident-7178-fold.png') });
    await page.screenshot({ path: join(shots, 'incident-7178.png'), fullPage: true });
    expect(existsSync(join(shots, 'incident-7178-fold.png'))).toBe(true);
    await page.close();
  });

  it('index.html: one table with every strategy and every scenario of the run, each cell the JSON rates, coloured by how bad, linking to the failures', async () => {
    const json = JSON.parse(run.out) as { scenarios: Array<{ name: string; strategies: Array<{ name: string; quotaCorrect: number; migrationsSucceeded: number; invariantViolations: number; failures: unknown[] }> }> };
    const w = await newWatchedPage();
    const { page } = w;
    await page.goto(url(join(tmp, 'index.html')));
    const matrix = page.locator('#matrix table.matrix');
    expect(await matrix.count()).toBe(1);
    const columns = await matrix.locator('thead th.sc').evaluateAll((ths) => ths.map((t) => t.getAttribute('data-scenario')));
    expect(columns).toEqual(json.scenarios.map((s) => s.name));
    const rows = await matrix.locator('tbody tr').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-strategy')));
    const every = [...new Set(json.scenarios.flatMap((s) => s.strategies.map((x) => x.name)))];
    expect(rows).toEqual(every);
    for (const sc of json.scenarios) {
      for (const st of sc.strategies) {
        const cell = matrix.locator(`td.cell[data-scenario="${sc.name}"][data-strategy="${st.name}"]`);
        expect(await cell.count()).toBe(1);
        expect(Number(await cell.getAttribute('data-quota-correct'))).toBe(st.quotaCorrect);
        expect(Number(await cell.getAttribute('data-migrations-succeeded'))).toBe(st.migrationsSucceeded);
        expect(Number(await cell.getAttribute('data-invariant-violations'))).toBe(st.invariantViolations);
        const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
        expect(await cell.locator('a').textContent()).toBe(`${pct(st.quotaCorrect)} / ${pct(st.migrationsSucceeded)} / ${pct(st.invariantViolations)}`);
        const cls = (await cell.getAttribute('class'))!;
        const worst = Math.max(1 - st.quotaCorrect, 1 - st.migrationsSucceeded, st.invariantViolations);
        expect(cls).toContain(st.failures.length === 0 ? 'sev-0' : worst >= 0.5 ? 'sev-3' : worst >= 0.05 ? 'sev-2' : 'sev-1');
        // The link goes to that strategy's failures (or its verdict) in the scenario's report, and the target exists.
        const href = (await cell.locator('a').getAttribute('href'))!;
        expect(href).toBe(`${sc.name}.html#${st.failures.length ? 'failures' : 'verdict'}-${st.name}`);
        const target = await browser.newPage();
        await target.goto(url(join(tmp, href.replace(/#.*/, ''))));
        expect(await target.locator(`[id="${href.replace(/^.*#/, '')}"]`).count(), href).toBe(1);
        await target.close();
      }
    }
    // Failure kinds per strategy across scenarios: pre-fix's are listed, linking to incident-7178's failures.
    const kinds = page.locator('#kinds h3[id="kinds-pre-fix"] + table.kinds');
    expect(await kinds.locator('tr').count()).toBeGreaterThan(1);
    expect(await kinds.locator('a').first().getAttribute('href')).toBe('incident-7178.html#failures-pre-fix');
    expectClean(w);
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
        failures: shownFailures(s, strategies, result, [], (p) => `npx quotarace replay ${p}`),
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

describeBrowser('every rate and interval a report renders is the JSON summary\'s', () => {
  const NINE = join(ROOT, 'scenarios', '9-user-strategy.yaml');
  interface JsonStrategy { name: string; runs: number; quotaCorrect: number; migrationsSucceeded: number; vmsMoved: number; vmsToMove: number; invariantViolations: number; failures: Array<{ runs: number }>; error?: string }
  interface JsonScenario { name: string; strategies: JsonStrategy[]; expectations: Array<{ strategy: string; expectation: string; actual: number }> }
  let dir: string;
  let scenarios: JsonScenario[];

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) return;
    dir = mkdtempSync(join(tmpdir(), 'quotarace-rates-'));
    // Every built-in (the incident's) and a strategy module (scenario 9's exact-delta).
    const r = await cli(['run', INCIDENT, NINE, '--runs', '24', '--reports', dir, '--workers', '1', '--json', '--allow-module', join(ROOT, 'scenarios', 'strategies')]);
    expect(r.err).toBe('');
    scenarios = (JSON.parse(r.out) as { scenarios: JsonScenario[] }).scenarios;
  });
  afterAll(() => {
    if (dir && !process.env.QUOTARACE_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });

  /** A rendered percentage ("96.7%") is the rate to its last digit. */
  const samePct = (shown: string, rate: number, what: string) => {
    const m = /^(\d+(?:\.\d+)?)%$/.exec(shown.trim());
    expect(m, `${what}: "${shown}" is a percentage`).not.toBeNull();
    const digits = m![1]!.split('.')[1]?.length ?? 0;
    expect(Math.abs(Number(m![1]) - rate * 100), `${what}: ${shown} vs ${rate}`).toBeLessThanOrEqual(0.5 * 10 ** -digits + 1e-9);
  };

  it('the numbers table, the headline and the gate table of each scenario, every strategy, a module included', async () => {
    expect(scenarios.flatMap((s) => s.strategies.map((st) => st.name))).toContain('exact-delta');
    for (const s of scenarios) {
      const w = await newWatchedPage();
      await w.page.goto(url(join(dir, `${s.name}.html`)));
      const rows = await w.page.$$eval('#verdict table:first-of-type tr', (trs) => trs.slice(1).map((tr) => ({ name: tr.querySelector('th')?.textContent ?? '', cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '') })));
      expect(rows.map((r) => r.name)).toEqual(s.strategies.map((st) => st.name));
      for (const st of s.strategies) {
        const { cells } = rows.find((r) => r.name === st.name)!;
        const what = `${s.name} / ${st.name}`;
        expect(Number(cells[0]!.replace(/,/g, '')), what).toBe(st.runs);
        // "96.7% [88.0%–99.4%]": the rate and its Wilson interval over the JSON's counts; the
        // VMs moved over the runs (the VMs of one run are not independent samples).
        for (const [cell, rate, ci] of [
          [cells[1]!, st.quotaCorrect, wilson(Math.round(st.quotaCorrect * st.runs), st.runs)],
          [cells[2]!, st.migrationsSucceeded, vmsMovedInterval(st.vmsMoved, st.vmsToMove, st.runs)],
        ] as const) {
          const m = /^(\S+) \[(\S+)–(\S+)\]$/.exec(cell.trim());
          expect(m, `${what}: "${cell}"`).not.toBeNull();
          samePct(m![1]!, rate, what);
          samePct(m![2]!, ci.low, `${what} interval low`);
          samePct(m![3]!, ci.high, `${what} interval high`);
          expect(ci.low - 1e-9 <= rate && rate <= ci.high + 1e-9, `${what}: ${rate} in [${ci.low}, ${ci.high}]`).toBe(true);
        }
        samePct(cells[3]!, st.invariantViolations, `${what} invariants`);
        expect(Number(cells[4]), `${what} failing runs`).toBe(st.failures.reduce((x, f) => x + f.runs, 0));
        // The headline's sentence counts the same runs.
        const say = (await w.page.locator(`#headline .v[data-strategy="${st.name}"] .say`).textContent())!;
        const failing = st.failures.reduce((x, f) => x + f.runs, 0);
        if (failing === 0) expect(say).toMatch(new RegExp(`^No failure in ${st.runs} runs`));
        else {
          expect(say).toMatch(new RegExp(`^Fails in ${failing} of ${st.runs} runs`));
          const wrong = st.runs - Math.round(st.quotaCorrect * st.runs);
          if (wrong) expect(say).toContain(`the quota ended wrong in ${wrong} (`);
        }
      }
      // The gate's table: each expectation's actual value, to its fourth decimal.
      const gate = await w.page.$$eval('#verdict h3 + table tr', (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      expect(gate.length).toBe(s.expectations.length);
      for (const [i, e] of s.expectations.entries()) {
        expect(gate[i]![0]).toBe(e.strategy);
        expect(gate[i]![1]).toBe(e.expectation);
        expect(Math.abs(Number(gate[i]![2]) - e.actual)).toBeLessThanOrEqual(0.00005 + 1e-12);
      }
      expectClean(w);
      await w.page.close();
    }
  });

  it('index.html: each scenario\'s rates, every strategy', async () => {
    const w = await newWatchedPage();
    await w.page.goto(url(join(dir, 'index.html')));
    for (const s of scenarios) {
      const rows = await w.page.$$eval(`section.scenario[data-scenario="${s.name}"] table tr`, (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      expect(rows.map((r) => r[0])).toEqual(s.strategies.map((st) => st.name));
      for (const [i, st] of s.strategies.entries()) {
        expect(Number(rows[i]![1]!.replace(/,/g, ''))).toBe(st.runs);
        samePct(rows[i]![2]!, st.quotaCorrect, `index ${s.name} / ${st.name} quota`);
        samePct(rows[i]![3]!, st.migrationsSucceeded, `index ${s.name} / ${st.name} migrations`);
        expect(Number(rows[i]![4])).toBe(st.failures.length);
      }
    }
    expectClean(w);
    await w.page.close();
  });
});
