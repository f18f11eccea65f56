import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { PctSelector, RandomSelector, ReplaySelector, type ChoiceLog, type Selector } from '../src/kernel/choice.js';
import { explore } from '../src/explore/exhaustive.js';
import { encodeChoices, formatEvidence, parseEvidence, type Evidence } from '../src/explore/evidence.js';
import { TOOL } from '../src/explore/provenance.js';
import { checkDeterminism } from '../src/explore/jobs.js';
import { runPilot } from '../src/explore/pilot.js';
import { replayRun, shrink, type RunSpec } from '../src/explore/shrink.js';
import { Timeline, type TimelineEntry } from '../src/report/timeline.js';
import { loadScenario } from '../src/scenario/load.js';
import type { Scenario } from '../src/scenario/model.js';
import { failed, failureKind } from '../src/sim/outcome.js';
import { runOnce } from '../src/sim/run.js';
import { defineStrategy, type Strategy, type View, type Write } from '../src/strategies/api.js';
import { BUILTIN_STRATEGIES, builtinStrategy } from '../src/strategies/builtin.js';
import { ANN_MIGRATING_NAME_PREFIX } from '../src/strategies/harvester-quota.js';

/**
 * Every run of the exhaustive search goes through runOnce with its ExhaustiveSelector;
 * this pass-through wrapper lets a test see each run's branch choices (the selector's
 * `points`) without changing the explorer. Other tests are unaffected (hook unset).
 */
const hooks = vi.hoisted(() => ({ onRun: undefined as undefined | ((selector: unknown, completed: boolean) => void) }));
vi.mock('../src/sim/run.js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../src/sim/run.js')>();
  return {
    ...mod,
    runOnce: (...args: Parameters<typeof mod.runOnce>) => {
      let completed = false;
      try {
        const o = mod.runOnce(...args);
        completed = true;
        return o;
      } finally {
        hooks.onRun?.(args[3]?.selector, completed);
      }
    },
  };
});

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const scenarioPath = (f: string) => join(ROOT, 'scenarios', f);
const load = (f: string): Scenario => loadScenario(scenarioPath(f), (n) => builtinStrategy(n) !== undefined);
const preFix = builtinStrategy('pre-fix')!;
const v142 = builtinStrategy('v1.4.2')!;

/** A stack frame line, as Node prints them ("    at fn (file:1:2)"). */
const STACK_FRAME = /^\s+at\s/m;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'quotarace-explore-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface Result {
  code: number;
  out: string;
  err: string;
}

async function cli(...argv: string[]): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

// ---------------------------------------------------------------------------------------
describe('PCT vs random on a rare ordering (8-edit-during-migration, pre-fix: a migration left stuck)', () => {
  // The failure: the user's edit is accepted in the milliseconds before Harvester's raise,
  // Rancher's agent writes the new base over the raise, and the annotation left behind stops
  // Harvester from raising again: the target pod is refused for good. Rare (~2% of runs).
  it('PCT needs fewer runs in total to reach the first stuck migration than random does', () => {
    const scenario = load('8-edit-during-migration.yaml');
    const pilot = runPilot(scenario, preFix, 25);
    expect(pilot.actors.length).toBeGreaterThan(1);
    expect(pilot.orderChoices).toBeGreaterThan(0);
    const CAP = 3000;
    const bases = Array.from({ length: 12 }, (_, b) => 1 + b * 100_000);
    /** Runs up to and including the first with a VM left unmoved; CAP if none within CAP. */
    const runsToFailure = (make: (seed: number) => Selector, base: number): number => {
      for (let i = 0; i < CAP; i++) {
        const seed = base + i;
        const o = runOnce(scenario, preFix, seed, { selector: make(seed), window: 25, windowWrites: pilot.windowWrites });
        if (o.moved < o.mustMove) return i + 1;
      }
      return CAP;
    };
    const random = bases.map((b) => runsToFailure((s) => new RandomSelector(s), b));
    const pct = bases.map((b) => runsToFailure((s) => new PctSelector(s, 3, pilot.actors, pilot.orderChoices), b));
    const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
    console.log(`runs to the first stuck migration over 12 bases (cap ${CAP}): random ${JSON.stringify(random)}, PCT ${JSON.stringify(pct)}`);
    console.log(`random total ${sum(random)} median ${median(random)}; PCT total ${sum(pct)} median ${median(pct)}`);
    expect(random.some((n) => n < CAP)).toBe(true);
    expect(pct.some((n) => n < CAP)).toBe(true);
    expect(sum(pct)).toBeLessThan(sum(random));
  });
});

// ---------------------------------------------------------------------------------------
describe('exhaustive exploration (7-tiny-agent-restart, window 0)', () => {
  const scenario = load('7-tiny-agent-restart.yaml');

  it('pre-fix: the whole space is covered and it contains failures; every run is a distinct interleaving', () => {
    const pilot = runPilot(scenario, preFix, 0);
    const completed: string[] = [];
    let all = 0;
    hooks.onRun = (sel, done) => {
      const points = (sel as { points?: Array<{ v: number }> }).points;
      if (!points) return;
      all++;
      if (done) completed.push(points.map((p) => p.v).join('.'));
    };
    let r;
    try {
      r = explore(scenario, preFix, pilot, 0, 20_000, scenario.seed);
    } finally {
      hooks.onRun = undefined;
    }
    console.log(`exhaustive pre-fix: complete=${r.complete} runs=${r.runs} pruned=${r.pruned} failures=${r.failures.length}`);
    expect(r.complete).toBe(true);
    expect(r.runs + r.pruned).toBeLessThanOrEqual(20_000);
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures.length).toBeLessThan(r.runs);
    for (const f of r.failures) expect(failed(f.outcome)).toBe(true);
    // Each executed run (pruned or not) went through the wrapper once.
    expect(all).toBe(r.runs + r.pruned);
    expect(completed).toHaveLength(r.runs);
    // Distinct: no two completed runs took the same branch choices.
    expect(new Set(completed).size).toBe(completed.length);
    const failurePrefixes = r.failures.map((f) => f.prefix.join('.'));
    expect(new Set(failurePrefixes).size).toBe(failurePrefixes.length);
    for (const p of failurePrefixes) expect(completed).toContain(p);
  });

  it('v1.4.2: the whole space is covered and no interleaving fails', () => {
    const pilot = runPilot(scenario, v142, 0);
    const r = explore(scenario, v142, pilot, 0, 20_000, scenario.seed);
    console.log(`exhaustive v1.4.2: complete=${r.complete} runs=${r.runs} pruned=${r.pruned} failures=${r.failures.length}`);
    expect(r.complete).toBe(true);
    expect(r.runs).toBeGreaterThan(1);
    expect(r.outcomes).toHaveLength(r.runs);
    expect(r.failures).toHaveLength(0);
    expect(r.outcomes.filter(failed)).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------
describe('evidence files and quotarace replay', () => {
  const SCENARIO3 = scenarioPath('3-agent-restart-during-migration.yaml');
  let reports: string;
  let evidenceFile: string;
  let evidenceText: string;

  beforeAll(async () => {
    reports = join(tmp, 'reports');
    const r = await cli('run', SCENARIO3, '--runs', '20', '--strategy', 'pre-fix', '--reports', reports, '--workers', '1');
    expect(r.code).toBe(0);
    const dir = join(reports, 'agent-restart-during-migration', 'pre-fix');
    const files = readdirSync(dir).filter((f) => f.endsWith('.evidence')).sort();
    expect(files.length).toBeGreaterThan(0);
    evidenceFile = join(dir, files[0]!);
    evidenceText = readFileSync(evidenceFile, 'utf8');
  });

  it('replay of a saved file reproduces the identical trace and still fails', async () => {
    const ev = parseEvidence(evidenceText);
    if ('error' in ev) throw new Error(`evidence does not parse: ${ev.error} (line ${ev.line})`);
    expect(ev.strategy).toBe('pre-fix');
    expect(ev.determinism.startsWith('ok')).toBe(true);
    expect(ev.traceSha256).toMatch(/^[0-9a-f]{64}$/);

    const r = await cli('replay', evidenceFile);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('trace: identical to the one recorded');
    expect(r.out).toContain('still fails');

    // The same replay by hand: the timeline's sha256 is the one the evidence recorded.
    const scenario = load('3-agent-restart-during-migration.yaml');
    expect(scenario.hash).toBe(ev.scenarioSha256);
    const timeline = new Timeline();
    const { outcome } = replayRun(
      { scenario, strategy: preFix, seed: ev.seed, window: ev.windowMs, windowWrites: ev.windowWrites, disabled: new Set(ev.disabledActions), values: ev.choices, horizonMs: ev.horizonMs },
      { strict: false },
      timeline,
    );
    expect(sha256(timeline.format())).toBe(ev.traceSha256);
    expect(failed(outcome)).toBe(true);
    // The failure line is the replayed run's signature (kind plus stuck VMs).
    expect(ev.failure.startsWith(failureKind(outcome).split(';')[0]!)).toBe(true);
  });

  it('a fixed bug shows as fixed: the same interleaving replayed against v1.4.2 exits 1 with "no longer fails"', async () => {
    const r = await cli('replay', evidenceFile, '--strategy', 'v1.4.2');
    expect(r.code).toBe(1);
    expect(r.out).toContain('no longer fails');
    expect(r.out).not.toContain('still fails');
    // Naming v1.4.2 in the file instead is an edit, refused (the recorded run is pre-fix's).
    const f = join(tmp, 'as-v142.evidence');
    expect(evidenceText).toMatch(/^strategy: pre-fix$/m);
    writeFileSync(f, evidenceText.replace(/^strategy: pre-fix$/m, 'strategy: v1.4.2'));
    const edited = await cli('replay', f);
    expect(edited.code).toBe(2);
    expect(edited.err).toContain('the file was edited');
  });

  it('a scenario changed since the evidence was saved is refused (exit 2, no stack trace)', async () => {
    const copy = join(tmp, 'scenario-copy.yaml');
    copyFileSync(SCENARIO3, copy);
    const f = join(tmp, 'moved.evidence');
    expect(evidenceText).toMatch(/^scenario-file: .*$/m);
    writeFileSync(f, evidenceText.replace(/^scenario-file: .*$/m, `scenario-file: ${copy}`));
    // Unchanged copy: same content hash, so the replay is accepted.
    const ok = await cli('replay', f);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('still fails');

    appendFileSync(copy, '# a comment added after the evidence was saved\n');
    const r = await cli('replay', f);
    expect(r.code).toBe(2);
    const text = r.out + '\n' + r.err;
    expect(r.err).toContain('has changed');
    expect(r.err).toContain('scenario-sha256');
    expect(r.err).toContain(`${f}:4:`);
    expect(text).not.toMatch(STACK_FRAME);
    expect(r.out).not.toContain('still fails');
  });

  it('a malformed evidence file is refused with its line number (exit 2)', async () => {
    const badHeader = join(tmp, 'bad-header.evidence');
    writeFileSync(badHeader, evidenceText.replace('# quotarace evidence v2', '# quotarace evidence v0'));
    const h = await cli('replay', badHeader);
    expect(h.code).toBe(2);
    expect(h.err).toContain(`${badHeader}:1:1:`);
    expect(h.err).toContain('not a quotarace evidence file');
    expect(h.out + h.err).not.toMatch(STACK_FRAME);

    const lines = evidenceText.split('\n');
    const choicesLine = lines.findIndex((l) => l.startsWith('choices: ')) + 1;
    expect(lines[choicesLine]!.startsWith('  ')).toBe(true);
    lines[choicesLine] = '  0 zz ' + lines[choicesLine]!.trimStart();
    const badToken = join(tmp, 'bad-token.evidence');
    writeFileSync(badToken, lines.join('\n'));
    const t = await cli('replay', badToken);
    expect(t.code).toBe(2);
    expect(t.err).toContain('bad choice token "zz"');
    const m = new RegExp(`${badToken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):1:`).exec(t.err);
    expect(m).not.toBeNull();
    // The token is on the first line of the choice list, right below "choices: N".
    expect(Number(m![1])).toBe(choicesLine + 1);
    expect(t.out + t.err).not.toMatch(STACK_FRAME);
  });
});

// ---------------------------------------------------------------------------------------
describe('shrinking the #7178 incident', () => {
  it('gives a shorter run that fails the same way, replays strictly and is deterministic', () => {
    const scenario = load('1-incident-7178.yaml');
    const pilot = runPilot(scenario, preFix, 25);
    let log: ChoiceLog | undefined;
    const original = runOnce(scenario, preFix, 1, { selector: new RandomSelector(1), window: 25, windowWrites: pilot.windowWrites, inspect: (w) => (log = w.choices.log) });
    expect(failed(original)).toBe(true);
    const kind = failureKind(original);
    expect(log!.values.length).toBe(original.choiceCount);

    const result = shrink({ scenario, strategy: preFix, seed: 1, window: 25, windowWrites: pilot.windowWrites, disabled: new Set(), values: log!.values });
    console.log(`shrink: steps ${original.steps} → ${result.outcome.steps}, choices ${log!.values.length} → ${result.spec.values.length}, ${result.candidates} candidates (failure "${kind}")`);
    expect(failed(result.outcome)).toBe(true);
    expect(failureKind(result.outcome)).toBe(kind);
    expect(result.outcome.steps).toBeLessThan(original.steps);
    expect(result.sizes).toHaveLength(result.spec.values.length);

    const strict = runOnce(scenario, preFix, 1, {
      selector: new ReplaySelector({ values: result.spec.values, sizes: result.sizes }, true),
      window: result.spec.window,
      windowWrites: result.spec.windowWrites,
      disabled: result.spec.disabled,
      horizonMs: result.spec.horizonMs,
    });
    expect(failed(strict)).toBe(true);
    expect(failureKind(strict)).toBe(kind);
    expect(strict.steps).toBe(result.outcome.steps);
    expect(strict.fingerprint).toBe(result.outcome.fingerprint);

    const det = checkDeterminism(result.spec, result.sizes);
    expect(det.detail).toMatch(/^ok/);
    expect(det.deterministic).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
describe('worker threads', () => {
  it('--workers 1 and --workers 2 print the same JSON and write byte-identical evidence', () => {
    const bin = join(ROOT, 'bin', 'quotarace.js');
    expect(existsSync(join(ROOT, 'dist', 'explore', 'worker.js'))).toBe(true);
    const tmpA = mkdtempSync(join(tmp, 'workers1-'));
    const tmpB = mkdtempSync(join(tmp, 'workers2-'));
    const run = (reports: string, workers: string) =>
      spawnSync(process.execPath, [bin, 'run', 'scenarios/1-incident-7178.yaml', '--runs', '40', '--json', '--reports', reports, '--workers', workers], {
        cwd: ROOT,
        encoding: 'utf8',
      });
    const a = run(tmpA, '1');
    const b = run(tmpB, '2');
    expect(a.stderr).toBe('');
    expect(b.stderr).toBe('');
    expect(a.status).toBe(0);
    expect(b.status).toBe(0);
    expect(a.stdout).toContain(tmpA);
    const norm = (s: string, dir: string) => s.split(dir).join('<reports>');
    expect(norm(b.stdout, tmpB)).toBe(norm(a.stdout, tmpA));
    const doc = JSON.parse(a.stdout) as { scenarios: Array<{ strategies: Array<{ name: string; runs: number; evidence: Array<{ path: string }> }> }> };
    expect(doc.scenarios[0]!.strategies.length).toBeGreaterThanOrEqual(2);
    for (const st of doc.scenarios[0]!.strategies) expect(st.runs).toBe(40);

    const fa = filesUnder(tmpA).map((f) => relative(tmpA, f));
    const fb = filesUnder(tmpB).map((f) => relative(tmpB, f));
    expect(fa.length).toBeGreaterThan(0);
    expect(fb).toEqual(fa);
    // Every evidence path the JSON lists exists.
    for (const s of doc.scenarios[0]!.strategies) for (const e of s.evidence) expect(fa).toContain(relative(tmpA, e.path));
    // Evidence byte for byte; reports name their own folder (the replay command), so compare them with it normalised.
    for (const f of fa) {
      if (f.endsWith('.html')) expect(norm(readFileSync(join(tmpB, f), 'utf8'), tmpB), f).toBe(norm(readFileSync(join(tmpA, f), 'utf8'), tmpA));
      else expect(readFileSync(join(tmpB, f)).equals(readFileSync(join(tmpA, f))), f).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------
describe('window actions are placed between API writes (8-edit-during-migration, pre-fix)', () => {
  type Where = 'before' | 'between' | 'after' | 'unknown';
  interface Placed {
    where: Where;
    gapMs: number;
  }
  const isVmimCreate = (e: TimelineEntry) => e.kind === 'write' && e.actor === 'operator' && e.old === undefined && e.cur?.kind === 'VirtualMachineInstanceMigration';
  const isRaise = (e: TimelineEntry) =>
    e.kind === 'write' &&
    e.actor === 'harvester/vm-migration-controller' &&
    e.cur?.kind === 'ResourceQuota' &&
    e.old !== undefined &&
    Object.keys(e.cur.metadata.annotations).some((k) => k.startsWith(ANN_MIGRATING_NAME_PREFIX) && e.old!.metadata.annotations[k] === undefined);
  const isEdit = (e: TimelineEntry) => e.kind === 'write' && e.actor === 'user' && e.cur?.kind === 'Namespace';

  function classify(entries: readonly TimelineEntry[]): Placed {
    const a = entries.findIndex(isVmimCreate);
    const b = entries.findIndex(isRaise);
    const u = entries.findIndex(isEdit);
    if (a < 0 || b < 0 || u < 0) return { where: 'unknown', gapMs: 0 };
    const gapMs = entries[b]!.t - entries[a]!.t;
    if (u < a) return { where: 'before', gapMs };
    if (u < b) return { where: 'between', gapMs };
    return { where: 'after', gapMs };
  }

  it('the default exploration lands the edit between the VMIM and Harvester\'s raise; uniform timing rarely does', () => {
    const scenario = load('8-edit-during-migration.yaml');
    const pilot = runPilot(scenario, preFix, 25);
    expect(pilot.windowWrites.some((s) => s > 0)).toBe(true);
    const tally = (windowWrites: readonly number[] | undefined) => {
      const count: Record<Where, number> = { before: 0, between: 0, after: 0, unknown: 0 };
      const gaps: number[] = [];
      for (let seed = 1; seed <= 300; seed++) {
        const timeline = new Timeline();
        runOnce(scenario, preFix, seed, { selector: new RandomSelector(seed), window: 25, ...(windowWrites ? { windowWrites } : {}), trace: timeline });
        const p = classify(timeline.entries);
        count[p.where]++;
        if (p.where === 'between') gaps.push(p.gapMs);
      }
      return { count, gaps };
    };
    const slotted = tally(pilot.windowWrites);
    const uniform = tally(undefined);
    console.log(`edit accepted between VMIM creation and Harvester's raise: windowWrites ${slotted.count.between}/300, uniform ${uniform.count.between}/300`);
    console.log(`windowWrites: ${JSON.stringify(slotted.count)}, gaps ms ${JSON.stringify(slotted.gaps)}; uniform: ${JSON.stringify(uniform.count)}`);
    expect(slotted.count.unknown).toBe(0);
    expect(slotted.count.between).toBeGreaterThan(0);
    expect(slotted.count.before).toBeGreaterThan(0);
    // The gap is a sliver of the 60 s window.
    for (const g of slotted.gaps) expect(g).toBeLessThan(1000);
    expect(slotted.count.between).toBeGreaterThan(uniform.count.between);
  });
});

// ---------------------------------------------------------------------------------------
describe('evidence format', () => {
  const base: Evidence = {
    scenario: 'tiny',
    scenarioFile: 'scenarios/x.yaml',
    scenarioSha256: 'a'.repeat(64),
    strategy: 'pre-fix',
    seed: 42,
    selector: 'pct depth=3',
    windowMs: 25,
    windowWrites: [0, 17, 3],
    disabledActions: [1, 2],
    horizonMs: 123_456,
    failure: 'quota web/limits.cpu; stuck web/web-0',
    alsoFailing: '3 of 40 runs fail this way, the first at seed 42',
    original: 'steps 900, choices 700, non-default 300',
    shrunk: 'steps 100, choices 80, non-default 2 (30 candidates tried)',
    determinism: 'ok (two strict replays printed the same trace)',
    traceSha256: 'b'.repeat(64),
    choices: [],
    explanation: ['t=0.000s scenario: migrate web/web-0 at 0s', '  (indented line)', 'end: web spec.hard limits.cpu is 2; the user asked for 3'],
  };
  const longLog: number[] = [];
  for (let i = 0; i < 120; i++) longLog.push((i * 7) % 5);
  for (let i = 0; i < 500; i++) longLog.push(0);
  longLog.push(3, 3, 0, 0, 0, 1);
  for (let i = 0; i < 41; i++) longLog.push(0);

  it('round-trips every field, including a long choice log with runs of zeros', () => {
    const e: Evidence = { ...base, choices: longLog };
    const text = formatEvidence(e);
    expect(text).toContain(' 0*500');
    expect(text).toContain(' 0*41');
    const p = parseEvidence(text);
    // Every field as given, and the tool this build writes (the format's own additions aside).
    expect(p).toMatchObject({ ...e, tool: TOOL, version: 2 });
    if ('error' in p) return;
    const { version: _v, lineOf: _l, integrity, ...fields } = p;
    expect(fields).toEqual({ ...e, tool: TOOL });
    expect(integrity!.actual).toBe(integrity!.recorded);
    // And with empty lists.
    const empty: Evidence = { ...base, windowWrites: [], disabledActions: [], choices: [], explanation: [] };
    expect(parseEvidence(formatEvidence(empty))).toMatchObject({ ...empty, tool: TOOL });
  });

  it('encodes runs of three or more as v*count and wraps at 20 tokens', () => {
    expect(encodeChoices([0, 0, 0, 0, 5, 1, 1, 2, 2, 2])).toEqual(['  0*4 5 1 1 2*3']);
    const lines = encodeChoices(Array.from({ length: 45 }, (_, i) => i % 2));
    expect(lines.map((l) => l.trim().split(' ').length)).toEqual([20, 20, 5]);
  });

  function withBadToken(): { text: string; tokenLine: number; choicesLine: number } {
    const lines = formatEvidence({ ...base, choices: longLog }).split('\n');
    const choicesLine = lines.findIndex((l) => l.startsWith('choices: ')) + 1;
    // The third line of the choice list (file line choicesLine + 3).
    const idx = choicesLine + 2;
    expect(lines[idx]!.startsWith('  ')).toBe(true);
    lines[idx] = lines[idx]!.replace(/^ {2}\S+/, '  4x');
    return { text: lines.join('\n'), tokenLine: idx + 1, choicesLine };
  }

  it('refuses a bad choice token, naming it and the line that holds it', () => {
    const { text, tokenLine, choicesLine } = withBadToken();
    const p = parseEvidence(text);
    expect('error' in p).toBe(true);
    if (!('error' in p)) return;
    expect(p.error).toContain('bad choice token "4x"');
    // The third line of the list, not the "choices:" header.
    expect(tokenLine).toBe(choicesLine + 3);
    expect(p.line).toBe(tokenLine);
  });

  it('refuses other malformations with their line', () => {
    const text = formatEvidence({ ...base, choices: [1, 2, 3] });
    expect(parseEvidence(text.replace('# quotarace evidence v2', 'quotarace evidence'))).toMatchObject({ line: 1 });
    expect(parseEvidence(text.replace('choices: 3', 'choices: 4'))).toMatchObject({ line: 20, error: expect.stringContaining('header says 4') });
    expect(parseEvidence(text.replace('seed: 42', 'seed: -1'))).toMatchObject({ line: 6 });
    expect(parseEvidence(text.replace('slots: 0 17 3', 'slots: 0 x'))).toMatchObject({ line: 9 });
    expect(parseEvidence(text.replace(/^strategy: .*\n/m, ''))).toMatchObject({ error: 'missing field "strategy"' });
  });
});

// ---------------------------------------------------------------------------------------
describe('invariants are checked after every step', () => {
  it('agent restart during migration, pre-fix seed 1: quota-below-user-value, reported at the first step past its grace', () => {
    const scenario = load('3-agent-restart-during-migration.yaml');
    const steps: Array<{ step: number; now: number }> = [];
    const o = runOnce(scenario, preFix, 1, {
      inspect: (w) => {
        const inner = w.kernel.afterStep;
        w.kernel.afterStep = () => {
          inner?.();
          steps.push({ step: w.kernel.steps, now: w.now });
        };
      },
    });
    const v = o.violation;
    expect(v).toBeDefined();
    expect(v!.invariant).toBe('quota-below-user-value');
    expect(v!.step).toBeGreaterThan(0);
    expect(v!.at).toBeGreaterThanOrEqual(v!.since);
    expect(v!.step).toBeLessThanOrEqual(o.steps);
    // Reported at the first step whose time is at least 10 s (the grace) after it began,
    // not at the end of the run.
    const first = steps.find((s) => s.now - v!.since >= 10_000);
    expect(first).toBeDefined();
    expect(v!.step).toBe(first!.step);
    expect(v!.at).toBe(first!.now);
    expect(v!.at).toBeLessThan(o.endMs);
    expect(failureKind(o)).toContain('invariant quota-below-user-value');
  });

  it('the control scenario violates no invariant under any strategy (30 seeds)', () => {
    const scenario = load('6-control-no-race.yaml');
    for (const strategy of BUILTIN_STRATEGIES) {
      const pilot = runPilot(scenario, strategy, 25);
      for (let seed = 1; seed <= 30; seed++) {
        const o = runOnce(scenario, strategy, seed, { selector: new RandomSelector(seed), window: 25, windowWrites: pilot.windowWrites });
        expect(o.violation, `${strategy.name} seed ${seed}`).toBeUndefined();
        expect(failed(o), `${strategy.name} seed ${seed}`).toBe(false);
      }
    }
  });
});
