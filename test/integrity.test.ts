import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { load, main } from '../src/cli/main.js';
import { formatEvidence, parseEvidence, type ParsedEvidence } from '../src/explore/evidence.js';
import { TOOL } from '../src/explore/provenance.js';
import { replayRun } from '../src/explore/shrink.js';
import { Timeline, traceHash } from '../src/sim/timeline.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * Integrity of results and evidence (issue 22, item 4): `merge` refuses shards it cannot vouch
 * for (another build, an edited module, tallies that disagree with their seed ranges, run ids
 * outside the campaign) and `replay` refuses an evidence file whose recorded run does not
 * replay to its recorded trace, saying whether the file or the code changed. In-process, built-in
 * strategies only (no worker, no build): the fast tier.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const INCIDENT = join(ROOT, 'scenarios', '1-incident-7178.yaml');
const RESTART = join(ROOT, 'scenarios', '3-agent-restart-during-migration.yaml');
const STACK = /^\s+at\s/m;

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
  tmp = mkdtempSync(join(tmpdir(), 'quotarace-integrity-'));
});
afterAll(() => {
  if (tmp && !process.env.QUOTARACE_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
});

function dir(name: string): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
}

function walk(d: string): string[] {
  return readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

function parsed(text: string): ParsedEvidence {
  const ev = parseEvidence(text);
  if ('error' in ev) throw new Error(`evidence does not parse: ${ev.error} (line ${ev.line})`);
  return ev;
}

// ---------------------------------------------------------------------------------------
describe('evidence: replay vouches for the run before it judges it', () => {
  let evidenceFile: string;
  let good: string;
  const actions = load(INCIDENT).actions.length;

  beforeAll(async () => {
    const reports = dir('ev-reports');
    const r = await cli('run', INCIDENT, '--runs', '2', '--strategy', 'pre-fix', '--reports', reports, '--workers', '1');
    expect(r.code, r.err).toBe(0);
    evidenceFile = join(reports, 'incident-7178', 'pre-fix', 'random-seed-1.evidence');
    good = readFileSync(evidenceFile, 'utf8');
  });

  /** A copy of the good file with `edit` applied, beside it (so `scenario-file` still resolves). */
  function variant(name: string, edit: (t: string) => string): string {
    const f = join(tmp, name);
    writeFileSync(f, edit(good));
    return f;
  }

  it('records the tool, its own hash and the trace hash of the run it describes', () => {
    const ev = parsed(good);
    expect(good.startsWith('# quotarace evidence v2\n')).toBe(true);
    expect(ev.version).toBe(2);
    expect(ev.tool).toBe(TOOL);
    expect(ev.integrity).toBeDefined();
    expect(ev.integrity!.actual).toBe(ev.integrity!.recorded);
    // The recorded trace hash is traceHash of the recorded run, replayed with the recorded strategy.
    const scenario = load(INCIDENT);
    const timeline = new Timeline();
    replayRun(
      { scenario, strategy: builtinStrategy('pre-fix')!, seed: ev.seed, window: ev.windowMs, windowWrites: ev.windowWrites, disabled: new Set(ev.disabledActions), values: ev.choices, horizonMs: ev.horizonMs },
      { strict: false },
      timeline,
    );
    expect(traceHash(timeline)).toBe(ev.traceSha256);
    expect(sha256(timeline.format())).toBe(ev.traceSha256);
  });

  it('an untouched file replays, says its trace is the recorded one, and still fails', async () => {
    const r = await cli('replay', evidenceFile);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`trace: identical to the one recorded in the evidence (sha256 ${parsed(good).traceSha256})`);
    expect(r.out).toContain('still fails');
  });

  it('--strategy OTHER --expect-fixed: the recorded run is checked with the recorded strategy first, then the other is judged', async () => {
    const r = await cli('replay', evidenceFile, '--strategy', 'v1.4.2', '--expect-fixed');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`recorded run: replayed with pre-fix, identical to the trace recorded in the evidence (sha256 ${parsed(good).traceSha256})`);
    expect(r.out).toMatch(/^trace: sha256 [0-9a-f]{64}, replayed against v1\.4\.2 \(recorded with pre-fix\)$/m);
    expect(r.out).toContain('no longer fails');
  });

  it('an edited disabled-actions line that would make the run pass is refused, --expect-fixed included, naming the edit', async () => {
    const all = Array.from({ length: actions }, (_, i) => i).join(' ');
    const f = variant('all-disabled.evidence', (t) => t.replace(/^disabled-actions: .*$/m, `disabled-actions: ${all}`));
    const lineOf = parsed(good).lineOf['evidence-sha256']!;
    for (const argv of [[], ['--expect-fixed'], ['--strategy', 'v1.4.2', '--expect-fixed'], ['--strategy', 'pre-fix', '--expect-fixed']]) {
      const r = await cli('replay', f, ...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toContain(`${f}:${lineOf}:1: evidence-sha256: the file was edited since quotarace wrote it`);
      expect(r.out).not.toContain('no longer fails');
      expect(r.out + r.err).not.toMatch(STACK);
    }
  });

  it('an edited file whose evidence-sha256 was recomputed is still refused: its recorded run replays to another trace', async () => {
    const all = Array.from({ length: actions }, (_, i) => i);
    const forged = variant('forged.evidence', (t) => formatEvidence({ ...parsed(t), disabledActions: all }));
    expect(parsed(readFileSync(forged, 'utf8')).integrity!.actual).toBe(parsed(readFileSync(forged, 'utf8')).integrity!.recorded);
    const r = await cli('replay', forged, '--strategy', 'v1.4.2', '--expect-fixed');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/: trace-sha256: the recorded run, replayed with pre-fix, prints another trace .*replay refuses to judge/);
    expect(r.err).toContain('the file was edited and its evidence-sha256 recomputed');
    expect(r.out).not.toContain('no longer fails');
  });

  it('an edited failure line (trace unchanged) is refused', async () => {
    const forged = variant('failure.evidence', (t) => formatEvidence({ ...parsed(t), failure: 'unsettled' }));
    const r = await cli('replay', forged, '--expect-fixed');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/: failure: the recorded run ends "quota .*", the file says "unsettled": the file was edited/);
  });

  it('another build that replays the run differently: refused, saying the code changed and which tool wrote the file', async () => {
    // What a file from another build looks like: its own tool line and the trace that build printed.
    const other = variant('other-build.evidence', (t) => formatEvidence({ ...parsed(t), tool: 'quotarace 0.0.9', traceSha256: 'c'.repeat(64) }));
    const r = await cli('replay', other, '--strategy', 'v1.4.2', '--expect-fixed');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`the code changed since the evidence was saved: it was written by quotarace 0.0.9, this is ${TOOL}`);
    expect(r.err).toContain('run the scenario again and commit the new evidence');
    // Same file, this build's tool: the tool is not what changed.
    const same = variant('same-build.evidence', (t) => formatEvidence({ ...parsed(t), traceSha256: 'c'.repeat(64) }));
    const s = await cli('replay', same);
    expect(s.code).toBe(2);
    expect(s.err).not.toContain('it was written by');
  });

  it('the scenario-file line may be re-pointed (it is not hashed); other lines may not', async () => {
    const moved = variant('moved.evidence', (t) => t.replace(/^scenario-file: .*$/m, `scenario-file: ${relative(process.cwd(), INCIDENT)}`));
    expect(readFileSync(moved, 'utf8')).not.toBe(good);
    const ok = await cli('replay', moved);
    expect(ok.code, ok.err).toBe(0);
    for (const [name, edit] of [
      ['explanation', (t: string) => t.replace(/^explanation:\n {2}/m, 'explanation:\n  (edited) ')],
      ['horizon', (t: string) => t.replace(/^horizon-ms: (\d+)$/m, (_, h: string) => `horizon-ms: ${Number(h) - 1}`)],
      ['strategy', (t: string) => t.replace(/^strategy: pre-fix$/m, 'strategy: v1.4.2')],
    ] as const) {
      const r = await cli('replay', variant(`${name}.evidence`, edit));
      expect(r.code, name).toBe(2);
      expect(r.err, name).toContain('evidence-sha256: the file was edited');
    }
  });

  it('fields are range-checked against the scenario: slots, disabled actions, horizon; PCT depth and the run id against the selector', async () => {
    const ev = parsed(good);
    const cases: Array<[string, Partial<ParsedEvidence>, RegExp]> = [
      ['slots-short', { windowWrites: ev.windowWrites.slice(1) }, /slots: \d+ numbers?, the scenario has \d+ actions? \(one per action\)/],
      ['disabled-out', { disabledActions: [actions] }, new RegExp(`disabled-actions: ${actions} is not an action of the scenario`)],
      ['horizon-past', { horizonMs: load(INCIDENT).horizonMs + 1 }, /horizon-ms: \d+ is past the scenario's horizon/],
    ];
    for (const [name, change, re] of cases) {
      const r = await cli('replay', variant(`${name}.evidence`, (t) => formatEvidence({ ...parsed(t), ...change })));
      expect(r.code, name).toBe(2);
      expect(r.err, name).toMatch(re);
    }
    const at = ev.windowWrites.findIndex((_, i) => !('between' in load(INCIDENT).actions[i]!.timing));
    expect(at, 'the incident scenario has an action timed `at`').toBeGreaterThanOrEqual(0);
    const slots = ev.windowWrites.map((w, i) => (i === at ? 5 : w));
    const r = await cli('replay', variant('slots-at.evidence', (t) => formatEvidence({ ...parsed(t), windowWrites: slots })));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`slots: action ${at} is timed "at"`);
    expect(parseEvidence(good.replace(/^selector: .*$/m, 'selector: pct depth=0'))).toMatchObject({ error: expect.stringContaining('a PCT depth is from 1 to 100') });
    expect(parseEvidence(good.replace(/^selector: .*$/m, 'selector: pct depth=101'))).toMatchObject({ error: expect.stringContaining('a PCT depth is from 1 to 100') });
    expect(parseEvidence(good.replace(/^selector: .*$/m, 'selector: pct depth=3'))).toMatchObject({ error: expect.stringContaining('is a random run, the file says selector pct depth=3') });
    expect(parseEvidence(good.replace(/^window-ms: .*$/m, 'window-ms: 7'))).toMatchObject({ error: expect.stringContaining('the file says window-ms 7') });
    expect(parseEvidence(good.replace(/^disabled-actions: .*$/m, 'disabled-actions: 1 1'))).toMatchObject({ error: expect.stringContaining('increasing order, each once') });
    expect(parseEvidence(good.replace(/^tool: .*$/m, 'tool: quotarace \u001b[31m'))).toMatchObject({ error: expect.stringContaining('tool: expected "quotarace <version>"') });
  });

  it('a v1 file (written before v2) is still read and checked by its trace hash; edited, it is refused and says it cannot tell file from code', async () => {
    const v1 = (t: string) =>
      t
        .replace('# quotarace evidence v2', '# quotarace evidence v1')
        .replace(/^tool: .*\n/m, '')
        .replace(/^evidence-sha256: .*\n/m, '');
    const ok = await cli('replay', variant('v1.evidence', v1));
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain('still fails');
    const all = Array.from({ length: actions }, (_, i) => i).join(' ');
    const edited = variant('v1-edited.evidence', (t) => v1(t).replace(/^disabled-actions: .*$/m, `disabled-actions: ${all}`));
    const r = await cli('replay', edited, '--strategy', 'v1.4.2', '--expect-fixed');
    expect(r.code).toBe(2);
    expect(r.err).toContain('the file was edited or the code changed since it was saved (a v1 evidence file records no evidence-sha256');
    const noTrace = await cli('replay', variant('v1-no-trace.evidence', (t) => v1(t).replace(/^trace-sha256: .*\n/m, '')));
    expect(noTrace.code).toBe(2);
    expect(noTrace.err).toContain('records no trace-sha256');
    // A v2 file must carry what v2 records.
    expect(parseEvidence(good.replace(/^evidence-sha256: .*\n/m, ''))).toMatchObject({ error: 'missing field "evidence-sha256" (a v2 evidence file has it)' });
  });
});

// ---------------------------------------------------------------------------------------
describe('merge refuses shards it cannot vouch for', () => {
  const ARGS = [RESTART, '--runs', '8', '--strategy', 'pre-fix', '--strategy', 'v1.4.2', '--workers', '1'];
  let shards: string[];

  interface Doc {
    tool: string;
    modules: Record<string, string>;
    scenarios: Array<{ file: string; range: { from: number; to: number }; strategies: string[]; tallies: Array<{ strategy: string; tally: { runs: number; quotaOk: number; quotaBits: string; moveBits: string; failing: string[]; groups: Array<{ firstRun: string; runs: number }> } }> }>;
  }
  const read = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Doc;
  /** A copy of shard i (0-based) with `edit` applied to its JSON. */
  function tampered(i: number, name: string, edit: (d: Doc) => void): string {
    const d = read(shards[i]!);
    edit(d);
    const f = join(tmp, name);
    writeFileSync(f, JSON.stringify(d));
    return f;
  }
  async function refused(files: string[]): Promise<Cli> {
    const reports = dir(`refused-${Math.random().toString(36).slice(2)}`);
    const r = await cli('merge', ...files, '--reports', reports, '--workers', '1');
    expect(r.code, r.err).toBe(2);
    expect(r.out + r.err).not.toMatch(STACK);
    expect(readdirSync(reports)).toEqual([]);
    return r;
  }

  beforeAll(async () => {
    shards = [];
    for (const i of [1, 2]) {
      const f = join(tmp, `shard-${i}.json`);
      const r = await cli('run', ...ARGS, '--shard', `${i}/2`, '--results', f, '--reports', dir('shard-reports'));
      expect(r.code, r.err).toBe(0);
      shards.push(f);
    }
  });

  it('a results file records the tool and the format version', () => {
    const d = read(shards[0]!);
    expect(readFileSync(shards[0]!, 'utf8').startsWith('{"format":"quotarace-results-v2","tool":')).toBe(true);
    expect(d.tool).toBe(TOOL);
    expect(d.modules).toEqual({});
  });

  it('untampered shards merge to the same JSON, evidence and reports as one unsharded run', async () => {
    const merged = dir('merged');
    const whole = dir('whole');
    const m = await cli('merge', ...shards, '--json', '--reports', merged, '--workers', '1');
    const w = await cli('run', ...ARGS, '--json', '--reports', whole);
    expect(m.code).toBe(w.code);
    const norm = (s: string, d: string) => s.split(d).join('<REPORTS>');
    expect(norm(m.out, merged)).toBe(norm(w.out, whole));
    const files = (d: string) => walk(d).map((f) => relative(d, f)).sort();
    expect(files(merged)).toEqual(files(whole));
    const evidence = files(whole).filter((f) => f.endsWith('.evidence'));
    expect(evidence.length).toBeGreaterThan(0);
    for (const f of evidence) expect(readFileSync(join(merged, f)).equals(readFileSync(join(whole, f))), f).toBe(true);
  });

  it('another build: a shard written by another tool version, or shards of another build than the merge', async () => {
    const other = tampered(1, 'other-build.json', (d) => (d.tool = 'quotarace 0.0.9'));
    const r = await refused([shards[0]!, other]);
    expect(r.err).toContain(`${other}: tool: written by quotarace 0.0.9, ${shards[0]} by ${TOOL} (another build)`);
    const both = [tampered(0, 'old-1.json', (d) => (d.tool = 'quotarace 0.0.9')), other];
    const b = await refused(both);
    expect(b.err).toContain(`tool: the shards were written by quotarace 0.0.9, this is ${TOOL} (another build)`);
  });

  it('an edited module: shards that ran different bytes of it, or a module changed since the shards ran', async () => {
    // A module beside the shards, recorded as run (its tally a copy of a built-in's: the check comes before any numbers are read).
    const mod = join(dir('mods'), 'my-design.ts');
    writeFileSync(mod, '// version 1\n');
    const v1 = sha256(readFileSync(mod));
    const withModule = (d: Doc, sha: string) => {
      d.modules = { [mod]: sha };
      for (const s of d.scenarios) {
        s.strategies.push(mod);
        s.tallies.push({ ...s.tallies[0]!, strategy: 'my-design' });
      }
    };
    const s1 = tampered(0, 'mod-1.json', (d) => withModule(d, v1));
    const s2edited = tampered(1, 'mod-2-edited.json', (d) => withModule(d, sha256('// version 2\n')));
    const r = await refused([s1, s2edited]);
    expect(r.err).toContain(`${s2edited}: modules: the strategy module ${mod} had sha256 ${sha256('// version 2\n').slice(0, 12)}… here, ${v1.slice(0, 12)}… in ${s1}: it was edited between the shards`);
    const s2 = tampered(1, 'mod-2.json', (d) => withModule(d, v1));
    writeFileSync(mod, '// version 2\n');
    const c = await refused([s1, s2]);
    expect(c.err).toContain(`modules: the strategy module ${mod} changed since the shards ran (sha256 ${sha256('// version 2\n').slice(0, 12)}… now, ${v1.slice(0, 12)}… in the shards)`);
    const noHash = tampered(1, 'mod-2-nohash.json', (d) => {
      withModule(d, v1);
      d.modules = {};
    });
    expect((await refused([s1, noHash])).err).toContain(`modules: no content hash for the strategy module ${mod}`);
  });

  it('a tally whose run count disagrees with its seed range, or with itself', async () => {
    const bad = tampered(1, 'runs.json', (d) => {
      const t = d.scenarios[0]!.tallies[0]!.tally;
      t.runs += 1;
      t.quotaBits += '1';
      t.moveBits += '1';
    });
    const { from, to } = read(shards[1]!).scenarios[0]!.range;
    const r = await refused([shards[0]!, bad]);
    expect(r.err).toContain(`${bad}: scenarios.0.tallies.0: pre-fix on ${RESTART} counts ${to - from + 1} runs, but its seed range [${from}, ${to}) holds ${to - from}`);
    // Counts that disagree with the per-run bits, or more failing runs grouped than were run.
    const quota = tampered(1, 'quota.json', (d) => {
      const t = d.scenarios[0]!.tallies[1]!.tally;
      t.quotaOk = t.quotaOk === 0 ? 1 : t.quotaOk - 1;
    });
    expect((await refused([shards[0]!, quota])).err).toMatch(/scenarios\.0\.tallies\.1: v1\.4\.2 on .* counts \d+ runs with a correct quota, its per-run bits \d+/);
    const groups = tampered(0, 'groups.json', (d) => (d.scenarios[0]!.tallies[0]!.tally.groups[0]!.runs += 100));
    expect((await refused([groups, shards[1]!])).err).toMatch(/scenarios\.0\.tallies\.0: pre-fix on .* groups \d+ failing runs of \d+/);
  });

  it('a run id outside the campaign, or of another explorer', async () => {
    const { from, to } = read(shards[1]!).scenarios[0]!.range;
    const failing = read(shards[0]!).scenarios[0]!.tallies[0]!.tally.failing;
    expect(failing.length).toBeGreaterThan(0);
    const outside = tampered(0, 'outside.json', (d) => (d.scenarios[0]!.tallies[0]!.tally.failing[0] = `random:${to}`));
    const r = await refused([outside, shards[1]!]);
    expect(r.err).toContain(`${outside}: scenarios.0.tallies.0: pre-fix on ${RESTART} names run random:${to}, outside the runs of this shard`);
    const other = tampered(1, 'pct.json', (d) => (d.scenarios[0]!.tallies[0]!.tally.groups[0]!.firstRun = `pct:d3:${from}`));
    const o = await refused([shards[0]!, other]);
    expect(o.err).toContain(`names run pct:d3:${from}, which is not a run of this campaign (its runs are named like random:${from})`);
  });

  it('shards run with other options name the option; a results file of the older format is refused as such', async () => {
    const other = join(tmp, 'runs-10.json');
    expect((await cli('run', RESTART, '--runs', '10', '--strategy', 'pre-fix', '--strategy', 'v1.4.2', '--workers', '1', '--shard', '2/2', '--results', other, '--reports', dir('shard-reports'))).code).toBe(0);
    const r = await refused([shards[0]!, other]);
    expect(r.err).toContain(`${other}: scenarios.0.options.runs: was run with other runs: 10, ${shards[0]} has 8`);
    const old = tampered(0, 'v1.json', (d) => ((d as unknown as { format: string }).format = 'quotarace-results-v1'));
    expect((await refused([old, shards[1]!])).err).toContain('quotarace-results-v1 was written by another version of quotarace');
  });
});
