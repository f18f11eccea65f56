import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { BUILTIN_STRATEGIES } from '../src/strategies/builtin.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCENARIOS = join(ROOT, 'scenarios');
const NORMAL = join(SCENARIOS, '2-normal-migration.yaml');
const CONTROL = join(SCENARIOS, '6-control-no-race.yaml');

/** A stack frame line, as Node prints them ("    at fn (file:1:2)"). */
const STACK_FRAME = /^\s+at\s/m;

interface Result {
  code: number;
  out: string;
  err: string;
}

/** Evidence from these runs goes to a temporary folder, never into the repository's reports/. */
const REPORTS = mkdtempSync(join(tmpdir(), 'quotarace-cli-reports-'));

async function cli(...argv: string[]): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const args = argv[0] === 'run' ? [...argv, '--reports', REPORTS, '--workers', '1'] : argv;
  const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface StrategyJson {
  name: string;
  runs: number;
  quotaCorrect: number;
  migrationsSucceeded: number;
  settled: number;
  targetPodsRejectedByQuota: number;
  conflicts: number;
  editsRefused: number;
  agentRestarts: number;
  failingRuns: string[];
}
interface RunJson {
  scenarios: { name: string; file: string; runs: number; seed: number; strategies: StrategyJson[] }[];
}

let tmp: string;

/** A small valid scenario; `name` must be a DNS label. */
function goodScenario(name: string): string {
  return [
    `name: ${name}`,
    'cluster:',
    '  nodes:',
    '    - { name: node-1, cpu: 8, memory: 32Gi }',
    '    - { name: node-2, cpu: 8, memory: 32Gi }',
    '  namespaces:',
    '    - name: web',
    '      quota: { limitsCpu: "20", limitsMemory: 40Gi }',
    '      vms:',
    '        - { name: vm-1, node: node-1, cpu: 2, memory: 4Gi }',
    'actions:',
    '  - migrate: web/vm-1',
    '    at: 5s',
    'runs: 3',
    'horizon: 10m',
    '',
  ].join('\n');
}

/** Line 13 col 5 holds the typo "drian". */
const BAD_SCENARIO = goodScenario('bad-one').replace('  - migrate: web/vm-1\n    at: 5s', '  - migrate: web/vm-1\n    drian: node-1\n    at: 5s');

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'quotarace-cli-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function writeTmp(name: string, text: string): string {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
}

describe('quotarace run --json', () => {
  it('prints one JSON document with a summary per strategy', async () => {
    const r = await cli('run', NORMAL, '--runs', '5', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as RunJson;
    expect(Object.keys(doc)).toEqual(['scenarios']);
    expect(doc.scenarios).toHaveLength(1);
    const s = doc.scenarios[0]!;
    expect(s).toMatchObject({ name: 'normal-migration', runs: 5, seed: 1 });
    expect(s.file).toBe(NORMAL);
    // The scenario lists no strategies: every built-in runs.
    expect(s.strategies.map((x) => x.name)).toEqual(BUILTIN_STRATEGIES.map((b) => b.name));
    // A migration with no race: every strategy keeps the quota right; all but skip-autoscaling
    // (which never raises the quota, so the VM that needs headroom stays) move the VM and settle.
    // Nothing restarts an agent or edits the quota here.
    for (const st of s.strategies) {
      expect(st.runs).toBe(5);
      expect(st.quotaCorrect, st.name).toBe(1);
      expect([st.editsRefused, st.agentRestarts], st.name).toEqual([0, 0]);
      const moves = st.name !== 'skip-autoscaling';
      expect([st.migrationsSucceeded, st.settled], st.name).toEqual(moves ? [1, 1] : [0, 0]);
      expect(st.failingRuns, st.name).toEqual(moves ? [] : ['random:1', 'random:2', 'random:3', 'random:4', 'random:5']);
    }
    // skip-autoscaling's target pods are refused by the quota it did not raise.
    expect(s.strategies.find((x) => x.name === 'skip-autoscaling')!.targetPodsRejectedByQuota).toBeGreaterThan(0);
  });

  it('--seed sets the first seed', async () => {
    const r = await cli('run', NORMAL, '--runs', '3', '--seed', '40', '--json');
    expect(r.code).toBe(0);
    const s = (JSON.parse(r.out) as RunJson).scenarios[0]!;
    expect(s.seed).toBe(40);
    for (const st of s.strategies) for (const run of st.failingRuns) expect(Number(run.split(':').at(-1))).toBeGreaterThanOrEqual(40);
  });

  it('is deterministic: the same run twice gives identical JSON', async () => {
    const a = await cli('run', NORMAL, '--runs', '4', '--seed', '7', '--json');
    const b = await cli('run', NORMAL, '--runs', '4', '--seed', '7', '--json');
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(b.out).toBe(a.out);
  });
});

describe('quotarace run (tables)', () => {
  it('prints a table with a header and one row per strategy', async () => {
    const r = await cli('run', NORMAL, '--runs', '3');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(() => JSON.parse(r.out)).toThrow();
    const lines = r.out.split('\n').filter((l) => l.trim() !== '');
    expect(lines[0]).toContain('normal-migration');
    expect(lines[0]).toContain('3 random runs per strategy from seed 1');
    const header = lines.findIndex((l) => l.startsWith('strategy'));
    expect(header).toBeGreaterThan(-1);
    expect(lines[header]).toContain('quota correct');
    expect(lines[header]).toContain('migrations ok');
    expect(lines[header + 1]).toMatch(/^-+(\s+-+)+$/);
    const rows = lines.slice(header + 2, header + 2 + BUILTIN_STRATEGIES.length);
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(BUILTIN_STRATEGIES.map((b) => b.name));
    expect(rows[0]).toMatch(/^pre-fix\s+3\s+\d+\.\d%\s+\d+\.\d%/);
    expect(rows[1]).toMatch(/^v1\.4\.2\s+3\s+\d+\.\d%\s+\d+\.\d%/);
  });

  it('--strategy restricts the run to that strategy', async () => {
    const table = await cli('run', NORMAL, '--runs', '3', '--strategy', 'v1.4.2');
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^v1\.4\.2\s/m);
    expect(table.out).not.toMatch(/^pre-fix\s/m);

    const json = await cli('run', NORMAL, '--runs', '3', '--strategy', 'v1.4.2', '--json');
    expect(json.code).toBe(0);
    const s = (JSON.parse(json.out) as RunJson).scenarios[0]!;
    expect(s.strategies.map((x) => x.name)).toEqual(['v1.4.2']);
  });

  it('--strategy may be given twice', async () => {
    const r = await cli('run', NORMAL, '--runs', '3', '--strategy', 'v1.4.2', '--strategy', 'pre-fix', '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as RunJson).scenarios[0]!.strategies.map((x) => x.name)).toEqual(['v1.4.2', 'pre-fix']);
  });

  it('an unknown --strategy exits 2 naming it, without a stack trace and without running', async () => {
    const r = await cli('run', NORMAL, '--runs', '3', '--strategy', 'v9.9.9');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('unknown strategy "v9.9.9"');
    expect(r.err).toContain('pre-fix');
    expect(r.err).toContain('v1.4.2');
    expect(r.err).not.toMatch(STACK_FRAME);
  });

  it('run <folder> runs every .yaml in it, in name order', async () => {
    const dir = join(tmp, 'folder');
    mkdirSync(dir);
    writeFileSync(join(dir, 'b.yaml'), goodScenario('second'));
    writeFileSync(join(dir, 'a.yaml'), goodScenario('first'));
    writeFileSync(join(dir, 'notes.txt'), 'not a scenario: {{{');
    const r = await cli('run', dir, '--json', '--strategy', 'v1.4.2');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as RunJson;
    expect(doc.scenarios.map((s) => s.name)).toEqual(['first', 'second']);
    expect(doc.scenarios.map((s) => s.file)).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yaml')]);
    // No --runs: the scenario's own runs (3).
    for (const s of doc.scenarios) expect(s.runs).toBe(3);
  });

  it('run scenarios/ runs every bundled scenario', async () => {
    const r = await cli('run', SCENARIOS, '--runs', '3', '--json', '--allow-module', join(SCENARIOS, 'strategies'));
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as RunJson;
    expect(doc.scenarios.map((s) => s.name)).toEqual([
      'incident-7178',
      'normal-migration',
      'agent-restart-during-migration',
      'long-vm-name',
      'quota-near-saturation',
      'control-no-race',
      'tiny-agent-restart',
      'edit-during-migration',
      'user-strategy',
      'spread-agents-carrier-drained',
      'spread-agents-carrier-elsewhere',
      'agent-rollout-during-migration',
      'sync-only-changed-objects',
      'project-full-agent-restart',
    ]);
    for (const s of doc.scenarios) {
      expect(s.runs).toBe(3);
      expect(s.strategies.length).toBeGreaterThan(0);
    }
  });

  it('several files: tables one after the other', async () => {
    const r = await cli('run', NORMAL, CONTROL, '--runs', '3');
    expect(r.code).toBe(0);
    expect(r.out.indexOf('normal-migration')).toBeGreaterThanOrEqual(0);
    expect(r.out.indexOf('control-no-race')).toBeGreaterThan(r.out.indexOf('normal-migration'));
  });
});

describe('bad input', () => {
  it('a bad scenario file exits 2 with file:line:col: field: message', async () => {
    const f = writeTmp('bad.yaml', BAD_SCENARIO);
    const r = await cli('run', f, '--runs', '3');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(`${f}:13:5: actions[0].drian: unknown key "drian"`);
    expect(r.err).not.toMatch(STACK_FRAME);
  });

  it('every bad file is reported, and nothing runs if any is bad', async () => {
    const bad = writeTmp('bad2.yaml', BAD_SCENARIO);
    const alsoBad = writeTmp('bad3.yaml', goodScenario('Upper'));
    const r = await cli('run', NORMAL, bad, alsoBad, '--runs', '3');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${reEscape(bad)}:13:5: actions\\[0\\]\\.drian: `));
    expect(lines[1]).toMatch(new RegExp(`^${reEscape(alsoBad)}:1:7: name: expected a scenario name`));
  });

  it('invalid YAML exits 2 with the line', async () => {
    const f = writeTmp('syntax.yaml', 'name: x\ncluster: {\n');
    const r = await cli('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^${reEscape(f)}:\\d+:\\d+: invalid YAML: `, 'm'));
  });

  it('a missing file exits 2 naming it', async () => {
    const f = join(tmp, 'does-not-exist.yaml');
    const r = await cli('run', f);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(f);
    expect(r.err).not.toMatch(STACK_FRAME);
  });

  it('a folder with no .yaml exits 2', async () => {
    const dir = join(tmp, 'empty');
    mkdirSync(dir);
    const r = await cli('run', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no .yaml');
  });

  it.each([
    [['run', NORMAL, '--runs', '0'], '--runs'],
    [['run', NORMAL, '--runs', '-3'], '--runs'],
    [['run', NORMAL, '--runs', '1.5'], '--runs'],
    [['run', NORMAL, '--runs', 'many'], '--runs'],
    [['run', NORMAL, '--seed', '-1', '--runs', '3'], '--seed'],
    [['run', NORMAL, '--runs', '3', '--bogus'], 'bogus'],
    [['run', NORMAL, '--runs', '3', '--jsn'], 'jsn'],
    [['run'], 'quotarace run: expected a scenario file or folder\nSee: quotarace run --help'],
    [['replay'], 'quotarace replay: expected an evidence file'],
    [[], 'command'],
    [['frobnicate'], 'quotarace: unknown command "frobnicate" (commands: run, trace, replay, merge, table, check, k8s-job, hunt)'],
  ])('%j exits 2 mentioning %s', async (argv, mention) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(mention);
    expect(r.err).not.toMatch(STACK_FRAME);
  });
});

describe('quotarace trace', () => {
  const argv = ['trace', NORMAL, '--strategy', 'pre-fix', '--seed', '3'];

  it('prints one run as a timeline and a verdict, the same every time', async () => {
    const a = await cli(...argv);
    const b = await cli(...argv);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(a.err).toBe('');
    expect(b.out).toBe(a.out);
    expect(a.out).toMatch(/quota (CORRECT|WRONG)/);
    expect(a.out).toContain('scenario normal-migration');
    expect(a.out).toContain('strategy pre-fix  run random:3  seed 3');
    // Simulated-time stamps: "   10.000s  actor ..."
    const stamps = a.out.split('\n').filter((l) => /^\s*\d+\.\d{3}s\s{2}\S/.test(l));
    expect(stamps.length).toBeGreaterThan(2);
    // The migration action is at 10s.
    expect(a.out).toMatch(/^\s*10\.000s\s/m);
    expect(a.out).toMatch(/migrations \d+\/\d+ moved/);
  });

  it('another seed or strategy gives another run', async () => {
    const a = await cli(...argv);
    const other = await cli('trace', NORMAL, '--strategy', 'v1.4.2', '--seed', '3');
    expect(other.code).toBe(0);
    expect(other.out).toContain('strategy v1.4.2  run random:3  seed 3');
    expect(other.out).not.toBe(a.out);
  });

  it('an unknown strategy exits 2 naming it', async () => {
    const r = await cli('trace', NORMAL, '--strategy', 'nope', '--seed', '1');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('unknown strategy "nope"');
    expect(r.err).not.toMatch(STACK_FRAME);
  });

  it('--seed is required and must be an integer >= 0', async () => {
    for (const extra of [[], ['--seed', '-1'], ['--seed', '1.5']]) {
      const r = await cli('trace', NORMAL, '--strategy', 'pre-fix', ...extra);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.err).toContain('seed');
    }
  });

  it('a bad or missing scenario file exits 2', async () => {
    const bad = writeTmp('trace-bad.yaml', BAD_SCENARIO);
    const r = await cli('trace', bad, '--strategy', 'pre-fix', '--seed', '1');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:13:5: actions[0].drian:`);
    const missing = await cli('trace', join(tmp, 'nope.yaml'), '--strategy', 'pre-fix', '--seed', '1');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('nope.yaml');
    expect(missing.err).not.toMatch(STACK_FRAME);
  });
});

describe('the built binary', () => {
  const BIN = join(ROOT, 'bin', 'quotarace.js');

  beforeAll(() => {
    // `npm test` builds first; build here too when only vitest is run on a fresh clone.
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
      const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
      expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    }
  });

  const bin = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args, ...(args[0] === 'run' ? ['--reports', REPORTS] : [])], { cwd: ROOT, encoding: 'utf8' });

  it('run --json exits 0 and prints parseable JSON', () => {
    const p = bin('run', 'scenarios/6-control-no-race.yaml', '--runs', '3', '--json');
    expect(p.stderr).toBe('');
    expect(p.status).toBe(0);
    const doc = JSON.parse(p.stdout) as RunJson;
    expect(doc.scenarios).toHaveLength(1);
    expect(doc.scenarios[0]!.name).toBe('control-no-race');
    // The control scenario: nothing races, every strategy scores 100%.
    for (const st of doc.scenarios[0]!.strategies) {
      expect(st.runs).toBe(3);
      expect(st.quotaCorrect).toBe(1);
      expect(st.migrationsSucceeded).toBe(1);
    }
  });

  it('a bad file exits 2 with the problem and no stack trace', () => {
    const f = writeTmp('bin-bad.yaml', BAD_SCENARIO);
    const p = bin('run', f, '--runs', '3');
    expect(p.status).toBe(2);
    expect(p.stdout).toBe('');
    expect(p.stderr).toContain(`${f}:13:5: actions[0].drian: unknown key "drian"`);
    expect(p.stderr).not.toMatch(STACK_FRAME);
  });

  it('an unknown flag exits 2 with no stack trace', () => {
    const p = bin('run', 'scenarios/6-control-no-race.yaml', '--nope');
    expect(p.status).toBe(2);
    expect(p.stderr).toContain('nope');
    expect(p.stderr).not.toMatch(STACK_FRAME);
  });
});

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
