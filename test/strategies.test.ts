import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { runPlain } from '../src/explore/campaign.js';
import { loadScenario } from '../src/scenario/load.js';
import { runOnce } from '../src/sim/run.js';
import { StrategyFault } from '../src/strategies/fault.js';
import { loadStrategyFile } from '../src/strategies/loader.js';
import { BUILTIN_STRATEGIES, builtinStrategy } from '../src/strategies/builtin.js';
import { MATRIX_END, MATRIX_START } from '../src/report/matrix.js';

const FIX = resolve('test/fixtures/strategies');
const load = (f: string) => loadScenario(f, (n) => builtinStrategy(n) !== undefined);
const by = (name: string) => builtinStrategy(name)!;

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A scenario file and the --allow-module its strategies: modules need (they sit in its strategies/ folder). */
function withModules(file: string): string[] {
  return [file, '--allow-module', join(dirname(file), 'strategies')];
}

/** A copy of a bundled scenario that runs the given strategies (paths relative to the copy). */
function scenarioWith(strategies: string[], extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'quotarace-strat-'));
  mkdirSync(join(dir, 'strategies'));
  for (const f of ['throws', 'invalid-write', 'nondeterministic', 'runaway', 'broken-syntax', 'not-a-strategy', 'mutates', 'late-counter']) {
    copyFileSync(join(FIX, `${f}.ts`), join(dir, 'strategies', `${f}.ts`));
  }
  const text = readFileSync('scenarios/3-agent-restart-during-migration.yaml', 'utf8')
    .replace(/\nexpect:[\s\S]*$/, '\n')
    .concat(`strategies: [${strategies.join(', ')}]\n${extra}`);
  const file = join(dir, 'scenario.yaml');
  writeFileSync(file, text);
  return file;
}

describe('user-written strategies', () => {
  beforeAll(() => {
    // The loader points "quotarace" at the package's build.
    expect(readFileSync('dist/index.js', 'utf8').length).toBeGreaterThan(0);
  });

  it('the bundled example runs from its .ts file without a build step and wins its scenario', async () => {
    const reports = mkdtempSync(join(tmpdir(), 'quotarace-r-'));
    const r = await cli('run', 'scenarios/9-user-strategy.yaml', '--allow-module', 'scenarios/strategies', '--runs', '10', '--json', '--reports', reports, '--workers', '2');
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out) as { scenarios: Array<{ strategies: Array<{ name: string; quotaCorrect: number; migrationsSucceeded: number }> }> };
    const [v142, exact] = doc.scenarios[0]!.strategies;
    expect(exact!.name).toBe('exact-delta');
    expect(exact!.quotaCorrect).toBe(1);
    expect(exact!.migrationsSucceeded).toBe(1);
    expect(v142!.migrationsSucceeded).toBeLessThan(1);
  });

  it('a strategy that mutates what it read is stopped and named; the quota is untouched and the others still report', async () => {
    const file = scenarioWith(['v1.4.2', './strategies/mutates.ts']);
    const r = await cli('run', ...withModules(file), '--runs', '5', '--json', '--reports', mkdtempSync(join(tmpdir(), 'q-')), '--workers', '1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ERROR strategy mutates \(scenario agent-restart-during-migration, run random:\d+, step \d+\): mutated ResourceQuota web\/default-\w+ \(spec\.hard\.limits\.cpu\) in reconciler sneaky on key web\//);
    const doc = JSON.parse(r.out) as { scenarios: Array<{ strategies: Array<{ name: string; quotaCorrect: number; error?: string }> }> };
    const [fixed, broken] = doc.scenarios[0]!.strategies;
    expect(fixed!.quotaCorrect).toBe(1);
    expect(broken!.error).toContain('mutated ResourceQuota');
  });

  it('module state that shows only after many runs is caught: each chunk\'s last run is run again in a fresh module instance', async () => {
    const file = scenarioWith(['v1.4.2', './strategies/late-counter.ts']);
    const r = await cli('run', ...withModules(file), '--runs', '40', '--json', '--reports', mkdtempSync(join(tmpdir(), 'q-')), '--workers', '1');
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/ERROR strategy late-counter \(scenario agent-restart-during-migration, run random:\d+\): is not deterministic: run random:\d+ ended differently in a fresh module instance/);
    const doc = JSON.parse(r.out) as { scenarios: Array<{ strategies: Array<{ name: string; quotaCorrect: number; error?: string }> }> };
    expect(doc.scenarios[0]!.strategies[0]!.quotaCorrect).toBe(1);
  });

  it('--strategy accepts a module path, and trace runs it', async () => {
    const t = await cli('trace', 'scenarios/9-user-strategy.yaml', '--strategy', 'scenarios/strategies/exact-delta.ts', '--seed', '2');
    expect(t.code, t.err).toBe(0);
    expect(t.out).toContain('strategy exact-delta');
    expect(t.out).toContain('harvester/quota-keeper');
  });

  it('a strategy that throws is reported with its name, the scenario, the seed and the step; the others still report', async () => {
    const file = scenarioWith(['v1.4.2', './strategies/throws.ts']);
    const r = await cli('run', ...withModules(file), '--runs', '5', '--json', '--reports', mkdtempSync(join(tmpdir(), 'q-')), '--workers', '1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ERROR strategy throws \(scenario agent-restart-during-migration, run random:\d+, step \d+\): reconciler broken threw on key .*boom/);
    const doc = JSON.parse(r.out) as { scenarios: Array<{ strategies: Array<{ name: string; quotaCorrect: number; error?: string }> }> };
    const [fixed, broken] = doc.scenarios[0]!.strategies;
    expect(fixed!.quotaCorrect).toBe(1);
    expect(broken!.error).toContain('boom');
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('a strategy that writes an invalid object is stopped before the write', async () => {
    const file = scenarioWith(['v1.4.2', './strategies/invalid-write.ts']);
    const r = await cli('run', ...withModules(file), '--runs', '3', '--reports', mkdtempSync(join(tmpdir(), 'q-')), '--workers', '1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ERROR strategy invalid-write \(scenario agent-restart-during-migration, run random:\d+, step \d+\): reconciler nan-writer wrote an invalid object .*spec\.hard\.limits\.cpu/);
    expect(r.out).toMatch(/v1\.4\.2\s+3\s+100\.0%/);
    // The run's last line counts the expectations met and the errored strategy apart.
    expect(r.out).toMatch(/^1 scenario, \d+ expectations? met, 1 strategy errored · /m);
  });

  it('a nondeterministic strategy is caught before its numbers are believed', async () => {
    const file = scenarioWith(['./strategies/nondeterministic.ts']);
    const r = await cli('run', ...withModules(file), '--runs', '3', '--reports', mkdtempSync(join(tmpdir(), 'q-')), '--workers', '1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ERROR strategy nondeterministic \(scenario agent-restart-during-migration, run random:1, step \d+\): is not deterministic/);
  });

  it('a strategy that never lets the run settle hits the step budget (not a wall clock)', async () => {
    const s = load('scenarios/3-agent-restart-during-migration.yaml');
    const runaway = await loadStrategyFile(join(FIX, 'runaway.ts'));
    let fault: unknown;
    try {
      runOnce(s, runaway, 4, { stepBudget: 20_000 });
    } catch (e) {
      fault = e;
    }
    expect(fault).toBeInstanceOf(StrategyFault);
    const f = fault as StrategyFault;
    expect(f.describe()).toMatch(/^strategy runaway \(scenario agent-restart-during-migration, seed 4, step 20000\): the run did not settle within 20,000 steps/);
  });

  it('a module that does not compile, or does not export a strategy, is bad input (exit 2, with its place)', async () => {
    const bad = await cli('run', ...withModules(scenarioWith(['./strategies/broken-syntax.ts'])), '--runs', '1', '--reports', mkdtempSync(join(tmpdir(), 'q-')));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/broken-syntax\.ts:7:\d+: cannot compile the strategy/);
    const half = await cli('run', ...withModules(scenarioWith(['./strategies/not-a-strategy.ts'])), '--runs', '1', '--reports', mkdtempSync(join(tmpdir(), 'q-')));
    expect(half.code).toBe(2);
    expect(half.err).toContain('the default export is not a strategy');
    const missing = await cli('run', ...withModules(scenarioWith(['./strategies/nowhere.ts'])), '--runs', '1');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('no strategy module at ./strategies/nowhere.ts');
  });
});

describe('the alternative designs win and lose where their rationale says', () => {
  it('rancher-keeps-share fixes the agent-reset race but keeps v1.4.1\'s long-name bug', () => {
    const [share] = runPlain(load('scenarios/1-incident-7178.yaml'), [by('rancher-keeps-share')], 40, 1);
    expect(share!.quotaCorrect).toBe(1);
    expect(share!.migrationsSucceeded).toBe(1);
    const [long] = runPlain(load('scenarios/4-long-vm-name.yaml'), [by('rancher-keeps-share')], 10, 1);
    expect(long!.migrationsSucceeded).toBe(0);
  });

  it("v1.4.2's stale-namespace write of the old base is transient: Rancher's re-sync heals it, as watching namespaces does", async () => {
    // Seed 2883 of 8-edit-during-migration: the user raises limitsCpu 6 → 7, Rancher writes 7,
    // and Harvester's quota controller, whose namespace cache still holds 6, writes 6 back.
    // (A rare interleaving, a few seeds in a thousand: KubeVirt's writes before the target pod
    // moved it from seed 69, the tunnel and KubeVirt fidelity passes to 2883.)
    const s = load('scenarios/8-edit-during-migration.yaml');
    const { Timeline } = await import('../src/sim/timeline.js');
    const { runPilot } = await import('../src/explore/pilot.js');
    const { RandomSelector } = await import('../src/kernel/choice.js');
    for (const name of ['v1.4.2', 'v1.4.2-watch-namespaces']) {
      const st = by(name);
      const t = new Timeline();
      const o = runOnce(s, st, 2883, { selector: new RandomSelector(2883), window: 25, windowWrites: runPilot(s, st, 25).windowWrites, trace: t });
      const staleWrite = t.entries.findIndex(
        (e) => e.kind === 'write' && e.actor === 'harvester/resourceQuotaController' && e.old?.kind === 'ResourceQuota' && e.old.spec.hard['limits.cpu'] === 7000 && e.cur?.kind === 'ResourceQuota' && e.cur.spec.hard['limits.cpu'] === 6000,
      );
      expect(staleWrite, name).toBeGreaterThan(-1);
      const healed = t.entries.slice(staleWrite).some((e) => e.kind === 'write' && e.cur?.kind === 'ResourceQuota' && e.cur.spec.hard['limits.cpu'] === 7000);
      expect(healed, name).toBe(true);
      expect(o.quotaCorrect, name).toBe(true);
    }
  });

  it('v1.4.2-no-webhook refuses no edit and stays correct where v1.4.2 refuses', () => {
    const s = load('scenarios/8-edit-during-migration.yaml');
    const [v142, noHook] = runPlain(s, [by('v1.4.2'), by('v1.4.2-no-webhook')], 100, 1);
    expect(v142!.editsRefused).toBeGreaterThan(0);
    expect(noHook!.editsRefused).toBe(0);
    expect(noHook!.quotaCorrect).toBe(1);
  });

  it('skip-autoscaling never gets the quota wrong and moves no VM that needs headroom', () => {
    const [skip] = runPlain(load('scenarios/1-incident-7178.yaml'), [by('skip-autoscaling')], 20, 1);
    expect(skip!.quotaCorrect).toBe(1);
    expect(skip!.migrationsSucceeded).toBe(0);
    const [control] = runPlain(load('scenarios/6-control-no-race.yaml'), [by('skip-autoscaling')], 20, 1);
    expect(control!.migrationsSucceeded).toBe(1);
  });

  it('every built-in strategy has a name, a description and a rationale', () => {
    expect(BUILTIN_STRATEGIES.map((s) => s.name)).toEqual(['pre-fix', 'v1.4.2', 'rancher-keeps-share', 'v1.4.2-no-webhook', 'v1.4.2-watch-namespaces', 'skip-autoscaling']);
    for (const s of BUILTIN_STRATEGIES) expect(s.description.length).toBeGreaterThan(40);
  });
});

describe('the README strategy table', () => {
  it('is exactly what `quotarace table scenarios` prints (generated, not typed)', async () => {
    const r = await cli('table', 'scenarios', '--allow-module', 'scenarios/strategies', '--workers', '2');
    expect(r.code, r.err).toBe(0);
    const readme = readFileSync('README.md', 'utf8');
    const a = readme.indexOf(MATRIX_START) + MATRIX_START.length;
    const b = readme.indexOf(MATRIX_END);
    expect(readme.slice(a, b).trim()).toBe(r.out.trim());
  });
});

describe('the README strategy API reference', () => {
  it('names every export of src/index.ts, runtime and type, and nothing that is not exported', async () => {
    const index = readFileSync('src/index.ts', 'utf8');
    const exported = new Set<string>();
    for (const m of index.matchAll(/export (?:type )?\{([^}]*)\}/g)) for (const n of m[1]!.split(',')) if (n.trim()) exported.add(n.trim().replace(/^type /, ''));
    const runtime = Object.keys(await import('../src/index.js'));
    for (const r of runtime) expect(exported.has(r), r).toBe(true);
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf('#### API reference: everything a strategy module may import');
    expect(start).toBeGreaterThan(0);
    const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(start))![1]!;
    const declared = new Set([...block.matchAll(/^(?:function|interface|type|const) (\w+)/gm), ...block.matchAll(/, (\w+) = '/g)].map((m) => m[1]!));
    for (const n of exported) expect(declared.has(n), `README lacks ${n}`).toBe(true);
    // And it declares nothing a module could not import.
    expect([...declared].filter((n) => !exported.has(n))).toEqual([]);
  });
});

describe('quotarace table --strategy', () => {
  it('takes a module path like run does: one row per strategy given, the same rates as run --json', async () => {
    const files = ['scenarios/9-user-strategy.yaml', 'scenarios/2-normal-migration.yaml'];
    const given = ['scenarios/strategies/exact-delta.ts', 'v1.4.2'];
    const r = await cli('table', ...files, ...given.flatMap((g) => ['--strategy', g]), '--workers', '1');
    expect(r.code, r.err).toBe(0);
    const rows = r.out.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows.map((l) => /^\| `([^`]+)`/.exec(l)![1])).toEqual(['exact-delta', 'v1.4.2']);
    const reports = mkdtempSync(join(tmpdir(), 'quotarace-table-'));
    const run = await cli('run', ...files, ...given.flatMap((g) => ['--strategy', g]), '--workers', '1', '--json', '--no-evidence', '--reports', reports);
    const json = JSON.parse(run.out) as { scenarios: Array<{ strategies: Array<{ name: string; quotaCorrect: number; migrationsSucceeded: number }> }> };
    const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
    for (const [i, row] of rows.entries()) {
      const cells = row.split(' | ').slice(2).map((c) => c.replace(/ \|$/, ''));
      expect(cells).toEqual(json.scenarios.map((sc) => { const st = sc.strategies.find((x) => x.name === ['exact-delta', 'v1.4.2'][i])!; return `${pct(st.quotaCorrect)} / ${pct(st.migrationsSucceeded)}`; }));
    }
    // A module that is not there is bad input, as for run.
    const missing = await cli('table', files[0]!, '--strategy', './no-such-strategy.ts', '--workers', '1');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('no strategy module at ./no-such-strategy.ts');
  });
});

describe('a strategy fault in an exhaustive search names a run that trace replays', () => {
  const tiny = 'scenarios/7-tiny-agent-restart.yaml';
  const fixture = (name: string) => join(FIX, `${name}.ts`);
  /** `run --explore exhaustive`: the strategy's error, as the JSON, the table and the report give it. */
  async function searchError(strategy: string, ...extra: string[]): Promise<string> {
    const reports = mkdtempSync(join(tmpdir(), 'quotarace-fault-'));
    const r = await cli('run', tiny, '--strategy', fixture(strategy), '--explore', 'exhaustive', '--json', '--no-evidence', '--no-progress', '--reports', reports, ...extra);
    expect(r.code, r.err).toBe(1);
    const error = (JSON.parse(r.out) as { scenarios: Array<{ strategies: Array<{ error?: string }> }> }).scenarios[0]!.strategies[0]!.error!;
    expect(r.err).toContain(`ERROR ${error}`);
    expect(readFileSync(join(reports, 'tiny-agent-restart.html'), 'utf8')).toContain(`ERROR: ${error}`);
    return error;
  }
  /** `trace --run <the error's id>` ends in the same fault, at the same step. */
  async function replaysTo(strategy: string, error: string): Promise<void> {
    const id = /, run (exhaustive:[^,]+), step \d+\)/.exec(error)?.[1];
    expect(id, error).toBeDefined();
    const t = await cli('trace', tiny, '--strategy', fixture(strategy), '--run', id!);
    expect(t.code).toBe(1);
    expect(t.err.trim()).toBe(`ERROR ${error}`);
  }

  it('one interleaving at point 0 (not the first): the error names its run id, and trace --run faults the same way', async () => {
    const error = await searchError('agent-gone', '--workers', '1');
    expect(error).toMatch(/^strategy agent-gone \(scenario tiny-agent-restart, run exhaustive:1:\d[\d.*]*, step \d+\): reconciler agent-watch threw on key web\/\S+: a migration is running and the cluster agent has no pod$/);
    await replaysTo('agent-gone', error);
  });

  it('--latency-points: the lowest faulted point`s fault, its id naming the point, for any --workers', async () => {
    // Points 0 and 1 do not fault; 2 and 3 do, 3 within fewer runs (102 to 2's 118): the point reported is 2 whichever ends first.
    const error = await searchError('lone-agent', '--latency-points', '4', '--max-runs', '200', '--workers', '2');
    expect(error).toMatch(/^strategy lone-agent \(scenario tiny-agent-restart, run exhaustive:l2:1:\d[\d.*]*, step \d+\): reconciler agent-watch threw/);
    expect(await searchError('lone-agent', '--latency-points', '4', '--max-runs', '200', '--workers', '1')).toBe(error);
    await replaysTo('lone-agent', error);
  });
});

describe('quotarace check', () => {
  it('names the module as typed and tells a module that does not parse from one that does not type-check', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quotarace-check-'));
    const broken = join(dir, 'broken.ts');
    copyFileSync(join(FIX, 'broken-syntax.ts'), broken);
    const r = await cli('check', broken);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toMatch(new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: error TS1\\d{3}: `));
    expect(r.err).toMatch(/quotarace check: .*broken\.ts: \d+ syntax errors?; it does not parse$/);
    const typed = join(dir, 'typed.ts');
    writeFileSync(typed, "const n: number = 'not a number';\nexport default { name: 'typed', reconcilers: [], n };\n");
    const t = await cli('check', typed);
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/: error TS2322: /);
    expect(t.err).toMatch(/quotarace check: .*typed\.ts: 1 type error; a strategy that does not type-check can run with wrong values silently$/);
  });
});

describe('quotarace trace of a strategy that faults', () => {
  it('shows the timeline up to the fault, also when the fault is in the pilot run', async () => {
    const r = await cli('trace', 'scenarios/7-tiny-agent-restart.yaml', '--strategy', join(FIX, 'throws.ts'), '--run', 'random:1');
    expect(r.code).toBe(1);
    expect(r.out).toContain('(the strategy faulted in the pilot');
    expect(r.out).toMatch(/operator\s+write\s+create VirtualMachineInstanceMigration web\/web-0-migration-\w+/);
    expect(r.err).toMatch(/^ERROR strategy throws \(scenario tiny-agent-restart, run random:1, step 7\): reconciler broken threw/);
  });
});
