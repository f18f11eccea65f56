import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { loadNamedBy } from '../src/cli/plans.js';
import { checkOutputs, OutputError, writeFileAtomic } from '../src/report/files.js';
import { firstWriteInto, LOCK_FILE, lockReports } from '../src/cli/reports-lock.js';
import { excerpt, formatProblems, InputError, MAX_PROBLEMS, type InputProblem } from '../src/scenario/errors.js';
import { INPUT_LIMITS, loadScenario, parseScenario, SCENARIO_LIMITS } from '../src/scenario/load.js';
import { allowDataModule, ModuleNotAllowed } from '../src/strategies/trust.js';

/**
 * Issue 22, items 5-8: inputs bounded before they are built, output paths that cannot be
 * written, the reports folder's lock and partial marker, modules named by data.
 */
const tmp = (p: string): string => mkdtempSync(join(tmpdir(), `quotarace-inputs-${p}-`));
const known = (n: string): boolean => ['v1.4.2', 'pre-fix'].includes(n);
const BASE = readFileSync('scenarios/2-normal-migration.yaml', 'utf8').replace(/\nactions:[\s\S]*$/, '\n');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function refusal(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('a scenario is bounded before it is built', () => {
  it('a 150,000-action file is refused from its size, before it is read', () => {
    const f = join(tmp('big'), 'big.yaml');
    const action = '  - editQuota: { namespace: web, quota: { limitsCpu: "6500m", limitsMemory: 14Gi } }\n    at: 10s\n';
    writeFileSync(f, BASE + 'actions:\n' + action.repeat(150_000));
    const e = refusal(() => loadScenario(f, known));
    expect(e.problems).toHaveLength(1);
    expect(e.message).toMatch(/big\.yaml: is [\d,]+ bytes; a scenario is at most 1,048,576 bytes \(refused before reading it\)/);
  });

  it('past the value count: refused by the lexer pass, at the value past the limit', () => {
    const per = '  - { drain: node-1, at: 1s }\n'; // 4 values a line (the map, a key's value... counted as lexed)
    const text = BASE + 'actions:\n' + per.repeat(Math.ceil(INPUT_LIMITS.nodes / 3));
    expect(text.length).toBeLessThan(INPUT_LIMITS.bytes);
    const e = refusal(() => parseScenario(text, 'many.yaml', known));
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]!.message).toContain(`more than ${INPUT_LIMITS.nodes.toLocaleString('en-US')} YAML values`);
    expect(e.problems[0]!.line).toBeGreaterThan(1000);
  });

  it('past the alias count, and a value past its length: refused, with the place', () => {
    const aliases = `${BASE}description: &d x\nactions:\n${'  - { drain: *d, at: 1s }\n'.repeat(INPUT_LIMITS.aliases + 1)}`;
    const a = refusal(() => parseScenario(aliases, 'aliases.yaml', known));
    expect(a.message).toMatch(/^aliases\.yaml:\d+:\d+: more than 1000 aliases/);
    const long = `${BASE}description: "${'x'.repeat(INPUT_LIMITS.valueChars + 1)}"\n`;
    expect(refusal(() => parseScenario(long, 'long.yaml', known)).message).toMatch(/^long\.yaml:\d+:14: a value of 16,387 characters; at most 16,384/);
  });

  it('a scenario at the largest size its limits allow still loads', () => {
    // Every count at its limit and every name at 63 characters: the byte and value caps must leave room.
    const long = (p: string, i: number): string => `${p}-${i}-`.padEnd(63, 'x');
    const nodes = Array.from({ length: SCENARIO_LIMITS.nodes }, (_, i) => `    - { name: ${long('node', i)}, cpu: 512, memory: 4096Gi }`);
    const perNs = SCENARIO_LIMITS.vms / SCENARIO_LIMITS.namespaces;
    const namespaces = Array.from({ length: SCENARIO_LIMITS.namespaces }, (_, n) => [
      `    - name: ${long('ns', n)}`,
      '      quota: { pods: "1000", requestsCpu: "4000", requestsMemory: 8000Gi, limitsCpu: "4000", limitsMemory: 8000Gi }',
      '      vms:',
      ...Array.from({ length: perNs }, (_, j) => {
        const v = n * perNs + j;
        return `        - { name: ${long('vm', v)}, node: ${long('node', v % SCENARIO_LIMITS.nodes)}, cpu: 1, memory: 1Gi, evictionStrategy: LiveMigrate }`;
      }),
    ]).flat();
    const actions = Array.from({ length: SCENARIO_LIMITS.actions }, (_, a) => `  - { editQuota: { namespace: ${long('ns', a % SCENARIO_LIMITS.namespaces)}, quota: { limitsCpu: "3000", limitsMemory: 7000Gi } }, between: [1s, 2m] }`);
    const text = ['name: largest', 'cluster:', '  nodes:', ...nodes, '  namespaces:', ...namespaces, 'actions:', ...actions, ''].join('\n');
    expect(text.length).toBeGreaterThan(250_000);
    const s = parseScenario(text, 'largest.yaml', known);
    expect(s.nodes).toHaveLength(SCENARIO_LIMITS.nodes);
    expect(s.namespaces).toHaveLength(SCENARIO_LIMITS.namespaces);
    expect(s.namespaces.reduce((n, ns) => n + ns.vms.length, 0)).toBe(SCENARIO_LIMITS.vms);
    expect(s.actions).toHaveLength(SCENARIO_LIMITS.actions);
  });

  it('64 KB of aliases to a long value prints a bounded error (< 200 KB), each value an excerpt', () => {
    let text = `name: bomb\ndescription: &s "${'A'.repeat(15_000)}"\ncluster:\n  nodes:\n    - { name: node-1, cpu: 16, memory: 64Gi }\n    - { name: node-2, cpu: 16, memory: 64Gi }\n  namespaces:\n    - name: web\n      quota: { limitsCpu: *s, limitsMemory: *s }\nactions:\n`;
    text += '  - { migrate: *s, at: *s, *s : 1 }\n'.repeat(Math.floor((INPUT_LIMITS.aliases - 2) / 3)); // as many aliases as are allowed
    text += `# ${'padding '.repeat(Math.ceil((64 * 1024 - text.length) / 8))}\n`;
    expect(text.length).toBeGreaterThanOrEqual(64 * 1024);
    const e = refusal(() => parseScenario(text, 'bomb.yaml', known));
    expect(e.problems.length).toBeGreaterThan(MAX_PROBLEMS);
    const printed = formatProblems(e.problems);
    expect(printed.length).toBeLessThan(200_000);
    expect(printed).toMatch(/got "A{40}…" \(15,000 characters\)/);
    expect(printed).toMatch(/… and [\d,]+ more problems/);
    for (const line of printed.split('\n')) expect(line.length).toBeLessThan(500);
  });

  it('excerpt quotes the start of a value and its length', () => {
    expect(excerpt('2Gx')).toBe('"2Gx"');
    expect(excerpt('y'.repeat(1000))).toBe(`"${'y'.repeat(40)}…" (1,000 characters)`);
    expect(excerpt({ a: 'z'.repeat(100) }).length).toBeLessThanOrEqual(41);
  });

  it('formatProblems prints each problem once and caps the lines', () => {
    const p = (i: number): InputProblem => ({ file: 'a.yaml', line: i, col: 1, field: 'x', message: 'bad' });
    expect(formatProblems([p(1), p(1), p(2)]).split('\n')).toEqual(['a.yaml:1:1: x: bad', 'a.yaml:2:1: x: bad']);
    const many = formatProblems(Array.from({ length: 250 }, (_, i) => p(i + 1))).split('\n');
    expect(many).toHaveLength(MAX_PROBLEMS + 1);
    expect(many.at(-1)).toBe('… and 150 more problems (fix these first)');
  });

  it('a scenario named by a data file: its problems are not quoted, only that it does not load', () => {
    const d = tmp('named');
    const secret = join(d, 'secret.yaml');
    writeFileSync(secret, 'name: x\ntoken: hunter2-very-secret\ncluster:\n  nodes: [{ name: a, cpu: 1, memory: "hunter2-also-secret" }]\n');
    const direct = refusal(() => loadScenario(secret, known));
    expect(direct.message).toContain('hunter2'); // the user named it: its problems are shown
    const named = refusal(() => loadNamedBy(secret, 'shard-1.json', 'scenarios.file'));
    expect(named.problems).toHaveLength(1);
    expect(named.message).not.toContain('hunter2');
    expect(named.message).toMatch(/^shard-1\.json: scenarios\.file: names the scenario .*secret\.yaml, which is not a valid scenario \(\d+ problems; not quoted here/);
  });
});

const onProc = (() => {
  try {
    return statfsSync('/proc').type === 0x9fa0;
  } catch {
    return false;
  }
})();

describe('output paths that cannot be written: exit 2, "cannot write", at once', () => {
  it.runIf(onProc)('/proc and /sys: refused by their filesystem type before anything is created', () => {
    for (const dir of ['/proc/quotarace-test', '/proc/self', '/sys/quotarace-test/reports']) {
      expect(() => checkOutputs(dir, [])).toThrow(OutputError);
      expect(() => checkOutputs(dir, [])).toThrow(/^cannot write the reports to .*: (proc|sysfs) is a pseudo-filesystem, not storage$/);
    }
    expect(() => checkOutputs(tmp('ok'), ['/proc/self/junit.xml'])).toThrow(/^cannot write \/proc\/self\/junit\.xml: proc is a pseudo-filesystem/);
    expect(existsSync('/proc/quotarace-test')).toBe(false);
  });

  it.runIf(onProc)('run --reports /proc/...: exit 2 with one line, before any simulation', async () => {
    const r = await cli('run', 'scenarios/2-normal-migration.yaml', '--runs', '1', '--reports', '/proc/quotarace-test', '--workers', '1');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe('quotarace: cannot write the reports to /proc/quotarace-test: proc is a pseudo-filesystem, not storage');
  });

  it('a file where a folder goes, and a folder where a file goes', () => {
    const d = tmp('shape');
    writeFileSync(join(d, 'f'), 'x');
    expect(() => checkOutputs(join(d, 'f'), [])).toThrow(/^cannot write the reports to .*f: it is a file, not a folder$/);
    expect(() => checkOutputs(join(d, 'f', 'deeper'), [])).toThrow(/cannot write the reports to .*deeper: .*f is a file, not a folder/);
    expect(() => checkOutputs(undefined, [d])).toThrow(/it is a folder, not a file/);
  });

  it('a full disk: the write fails as "cannot write", leaves no .tmp, and the old file stands', () => {
    const d = tmp('full');
    const f = join(d, 'index.html');
    writeFileSync(f, 'MARK old report');
    const full = (path: string, text: string): void => {
      writeFileSync(path, text.slice(0, 10)); // a disk fills mid-write
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    expect(() => writeFileAtomic(f, 'MARK new report', 'MARK', full)).toThrow(new OutputError(`cannot write ${f} (ENOSPC)`));
    expect(readdirSync(d)).toEqual(['index.html']);
    expect(readFileSync(f, 'utf8')).toBe('MARK old report');
    expect(writeFileAtomic(f, 'MARK new report', 'MARK')).toBe('written');
  });

  it('--junit, --reports or --results empty or given twice: exit 2', async () => {
    for (const argv of [
      ['--junit', ''],
      ['--reports', ''],
      ['--reports', 'a', '--reports', 'b'],
      ['--junit', 'a.xml', '--junit', 'b.xml'],
      ['--shard', '1/2', '--results', ' '],
      ['--allow-module', ''],
    ]) {
      const r = await cli('run', 'scenarios/2-normal-migration.yaml', '--runs', '1', ...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(/^quotarace: --(junit|reports|results|allow-module) (needs a path, got an empty string|is given 2 times; expected one path)$/);
    }
  });
});

describe('the reports folder: one run at a time, and no stale verdict', () => {
  it('a second run into a folder in use is refused; released, it can be taken again', () => {
    const d = tmp('lock');
    const lock = lockReports(d, 'quotarace run a.yaml');
    try {
      expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
      expect(() => lockReports(d, 'quotarace run b.yaml')).toThrow(new RegExp(`another quotarace run is writing there \\(pid ${process.pid}, started .*: quotarace run a\\.yaml\\)`));
      expect(existsSync(join(d, LOCK_FILE))).toBe(true); // the refused run took nothing, so gives nothing back
    } finally {
      lock.release();
    }
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
    lockReports(d, 'quotarace run b.yaml').release();
  });

  it('a lock left by a dead process is taken over, with its temporary files; one from another host is not', () => {
    const d = tmp('stale');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid, host: hostname(), started: 'then', command: 'killed' }));
    mkdirSync(join(d, 'scenario', 'strategy'), { recursive: true });
    writeFileSync(join(d, `index.html.${pid}.tmp`), 'half');
    writeFileSync(join(d, 'scenario', 'strategy', `x.evidence.${pid}.tmp`), 'half');
    writeFileSync(join(d, 'scenario', 'strategy', `x.evidence.${pid}1.tmp`), 'another pid: kept');
    const lock = lockReports(d, 'quotarace run c.yaml');
    expect(readdirSync(d).sort()).toEqual([LOCK_FILE, 'scenario']);
    expect(readdirSync(join(d, 'scenario', 'strategy'))).toEqual([`x.evidence.${pid}1.tmp`]);
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid, host: 'elsewhere', started: 'then', command: 'on another machine' }));
    expect(() => lockReports(d, 'x')).toThrow(/pid \d+ on elsewhere/);
  });

  it('two scenarios of one name in one run are refused before anything runs: one would overwrite the other', async () => {
    const d = tmp('same-name');
    const text = readFileSync('scenarios/7-tiny-agent-restart.yaml', 'utf8');
    writeFileSync(join(d, 'a.yaml'), text);
    writeFileSync(join(d, 'b.yaml'), `# a copy\n${text}`);
    const reports = join(d, 'reports');
    const r = await cli('run', d, '--runs', '2', '--reports', reports);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`${join(d, 'b.yaml')}:2:1: name: "tiny-agent-restart" is also the name of ${join(d, 'a.yaml')}: reports and evidence are filed by scenario name, so one would overwrite the other; give each scenario a name of its own`);
    expect(existsSync(reports)).toBe(false);
    writeFileSync(join(d, 'b.yaml'), text.replace('name: tiny-agent-restart', 'name: tiny-agent-restart-2'));
    expect((await cli('run', d, '--runs', '2', '--reports', reports, '--no-evidence')).code).toBe(0);
    expect(readdirSync(reports).filter((f) => f.endsWith('.html')).sort()).toEqual(['index.html', 'tiny-agent-restart-2.html', 'tiny-agent-restart.html']);
  });

  it('the first report of a run takes the earlier verdict down, once per lock', () => {
    const d = tmp('first');
    expect(firstWriteInto(d)).toBe(false); // not locked: not this run's folder
    const lock = lockReports(d, 'quotarace run a.yaml');
    expect(firstWriteInto(d)).toBe(true);
    expect(firstWriteInto(d)).toBe(false);
    lock.release();
  });
});

describe('modules named by data load only with --allow-module, by real path', () => {
  it('a link inside an allowed folder to a module outside it does not pass; naming the module does', () => {
    const tree = tmp('tree');
    const outside = join(tmp('outside'), 'evil.ts');
    writeFileSync(outside, 'export default {}');
    mkdirSync(join(tree, 'strategies'));
    const link = join(tree, 'strategies', 'link.ts');
    symlinkSync(outside, link);
    const plain = join(tree, 'strategies', 'plain.ts');
    writeFileSync(plain, 'export default {}');
    expect(allowDataModule(plain, 's.yaml', [join(tree, 'strategies')])).toBe(plain);
    expect(() => allowDataModule(link, 's.yaml', [tree])).toThrow(ModuleNotAllowed);
    expect(() => allowDataModule(link, 's.yaml', [tree])).toThrow(`(a link to ${outside})`);
    expect(allowDataModule(link, 's.yaml', [outside])).toBe(outside);
    expect(allowDataModule(link, 's.yaml', [link])).toBe(outside);
    expect(() => allowDataModule(plain, 's.yaml', [])).toThrow(/s\.yaml names the strategy module .*plain\.ts.*pass --allow-module/);
  });

  it("run: a scenario's module is refused without --allow-module (exit 2, before any run)", async () => {
    const reports = join(tmp('mod'), 'r');
    const r = await cli('run', 'scenarios/9-user-strategy.yaml', '--runs', '1', '--reports', reports, '--workers', '1');
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'quotarace: scenarios/9-user-strategy.yaml names the strategy module ' +
        `${join(process.cwd(), 'scenarios/strategies/exact-delta.ts')}; a module named by a file, not on the command line, runs only when allowed. ` +
        'Check it, then pass --allow-module scenarios/strategies/exact-delta.ts (or the folder that holds it)',
    );
    expect(existsSync(reports)).toBe(false);
  });
});
