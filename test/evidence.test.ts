import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { RandomSelector, ReplaySelector, type ChoiceLog } from '../src/kernel/choice.js';
import { encodeChoices, formatEvidence, parseEvidence, type Evidence } from '../src/explore/evidence.js';
import { TOOL } from '../src/explore/provenance.js';
import { checkDeterminism } from '../src/explore/determinism.js';
import { runPilot } from '../src/explore/pilot.js';
import { replayRun, shrink } from '../src/explore/shrink.js';
import { Timeline } from '../src/sim/timeline.js';
import { loadScenario } from '../src/scenario/load.js';
import type { Scenario } from '../src/scenario/model.js';
import { failed, failureKind } from '../src/sim/outcome.js';
import { runOnce } from '../src/sim/run.js';
import { BUILTIN_STRATEGIES, builtinStrategy } from '../src/strategies/builtin.js';

/**
 * Evidence files, replay, shrinking and the invariant checks, in process (the fast tier);
 * moved whole from test/explore.test.ts, whose worker-thread test starts the built CLI.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const scenarioPath = (f: string) => join(ROOT, 'scenarios', f);
const load = (f: string): Scenario => loadScenario(scenarioPath(f), (n) => builtinStrategy(n) !== undefined);
const preFix = builtinStrategy('pre-fix')!;

/** A stack frame line, as Node prints them ("    at fn (file:1:2)"). */
const STACK_FRAME = /^\s+at\s/m;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'quotarace-evidence-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

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

  it('replayed against another scenario (--scenario), the evidence is refused as belonging to its own, not as changed', async () => {
    const f = join(tmp, 'other.evidence');
    writeFileSync(f, evidenceText);
    const r = await cli('replay', f, '--scenario', 'scenarios/6-control-no-race.yaml');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^.*other\.evidence:2:1: scenario: scenarios\/6-control-no-race\.yaml is the scenario "control-no-race", not "[^"]+", whose run this evidence records: replay it against that scenario's file$/);
    expect(r.err).not.toContain('has changed');
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

  it('cuts the horizon of a stuck run no earlier than the refusals that keep its VMs in place (quotarace replay shows them)', async () => {
    // Seed 8 of the incident fails "stuck" only, and its quota ends right: what keeps its VMs on
    // node-1 is the target pods ResourceQuota refused. A cut matched on the end state alone ended
    // at 25 s, before any refusal: "stuck" with 0 refusals to show why.
    const reports = join(tmp, 'reports-stuck');
    const r = await cli('run', scenarioPath('1-incident-7178.yaml'), '--strategy', 'pre-fix', '--runs', '8', '--reports', reports, '--workers', '1');
    expect(r.code).toBe(0);
    const file = join(reports, 'incident-7178', 'pre-fix', 'random-seed-8.evidence');
    const ev = parseEvidence(readFileSync(file, 'utf8'));
    if ('error' in ev) throw new Error(`evidence does not parse: ${ev.error} (line ${ev.line})`);
    expect(ev.failure).toMatch(/^stuck default\/vm-/);
    expect(ev.horizonMs).toBeDefined();
    const rep = await cli('replay', file);
    expect(rep.out).toContain('stopped at the horizon');
    expect(rep.out).toContain('still fails: stuck');
    const refused = Number(/target pods rejected by quota (\d+)/.exec(rep.out)?.[1]);
    expect(refused).toBeGreaterThan(0);
    // Every VM left behind has its refusal in the shrunk run's explanation.
    const stuck = /not moved: (.*)/.exec(rep.out)![1]!.split(', ');
    expect(stuck.length).toBeGreaterThan(0);
    for (const vm of stuck) expect(rep.out).toContain(`${vm.split('/')[1]}'s migration target pod was refused`);
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

// ---------------------------------------------------------------------------------------
// Moved from test/strategies.test.ts.
describe('replaying a failure against another strategy', () => {
  it('judges the other strategy on the whole scenario: v1.4.2 survives the incident interleaving that broke pre-fix', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'quotarace-rs-'));
    const r = await cli('run', 'scenarios/1-incident-7178.yaml', '--runs', '10', '--strategy', 'pre-fix', '--reports', reports, '--workers', '1');
    expect(r.code, r.err).toBe(0);
    const evidence = join(reports, 'incident-7178', 'pre-fix', 'random-seed-1.evidence');
    // The shrunk pre-fix run stops early; v1.4.2 needs the scenario's horizon to finish its migrations.
    expect(readFileSync(evidence, 'utf8')).toMatch(/^horizon-ms: (\d+)$/m);
    const fixed = await cli('replay', evidence, '--strategy', 'v1.4.2', '--expect-fixed');
    expect(fixed.out).toContain('no longer fails');
    expect(fixed.code).toBe(0);
    const still = await cli('replay', evidence, '--expect-fixed');
    expect(still.out).toContain('still fails');
    expect(still.code).toBe(1);
  });
});
