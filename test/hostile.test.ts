import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

/**
 * Hostile input and faulty strategies (issue 11): every failure ends in bounded time, with
 * a named error and the documented exit code; nothing else is lost. The watchdog is short
 * here (1 s) and the memory limit small (64 MB) to keep the suite fast.
 */
const FIX = resolve('test/fixtures/strategies');
const SANDBOX = ['--strategy-timeout', '1', '--strategy-memory', '64'];
const STACK = /\n\s+at .+:\d+:\d+\)?/;

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

const tmp = (p: string): string => mkdtempSync(join(tmpdir(), `quotarace-hostile-${p}-`));

/** A scenario file and the --allow-module its strategies: modules need (they sit in its strategies/ folder). */
function withModules(file: string): string[] {
  return [file, '--allow-module', join(dirname(file), 'strategies')];
}

/** A copy of scenario 3 (no expectations) beside copies of every fixture, running `strategies`. */
function scenarioWith(strategies: string[], extra = ''): string {
  const dir = tmp('s');
  mkdirSync(join(dir, 'strategies'));
  for (const f of readdirSync(FIX)) copyFileSync(join(FIX, f), join(dir, 'strategies', f));
  const text = readFileSync('scenarios/3-agent-restart-during-migration.yaml', 'utf8')
    .replace(/\nexpect:[\s\S]*$/, '\n')
    .concat(`strategies: [${strategies.join(', ')}]\n${extra}`);
  const file = join(dir, 'scenario.yaml');
  writeFileSync(file, text);
  return file;
}

describe('faulty strategies: each ends with ERROR naming it, exit 1, and the others still report', () => {
  const runtime: Array<[string, RegExp]> = [
    ['loop-reconcile', /ERROR strategy loop-reconcile \(scenario agent-restart-during-migration, run random:1[^)]*, step \d+\): made no progress for 1 s .*watchdog/],
    ['loop-webhook', /ERROR strategy loop-webhook \(scenario agent-restart-during-migration, run random:1[^)]*\): made no progress for 1 s/],
    ['loop-module', /ERROR strategy \S*loop-module\.ts \(scenario agent-restart-during-migration\): while loading .*made no progress for 1 s/],
    ['never-settles', /ERROR strategy \S*never-settles\.ts \(scenario agent-restart-during-migration\): while loading .*made no progress/],
    ['alloc', /ERROR strategy alloc \(scenario agent-restart-during-migration, run random:1[^)]*\): ran out of memory: .*64 MB heap limit/],
    ['exits', /ERROR strategy exits \(scenario agent-restart-during-migration, run random:1[^)]*\): ended its worker thread \(exit code 0\): process\.exit\(\)/],
    ['throws-object', /ERROR strategy throws-object \(scenario agent-restart-during-migration, run random:1, step \d+\): reconciler r threw on key \S+: \[object Object\]/],
    ['writes-pod', /ERROR strategy writes-pod \(scenario agent-restart-during-migration, run random:1, step \d+\): reconciler r wrote an invalid object .*may not write a Pod/],
    ['mutates', /ERROR strategy mutates \(scenario agent-restart-during-migration, run random:1, step \d+\): mutated ResourceQuota/],
    ['random', /ERROR strategy random \(scenario agent-restart-during-migration, run random:1, step \d+\): is not deterministic/],
    ['counter', /ERROR strategy counter \(scenario agent-restart-during-migration, run random:1, step \d+\): is not deterministic/],
  ];

  it('the whole matrix in one run: bounded, every fault named, v1.4.2 still reported', async () => {
    const file = scenarioWith(['v1.4.2', ...runtime.map(([f]) => `./strategies/${f}.ts`)]);
    const r = await cli('run', ...withModules(file), '--runs', '3', '--json', '--reports', tmp('r'), '--workers', '1', ...SANDBOX);
    expect(r.code, r.err).toBe(1);
    expect(r.err).not.toMatch(STACK);
    for (const [name, re] of runtime) expect(r.err, name).toMatch(re);
    const doc = JSON.parse(r.out) as { scenarios: Array<{ strategies: Array<{ name: string; runs: number; error?: string }> }> };
    const v142 = doc.scenarios[0]!.strategies.find((s) => s.name === 'v1.4.2')!;
    expect(v142.error).toBeUndefined();
    expect(v142.runs).toBe(3);
  });

  it('a nondeterministic difference quotes both trace lines whole (no 100-character cut)', async () => {
    const r = await cli('run', ...withModules(scenarioWith(['./strategies/random.ts'])), '--runs', '2', '--reports', tmp('r'), '--workers', '1', ...SANDBOX);
    expect(r.code).toBe(1);
    const fresh = /\n {2}(?:fresh|first): +(.*)\n {2}(?:after others|second): +(.*)\n/.exec(r.err);
    expect(fresh, r.err).not.toBeNull();
    expect(fresh![1]).not.toBe(fresh![2]);
    // Whole lines: both end with the resourceVersion, past 100 characters.
    expect(fresh![1]!.length).toBeGreaterThan(100);
    expect(fresh![1]).toMatch(/example\.com\/coin=[\d.e-]+ \(rv \d+\)$/);
  });

  it('trace of a looping strategy ends by the watchdog with exit 1', async () => {
    const dir = scenarioWith([]);
    const r = await cli('trace', 'scenarios/3-agent-restart-during-migration.yaml', '--strategy', join(dir, '..', 'strategies', 'loop-reconcile.ts'), '--seed', '1', ...SANDBOX);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/ERROR strategy \S*loop-reconcile\.ts \(scenario agent-restart-during-migration, trace of run random:1, step \d+\): made no progress/);
  });

  it('bad modules are bad input (exit 2), before any run: Proxy and getter exports, a built-in name, a traversal name, a duplicate', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['./strategies/proxy-export.ts'], /proxy-export\.ts: the default export is not a strategy \(reading it threw: proxy says no\)/],
      [['./strategies/getter-export.ts'], /getter-export\.ts: the default export is not a strategy \(reading it threw: getter says no\)/],
      [['./strategies/named-builtin.ts'], /named-builtin\.ts: the strategy is named "v1\.4\.2", the name of a built-in strategy/],
      [['./strategies/traversal.ts'], /traversal\.ts: strategy name "\.\.\/\.\.\/\.\.\/outside" contains a "\/"/],
      [['v1.4.2', 'v1.4.2'], /"v1\.4\.2" is listed twice/],
    ];
    for (const [list, re] of cases) {
      const reports = tmp('r');
      const r = await cli('run', ...withModules(scenarioWith(list)), '--runs', '1', '--reports', reports, '--workers', '1', ...SANDBOX);
      expect(r.code, `${list.join(',')}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err).not.toMatch(STACK);
      expect(readdirSync(reports)).toEqual([]);
    }
  });

  it('a deterministic user strategy prints byte-identical JSON for --workers 1 and 2', async () => {
    const run = (w: string) => cli('run', 'scenarios/9-user-strategy.yaml', '--allow-module', 'scenarios/strategies', '--runs', '12', '--json', '--no-evidence', '--reports', tmp('r'), '--workers', w);
    const [a, b] = [await run('1'), await run('2')];
    expect(a.code, a.err).toBe(b.code);
    expect(a.out.replace(/"path":"[^"]*"/g, '')).toBe(b.out.replace(/"path":"[^"]*"/g, ''));
  });
});

describe('isolation (issue 22): a module changes no one else\'s results', () => {
  type Doc = { scenarios: Array<{ strategies: Array<{ name: string; runs: number; error?: string }> }> };
  const rows = (out: string): Doc['scenarios'][0]['strategies'] => (JSON.parse(out) as Doc).scenarios[0]!.strategies;
  const hostile = ['./strategies/patches-globals.ts', './strategies/pollutes-prototype.ts', './strategies/forges-messages.ts'];
  // Modules a scenario names load only when allowed: its fixtures' folder and the example's.
  const allow = (file: string): string[] => ['--allow-module', join(dirname(file), 'strategies'), '--allow-module', resolve('scenarios/strategies')];

  it('built-in rows are identical with and without hostile modules beside them (--workers 2); each module loses only its own row, named; the index is written', async () => {
    let f: string;
    const alone = await cli('run', (f = scenarioWith(['v1.4.2', 'pre-fix'])), ...allow(f), '--runs', '6', '--json', '--no-evidence', '--reports', tmp('r'), '--workers', '2', ...SANDBOX);
    expect(alone.code, alone.err).toBe(0);
    const reports = tmp('r');
    const beside = await cli('run', (f = scenarioWith(['v1.4.2', ...hostile, 'pre-fix'])), ...allow(f), '--runs', '6', '--json', '--no-evidence', '--reports', reports, '--workers', '2', ...SANDBOX);
    expect(beside.code, beside.err).toBe(1);
    expect(beside.err).not.toMatch(STACK);
    const builtins = rows(beside.out).filter((r) => r.name === 'v1.4.2' || r.name === 'pre-fix');
    expect(JSON.stringify(builtins)).toBe(JSON.stringify(rows(alone.out)));
    expect(beside.err).toMatch(/ERROR strategy \S*patches-globals\.ts \(scenario [^)]*\): while loading \S+: changed the JavaScript built-ins its worker shares with the simulator \(Math\.min replaced\)/);
    expect(beside.err).toMatch(/ERROR strategy \S*pollutes-prototype\.ts \(scenario [^)]*\): while loading \S+: changed the JavaScript built-ins .*\(Object\.prototype\.selector added, Object\.prototype\.trace added/);
    expect(beside.err).toMatch(/ERROR strategy \S*forges-messages\.ts \(scenario [^)]*\): while loading \S+: sent a message the pool did not ask for/);
    expect(rows(beside.out).filter((r) => r.error).length).toBe(3);
    expect(existsSync(join(reports, 'index.html'))).toBe(true);
  });

  it('output is byte-identical for --workers 1, 2 and 3 with modules present (a good one and hostile ones)', async () => {
    const file = scenarioWith(['v1.4.2', resolve('scenarios/strategies/exact-delta.ts'), ...hostile]);
    const run = (w: string) => cli('run', file, ...allow(file), '--runs', '60', '--json', '--no-evidence', '--reports', tmp('r'), '--workers', w, ...SANDBOX);
    const outs = [await run('1'), await run('2'), await run('3')];
    const norm = (o: string) => o.replace(/"path":"[^"]*"/g, '');
    for (const o of outs) expect(o.code, o.err).toBe(1);
    expect(norm(outs[1]!.out)).toBe(norm(outs[0]!.out));
    expect(norm(outs[2]!.out)).toBe(norm(outs[0]!.out));
    expect(rows(outs[0]!.out).find((r) => r.name === 'exact-delta')!.runs).toBe(60);
  });

  it('a module that forges the heartbeat is stopped by --strategy-timeout (the wall-time limit), the others report', async () => {
    let f: string;
    const r = await cli('run', (f = scenarioWith(['v1.4.2', './strategies/forges-heartbeat.ts'])), ...allow(f), '--runs', '2', '--json', '--no-evidence', '--reports', tmp('r'), '--workers', '2', '--strategy-timeout', '0.2');
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/ERROR strategy forges-heartbeat \(scenario [^)]*\): ran past its job's wall-time limit of [\d.]+ s \(0\.2 s for each of its \d+ runs and twice that to load the module\), whatever progress it reported/);
    expect(r.err).not.toMatch(/found no heartbeat/);
    expect(rows(r.out).find((x) => x.name === 'v1.4.2')!.runs).toBe(2);
  });

  it('a module stopped near its heap limit: one line, no stack trace, the others keep their results', async () => {
    let f: string;
    const reports = tmp('r');
    const r = await cli('run', (f = scenarioWith(['pre-fix', './strategies/near-heap-limit.ts'])), ...allow(f), '--runs', '2', '--json', '--no-evidence', '--reports', reports, '--workers', '2', '--strategy-timeout', '0.5', '--strategy-memory', '32');
    expect(r.code, r.err).toBe(1);
    expect(r.err).not.toMatch(STACK);
    expect(r.err).toMatch(/ERROR strategy near-heap-limit \(scenario [^)]*\): (made no progress|ran out of memory|ran past)[^\n]*\n/);
    expect(rows(r.out).find((x) => x.name === 'pre-fix')!.runs).toBe(2);
    expect(existsSync(join(reports, 'index.html'))).toBe(true);
  });

  it('check loads the module in the sandbox: a module that loops is stopped, exit 1', async () => {
    const before = process.env.QUOTARACE_STRATEGY_TIMEOUT;
    process.env.QUOTARACE_STRATEGY_TIMEOUT = '0.5';
    try {
      const r = await cli('check', join(FIX, 'loop-module.ts'));
      expect(r.code, r.err).toBe(1);
      expect(r.err).toMatch(/ERROR strategy \S*loop-module\.ts \(check\): made no progress for 0\.5 s/);
    } finally {
      if (before === undefined) delete process.env.QUOTARACE_STRATEGY_TIMEOUT;
      else process.env.QUOTARACE_STRATEGY_TIMEOUT = before;
    }
  });
});

describe('every boundary validated: exit 2, one clear line, no stack trace', () => {
  it('flags out of range', async () => {
    const cases: string[][] = [
      ['--seed', String(2 ** 53)],
      ['--seed', '1e20'],
      ['--runs', '0'],
      ['--runs', '2000000000'],
      ['--depth', '1000000000', '--explore', 'pct'],
      ['--max-runs', '1e12', '--explore', 'exhaustive'],
      ['--window', '-1'],
      ['--workers', '100000'],
      ['--strategy-timeout', '0'],
      ['--strategy-memory', '1'],
    ];
    for (const extra of cases) {
      const r = await cli('run', 'scenarios/2-normal-migration.yaml', '--runs', '1', ...extra);
      if (extra[1] !== '0' || extra[0] !== '--runs') expect(r.code, extra.join(' ') + r.err).toBe(2);
      else expect(r.code).toBe(2);
      expect(r.err).toMatch(/^quotarace: --[\w-]+ expects|out of range/);
      expect(r.err).not.toMatch(STACK);
    }
  });

  it('a scenario seed at 2^53 is refused with its place; reading /dev/zero or a folder is refused', async () => {
    const dir = tmp('seed');
    const f = join(dir, 'big.yaml');
    writeFileSync(f, readFileSync('scenarios/2-normal-migration.yaml', 'utf8').replace(/^seed:.*$/m, '').concat(`\nseed: ${2 ** 53}\n`));
    const r = await cli('run', f, '--runs', '1');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/big\.yaml:\d+:\d+: seed: expected a seed from 0 to 2\^48/);
    if (existsSync('/dev/zero')) {
      const z = await cli('run', '/dev/zero');
      expect(z.code).toBe(2);
      expect(z.err).toContain('/dev/zero: is not a regular file');
    }
  });

  it('a YAML alias bomb is bad input with its place', async () => {
    const f = join(tmp('bomb'), 'bomb.yaml');
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    writeFileSync(f, lines.join('\n') + '\nname: bomb\n');
    const r = await cli('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bomb\.yaml:\d+:\d+: invalid YAML: .*alias/i);
  });

  it('a union error says which forms are accepted; a list in a message is capped', async () => {
    const dir = tmp('union');
    const f = join(dir, 'u.yaml');
    writeFileSync(f, readFileSync('scenarios/2-normal-migration.yaml', 'utf8').concat('\nlatencies:\n  apiCall: fast\n'));
    const r = await cli('run', f);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/u\.yaml:\d+:\d+: latencies\.apiCall: expected one of: \[duration, duration\] or \{ min: duration, max: duration \}/);
  });

  it('tampered evidence: each refused with its line; CRLF accepted', async () => {
    const reports = tmp('ev');
    const r = await cli('run', 'scenarios/1-incident-7178.yaml', '--runs', '2', '--strategy', 'pre-fix', '--reports', reports, '--workers', '1');
    expect(r.code, r.err).toBe(0);
    const file = join(reports, 'incident-7178', 'pre-fix', 'random-seed-1.evidence');
    const good = readFileSync(file, 'utf8');
    const crlf = join(reports, 'crlf.evidence');
    writeFileSync(crlf, good.replace(/\n/g, '\r\n'));
    const ok = await cli('replay', crlf, '--scenario', 'scenarios/1-incident-7178.yaml');
    expect(ok.code, ok.err).toBe(0);
    const tamper: Array<[(t: string) => string, RegExp]> = [
      [(t) => t.replace(/^choices: \d+\n( {2}.*\n)+/m, 'choices: 1000000000000\n  0*1000000000000\n'), /:\d+:1: bad choice token|too many choices/],
      [(t) => t.replace(/^seed: .*$/m, 'seed: 100000000000000000000'), /:\d+:1: seed: expected a whole number from 0 to 2\^48/],
      [(t) => t.replace(/^selector: .*$/m, 'selector: bogus'), /:\d+:1: selector: expected random/],
      [(t) => t.replace(/^horizon-ms: .*$/m, 'horizon-ms: 99999999999999'), /:\d+:1: horizon-ms: expected/],
      [(t) => t.replace(/^(seed: .*)$/m, '$1\n$1'), /:\d+:1: seed: given twice/],
      [(t) => t.replace(/^run: .*$/m, 'run: random:2'), /:\d+:1: run: random:2 has seed 2/],
    ];
    for (const [edit, re] of tamper) {
      const f = join(reports, 't.evidence');
      writeFileSync(f, edit(good));
      const t = await cli('replay', f, '--scenario', 'scenarios/1-incident-7178.yaml');
      expect(t.code, t.err).toBe(2);
      expect(t.err).toMatch(re);
      expect(t.err).not.toMatch(STACK);
    }
  });
});

describe('results files and merge', () => {
  const shardRun = async (extra: string[] = []) => {
    const dir = tmp('m');
    const files: string[] = [];
    for (const i of [1, 2]) {
      const f = join(dir, `r${i}.json`);
      const r = await cli('run', 'scenarios/1-incident-7178.yaml', '--runs', '4', '--shard', `${i}/2`, '--results', f, '--reports', join(dir, 'sr'), '--workers', '1', ...extra);
      expect(r.code, r.err).toBe(0);
      files.push(f);
    }
    return { dir, files };
  };

  it('wrong shapes, negative or string tallies, huge shard counts: exit 2 naming the field', async () => {
    const { dir, files } = await shardRun(['--strategy', 'v1.4.2']);
    const doc = JSON.parse(readFileSync(files[0]!, 'utf8')) as Record<string, unknown>;
    const edits: Array<[unknown, RegExp]> = [
      [null, /expected a quotarace results file/],
      [{ format: 'quotarace-results-v2' }, /tool: Required/],
      [{ ...doc, shard: { index: 1, count: 1e9 } }, /shard\.count/],
      [JSON.parse(JSON.stringify(doc).replace(/"quotaOk":\d+/, '"quotaOk":-3')), /quotaOk: expected a count >= 0/],
      [JSON.parse(JSON.stringify(doc).replace(/"quotaOk":\d+/, '"quotaOk":"4"')), /quotaOk: Expected number, received string/],
    ];
    for (const [e, re] of edits) {
      const f = join(dir, 'bad.json');
      writeFileSync(f, JSON.stringify(e));
      const r = await cli('merge', f, files[1]!, '--reports', join(dir, 'mr'));
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err).not.toMatch(STACK);
    }
  });

  it('merge applies exactly the unsharded run\'s gate: --strategy leaves the other expectations out', async () => {
    const { dir, files } = await shardRun(['--strategy', 'v1.4.2']);
    const whole = await cli('run', 'scenarios/1-incident-7178.yaml', '--runs', '4', '--strategy', 'v1.4.2', '--reports', join(dir, 'w'), '--workers', '1', '--json');
    const merged = await cli('merge', ...files, '--reports', join(dir, 'mr'), '--json');
    // v1.4.2 meets its expectations; pre-fix's, for a strategy not run, are left out of both, not failed.
    expect(whole.code, whole.err).toBe(0);
    expect(merged.code, merged.err).toBe(0);
    type Gate = { scenarios: Array<{ expectations: Array<{ strategy: string; metric: string; pass: boolean }> }> };
    const gate = (out: string) => (JSON.parse(out) as Gate).scenarios[0]!.expectations.map((e) => [e.strategy, e.metric, e.pass]);
    expect(gate(whole.out)).toEqual([
      ['v1.4.2', 'quotaCorrect', true],
      ['v1.4.2', 'migrationsSucceeded', true],
    ]);
    expect(gate(merged.out)).toEqual(gate(whole.out));
  });

  it('a foreign JUnit file or index.html is refused before any simulation', async () => {
    const reports = tmp('foreign');
    writeFileSync(join(reports, 'index.html'), '<html>mine</html>');
    const r = await cli('run', 'scenarios/1-incident-7178.yaml', '--runs', '2', '--reports', reports, '--workers', '1');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/index\.html exists and was not written by quotarace.*before any simulation/);
    expect(readdirSync(reports)).toEqual(['index.html']);
    const junit = join(reports, 'junit.xml');
    writeFileSync(junit, '<testsuites name="theirs"/>');
    const j = await cli('run', 'scenarios/1-incident-7178.yaml', '--runs', '2', '--reports', join(reports, 'r'), '--junit', junit, '--workers', '1');
    expect(j.code).toBe(2);
    expect(existsSync(join(reports, 'r', 'incident-7178'))).toBe(false);
  });

  it('a results file naming a module outside the working tree is refused without --allow-module', async () => {
    const { dir, files } = await shardRun(['--strategy', 'v1.4.2']);
    const outside = join(tmp('mod'), 'evil.ts');
    writeFileSync(outside, 'throw new Error("ran")');
    // Named as `run --shard` would have named it: in `strategies`, with its content hash in `modules`.
    const modules = `"modules":${JSON.stringify({ [outside]: createHash('sha256').update(readFileSync(outside)).digest('hex') })}`;
    const evil = (file: string) => readFileSync(file, 'utf8').replace(/"strategies":\["v1\.4\.2"\]/, `"strategies":[${JSON.stringify(outside)}]`).replace('"modules":{}', modules);
    const f = join(dir, 'evil.json');
    writeFileSync(f, evil(files[0]!));
    const g = join(dir, 'evil2.json');
    writeFileSync(g, evil(files[1]!));
    const r = await cli('merge', f, g, '--reports', join(dir, 'mr'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`names the strategy module ${outside}, outside the working tree`);
    expect(r.err).toContain('--allow-module');
  });
});

describe('the process exit code', () => {
  it('bin/quotarace.js: bad input exits 2 with one line, no stack trace', () => {
    const r = spawnSync(process.execPath, ['bin/quotarace.js', 'run', 'nowhere.yaml'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).not.toMatch(STACK);
  });
});

/** A small seeded generator (mulberry32): the fuzz cases are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzz: mutated scenarios, flags, evidence and results files', () => {
  it('never a stack trace, a hang or a V8 abort; exit 2 with file:line:col for scenario errors', async () => {
    const r = rng(11);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const base = readFileSync('scenarios/2-normal-migration.yaml', 'utf8').split('\n');
    const junk = ['', '{', ']', '*x', '&a', '- -', 'cpu: -1', 'memory: 1e400', 'name: ../x', 'seed: 9007199254740993', 'runs: 1e12', 'horizon: 99999h', '  at: -5s', 'strategies: [a/b.ts]', 'latencies: {apiCall: 1}', '\t', '"\\u0000"', 'expect: {v1.4.2: {quotaCorrect: 2}}'];
    const dir = tmp('fuzz');
    for (let i = 0; i < 60; i++) {
      const lines = [...base];
      for (let k = 0; k < 1 + Math.floor(r() * 3); k++) {
        const at = Math.floor(r() * lines.length);
        const op = r();
        if (op < 0.3) lines.splice(at, 1);
        else if (op < 0.6) lines.splice(at, 0, pick(junk));
        else if (op < 0.8) lines[at] = (lines[at] ?? '').replace(/\d+/, String(pick([0, -1, 2 ** 60, 1e21, 3.5])));
        else lines[at] = (lines[at] ?? '').slice(0, Math.floor(r() * 20));
      }
      const f = join(dir, `f${i}.yaml`);
      writeFileSync(f, lines.join(pick(['\n', '\r\n'])));
      const flags = pick([[], ['--seed', pick(['-1', '1e300', '281474976710657', 'x'])], ['--runs', pick(['0', '1.5', 'NaN'])], ['--window', '99999999999']]);
      const res = await cli('run', f, '--runs', '1', '--no-evidence', '--reports', join(dir, 'r'), '--workers', '1', ...flags);
      expect([0, 1, 2], res.err).toContain(res.code);
      expect(res.err, `case ${i}`).not.toMatch(STACK);
      if (res.code === 2 && res.err.startsWith(f)) expect(res.err, `case ${i}`).toMatch(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(:\\d+:\\d+)?: `));
    }
    // Evidence and results files: random bytes and truncations.
    for (let i = 0; i < 40; i++) {
      const bytes = Array.from({ length: Math.floor(r() * 400) }, () => pick(['0', '*', '9', ' ', '\n', ':', '#', 'seed', '{', '"', '-', 'e', '1000000000000']));
      const ev = join(dir, `e${i}.evidence`);
      writeFileSync(ev, `# quotarace evidence v1\n${bytes.join('')}`);
      const a = await cli('replay', ev);
      expect(a.code).toBe(2);
      expect(a.err).not.toMatch(STACK);
      const rf = join(dir, `r${i}.json`);
      writeFileSync(rf, pick(['null', '[]', '{"format":"quotarace-results-v1"', `{"format":"quotarace-results-v1","shard":{"index":1,"count":${pick(['1e9', '0', '-1', '"1"'])}},"scenarios":[]}`, bytes.join('')]));
      const m = await cli('merge', rf, '--reports', join(dir, 'mr'));
      expect(m.code).toBe(2);
      expect(m.err).not.toMatch(STACK);
    }
  });
});
