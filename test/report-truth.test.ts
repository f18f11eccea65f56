import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

/**
 * What the report shows of a run is what the run did: the zoomed race of a strategy module
 * is the module's own run (recorded in its sandbox), with the hash `replay` of its evidence
 * prints; the run line it states reproduces the campaign's JSON when executed as printed.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'quotarace.js');
const NINE = 'scenarios/9-user-strategy.yaml';
const LONG = 'scenarios/4-long-vm-name.yaml';
const SHORT = 'test/fixtures/strategies/short-delta.ts';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** The run line a report states (the command, without its comment lines). */
function runLineOf(html: string): string {
  const m = /<pre class="runline"><code class="cmd">([^<]*)<\/code>/.exec(html);
  if (!m) throw new Error('no run line in the report');
  return unescape(m[1]!);
}

/** Execute a printed run line as a shell would, with `quotarace` being this checkout's CLI. */
function execute(line: string, extra: string): string {
  expect(line.startsWith('quotarace run ')).toBe(true);
  return execFileSync('bash', ['-c', `node ${JSON.stringify(BIN)} ${line.slice('quotarace '.length)} ${extra}`], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** A campaign's JSON with its reports folder taken out (evidence paths name it). */
function normalised(json: string, reports: string): unknown {
  return JSON.parse(json.split(reports).join('<reports>'));
}

interface Article {
  readonly hash: string;
  readonly lanes: string[];
  /** Each race row's hover text: "12.345s actor write: text". */
  readonly rows: string[];
  readonly shown: string;
  readonly replay: string;
  readonly unshrunk: string;
  readonly unshrunkHash: string;
}

function article(html: string, strategy: string): Article {
  const start = html.indexOf(`<article class="failure" data-strategy="${strategy}"`);
  expect(start, `a zoomed race for ${strategy}`).toBeGreaterThanOrEqual(0);
  const a = html.slice(start, html.indexOf('</article>', start));
  const codes = [...a.matchAll(/<code[^>]*>([^<]*)<\/code>/g)].map((m) => unescape(m[1]!));
  return {
    hash: /data-trace-sha256="([0-9a-f]{64})"/.exec(a)![1]!,
    lanes: [...a.matchAll(/<th class="lane" title="([^"]*)"/g)].map((m) => unescape(m[1]!)),
    rows: [...a.matchAll(/<svg class="mark"[^>]*><title>([^<]*)<\/title>/g)].map((m) => unescape(m[1]!)),
    shown: unescape(/<p class="shown">([\s\S]*?)<\/p>/.exec(a)![1]!.replace(/<[^>]+>/g, '')),
    replay: codes.find((c) => c.includes('quotarace replay'))!,
    unshrunk: codes.find((c) => c.includes('quotarace trace'))!,
    unshrunkHash: /The unshrunk [\s\S]*?trace sha256 <code>([0-9a-f]{64})<\/code>/.exec(a)![1]!,
  };
}

/** The trace lines of `trace`/`replay` output as the race's hover texts spell them. */
function traceRows(out: string): string[] {
  const rows: string[] = [];
  for (const l of out.split('\n')) {
    const m = /^\s*(\d+\.\d{3})s  (\S+)\s+(write|REFUSED|note)\s{2,}(.*)$/.exec(l);
    if (m) rows.push(`${m[1]}s ${m[2]} ${m[3]}: ${m[4]}`);
  }
  return rows;
}

const hashLine = (out: string) => /^trace sha256 ([0-9a-f]{64})$/m.exec(out)?.[1];

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'quotarace-truth-'));
});
afterAll(() => {
  if (tmp && !process.env.QUOTARACE_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
});

describe('a strategy module: the report shows its own run', () => {
  let run: { code: number; out: string; err: string };
  let html: string;
  let reports: string;
  beforeAll(async () => {
    reports = join(tmp, 'module');
    run = await cli(['run', NINE, '--strategy', 'v1.4.2', '--strategy', SHORT, '--runs', '8', '--reports', reports, '--workers', '1']);
    html = readFileSync(join(reports, 'user-strategy.html'), 'utf8');
  });

  it("the zoomed race has the module's own reconcilers' writes, and equals replay of its evidence line for line", async () => {
    expect(run.err).toBe('');
    const a = article(html, 'short-delta');
    // Its reconcilers write the quota: lanes only the module has.
    expect(a.lanes).toContain('harvester/short-delta-recorder');
    expect(a.rows.some((r) => / harvester\/short-delta-(recorder|keeper) write: update ResourceQuota /.test(r))).toBe(true);

    // The report's command allows the module the evidence names (a module named by a file loads only when allowed).
    expect(a.replay).toBe(`npx quotarace replay ${a.replay.split(' ')[3]} --allow-module ${SHORT}`);
    const replay = await cli(a.replay.replace(/^npx quotarace /, '').split(' '));
    expect(replay.code, replay.err).toBe(0);
    // The hash the report states is the hash of the run replay prints.
    expect(hashLine(replay.out)).toBe(a.hash);
    // Every row of the zoomed race is a line of the replayed trace, in the same order.
    const lines = traceRows(replay.out);
    expect(lines.length).toBeGreaterThan(a.rows.length);
    let at = -1;
    for (const row of a.rows.filter((r) => !/ delivery: /.test(r))) {
      const i = lines.indexOf(row, at + 1);
      expect(i, `race row not in the replayed trace after line ${at}: ${row}`).toBeGreaterThan(at);
      at = i;
    }
  });

  it('the zoomed run says it is shrunk, from which run; that run traced prints the hash the report gives it', async () => {
    for (const strategy of ['v1.4.2', 'short-delta']) {
      const a = article(html, strategy);
      const from = /shrunk from (random:\d+): /.exec(a.shown)?.[1];
      expect(from, a.shown).toBeDefined();
      expect(a.shown).toMatch(/\d+ of \d+ choices at their defaults/);
      expect(a.unshrunk).toMatch(new RegExp(`--run ${from}$`));
      expect(a.unshrunkHash).not.toBe(a.hash);
      const trace = await cli(a.unshrunk.replace(/^npx quotarace /, '').split(' '));
      expect(trace.code, trace.err).toBe(0);
      expect(hashLine(trace.out)).toBe(a.unshrunkHash);
    }
  });

  it('the terminal states the run line index.html states', () => {
    const index = readFileSync(join(reports, 'index.html'), 'utf8');
    const line = runLineOf(index);
    expect(runLineOf(html)).toBe(line);
    expect(run.out).toContain(`reproduce with:\n  ${line}\n`);
    expect(line).toContain(`--strategy v1.4.2 --strategy ${SHORT}`);
    expect(run.out).toMatch(/# quotarace \d+\.\d+\.\d+/);
    expect(run.out).toMatch(new RegExp(`# strategy short-delta: ${SHORT} sha256 [0-9a-f]{64}`));
    expect(run.out).toMatch(new RegExp(`# ${NINE} sha256 [0-9a-f]{64} runs 8 seed 1: v1.4.2, short-delta`));
  });

  it('the text table says what the JSON says, column by column', () => {
    const json = JSON.parse(execute(runLineOf(html), `--json --workers 1 --reports ${join(tmp, 'module-json')}`)) as { scenarios: Array<{ strategies: Array<Record<string, unknown>> }> };
    const strategies = json.scenarios[0]!.strategies;
    const header = run.out.split('\n').findIndex((l) => l.startsWith('strategy '));
    const rows = run.out.split('\n').slice(header + 2, header + 2 + strategies.length);
    for (const [i, st] of strategies.entries()) {
      const cells = rows[i]!.split(/\s{2,}/);
      const pct = (x: unknown) => `${((x as number) * 100).toFixed(1)}%`;
      expect(cells[0]).toBe(st.name);
      expect(Number(cells[1])).toBe(st.runs);
      expect(cells[2]).toBe(pct(st.quotaCorrect));
      expect(cells[3]).toBe(pct(st.migrationsSucceeded));
      expect(cells[4]).toBe(pct(st.invariantViolations));
      const kinds = (st.failures as unknown[]).length;
      expect(cells[5]).toBe(kinds ? String(kinds) : '-');
      const failing = st.failingRuns as string[];
      if (failing.length) expect(failing.join(' ').startsWith(cells[6]!.replace(/ \+\d+$/, ''))).toBe(true);
      else expect(cells[6]).toBe('-');
    }
  });
});

describe('the run line, executed as printed, gives the same JSON', () => {
  for (const [name, argv] of [
    ['runs and seed from each scenario file, PCT', [NINE, LONG, '--explore', 'pct', '--seed', '2', '--allow-module', 'scenarios/strategies/exact-delta.ts']],
    ['strategies given, a module among them, under a longer sandbox timeout', [NINE, '--strategy', SHORT, '--strategy', 'v1.4.2', '--runs', '6', '--seed', '3', '--strategy-timeout', '30']],
  ] as const) {
    it(name, async () => {
      const first = join(tmp, `line-${name.length}-a`);
      const again = join(tmp, `line-${name.length}-b`);
      const r = await cli(['run', ...argv, '--reports', first, '--workers', '1', '--json']);
      expect(r.err).toBe('');
      const line = runLineOf(readFileSync(join(first, 'index.html'), 'utf8'));
      // Every option given is in the line, spelled as given.
      for (let i = 1; i < argv.length; i++) if (argv[i]!.startsWith('--')) expect(line).toContain(`${argv[i]} ${argv[i + 1]!.startsWith('--') ? '' : argv[i + 1]}`.trim());
      const out = execute(line, `--json --workers 1 --reports ${again}`);
      expect(normalised(out, again)).toEqual(normalised(r.out, first));
    });
  }
});

describe('every bundled scenario: quantities as the trace prints them', () => {
  let reports: string;
  let run: { code: number; out: string; err: string };
  beforeAll(async () => {
    reports = join(tmp, 'all');
    run = await cli(['run', 'scenarios', '--runs', '4', '--allow-module', 'scenarios/strategies', '--reports', reports, '--workers', '1', '--json']);
  });

  it("index.html's run line, executed as printed, gives the same JSON for every scenario and strategy", () => {
    expect(run.err).toBe('');
    const again = join(tmp, 'all-again');
    const out = execute(runLineOf(readFileSync(join(reports, 'index.html'), 'utf8')), `--json --workers 1 --reports ${again}`);
    const json = normalised(out, again) as { scenarios: Array<{ strategies: unknown[] }> };
    expect(json.scenarios.length).toBe(readdirSync(join(ROOT, 'scenarios')).filter((f) => f.endsWith('.yaml')).length);
    expect(json).toEqual(normalised(run.out, reports));
  });

  /** "cpu 8060m", "limits.cpu 6055m → 8055m", "spec.hard <b>24Gi</b>": the quantities a report states. */
  const quantities = (text: string): string[] => [...text.matchAll(/(?:^|[\s(·,])(?:cpu|memory|limits\.\w+|requests\.\w+|spec\.hard|status\.hard|used|user asked) (\d+(?:m|Ki|Mi|Gi|Ti)?)(?=$|[\s,;·).])/g)].map((m) => m[1]!);
  const inTrace = (trace: string, q: string) => new RegExp(`(^|[=→ ])${q}($|[→,;\\s)])`, 'm').test(trace);

  it('each zoomed race, story and chart caption states only quantities its replayed trace prints, and the same hash', async () => {
    expect(run.err).toBe('');
    let articles = 0;
    for (const file of readFileSync(join(reports, 'index.html'), 'utf8').matchAll(/href="([^"]+\.html)"/g)) {
      const html = readFileSync(join(reports, file[1]!), 'utf8');
      for (const m of html.matchAll(/<article class="failure" data-strategy="([^"]+)"/g)) {
        const a = article(html, unescape(m[1]!));
        const replay = await cli(['replay', a.replay.replace(/^npx quotarace replay /, '')]);
        expect(hashLine(replay.out), `${file[1]} ${m[1]}`).toBe(a.hash);
        const start = html.indexOf(m[0]);
        const body = html.slice(start, html.indexOf('</article>', start));
        const cells = [...body.matchAll(/<td class="st[^"]*">([^<]*)<\/td>/g)].map((c) => unescape(c[1]!));
        const story = [...body.matchAll(/<li>([^<]*)<\/li>/g)].map((c) => unescape(c[1]!));
        const captions = [...html.matchAll(new RegExp(`<figure class="chart quota" data-strategy="${m[1]}"[\\s\\S]*?<figcaption>([\\s\\S]*?)</figcaption>`, 'g'))].map((c) => unescape(c[1]!.replace(/<[^>]+>/g, '')));
        const stated = [...cells, ...story, ...captions].flatMap(quantities);
        expect(stated.length, `${file[1]} ${m[1]}: quantities found`).toBeGreaterThan(0);
        for (const q of stated) expect(inTrace(replay.out, q), `${file[1]} ${m[1]}: ${q} is not in its trace`).toBe(true);
        articles++;
      }
    }
    expect(articles).toBeGreaterThan(3);
  });

  it("scenario 9's report never rounds 6055m", () => {
    const html = readFileSync(join(reports, 'user-strategy.html'), 'utf8');
    const text = unescape(html.replace(/<[^>]+>/g, ' '));
    expect(text).toContain('limits.cpu=6055m');
    expect(text).toContain('6055m');
    // Times ("6.051 s") are not quantities.
    expect(text).not.toMatch(/\b6\.0[56]\d*\b(?! ?s\b)|\b6,055\b|\b6\.1\b(?! ?s\b)/);
  });
});

describe('an exhaustive search stopped at --max-runs is never called safe (the new-user trial)', () => {
  let reports: string;
  let run: { code: number; out: string; err: string };
  beforeAll(async () => {
    reports = join(tmp, 'incomplete');
    run = await cli(['run', 'scenarios/1-incident-7178.yaml', '--strategy', 'v1.4.2', '--strategy', 'pre-fix', '--explore', 'exhaustive', '--max-runs', '300', '--reports', reports, '--workers', '2', '--no-evidence', '--json']);
  }, 120_000);

  it('the JSON records the coverage: incomplete, stopped at --max-runs 300', () => {
    const strategies = (JSON.parse(run.out) as { scenarios: Array<{ strategies: Array<{ name: string; failures: unknown[]; exploration: { complete: boolean; maxRuns?: number; summary: string } }> }> }).scenarios[0]!.strategies;
    for (const st of strategies) {
      expect(st.failures, st.name).toEqual([]);
      expect(st.exploration).toMatchObject({ complete: false, maxRuns: 300 });
      expect(st.exploration.summary).toContain('stopped at --max-runs 300');
    }
  });

  it('the scenario report and the index say "no failure found — incomplete search", not SAFE', () => {
    const html = readFileSync(join(reports, 'incident-7178.html'), 'utf8');
    const headline = /<section id="headline">[\s\S]*?<\/section>/.exec(html)![0];
    expect(headline).not.toMatch(/SAFE/);
    for (const name of ['v1.4.2', 'pre-fix']) {
      const row = new RegExp(`<div class="v incomplete" id="[^"]*" data-strategy="${name.replace('.', '\\.')}" data-safety="incomplete"[^>]*>[\\s\\S]*?</div>`).exec(headline);
      expect(row, name).not.toBeNull();
      expect(row![0]).toContain('<span class="badge">no failure found — incomplete search (stopped at --max-runs 300)');
      expect(row![0]).toContain('before it stopped at --max-runs 300: an incomplete search shows nothing about the interleavings it did not reach, so this is not a verdict of safety.');
    }
    const index = readFileSync(join(reports, 'index.html'), 'utf8');
    expect(index.match(/<td class="cell sev-incomplete"/g)).toHaveLength(2);
    expect(index).not.toContain('<td class="cell sev-0"');
  });
});

describe("PCT's miss bound is printed off the bound it does not reach", () => {
  it('"missed with probability at most … = 0.9999998", never "= 1.000", in the JSON and the report', async () => {
    const reports = join(tmp, 'pct-bound');
    const r = await cli(['run', 'scenarios/1-incident-7178.yaml', '--strategy', 'v1.4.2', '--explore', 'pct', '--runs', '10', '--reports', reports, '--workers', '2', '--no-evidence', '--json']);
    const x = (JSON.parse(r.out) as { scenarios: Array<{ strategies: Array<{ exploration: { missBound: number; guarantee: string } }> }> }).scenarios[0]!.strategies[0]!.exploration;
    expect(x.missBound).toBeLessThan(1);
    expect(x.missBound).toBeGreaterThan(0.9995);
    const printed = /\)\^10 = (\S+), /.exec(x.guarantee)![1]!;
    expect(printed).not.toMatch(/^1\.?0*$/);
    expect(Number(printed)).toBeLessThan(1);
    const html = readFileSync(join(reports, 'incident-7178.html'), 'utf8');
    expect(html).toContain(`= ${printed}, `);
    expect(html).toMatch(/missed with probability up to 0\.9+\d* \(a heuristic/);
    expect(html).not.toMatch(/= 1\.000,|up to 1\.00 /);
  }, 120_000);
});
