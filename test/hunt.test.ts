import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { load } from '../src/cli/plans.js';
import { runPlain } from '../src/explore/campaign.js';
import { WorkerPool } from '../src/explore/pool.js';
import { accepts, unsupportedKnobs } from '../src/hunt/capabilities.js';
import { candidateText, search, type SearchOptions } from '../src/hunt/search.js';
import { DEFAULT_SPACE } from '../src/hunt/space.js';
import { parseSpace } from '../src/hunt/space-file.js';
import { InputError } from '../src/scenario/errors.js';
import { parseScenario } from '../src/scenario/load.js';
import { Rng } from '../src/kernel/rng.js';
import { randomGenome } from '../src/hunt/generate.js';
import { mutate } from '../src/hunt/mutate.js';
import { builtinStrategy } from '../src/strategies/builtin.js';
import { keepSatisfiable, satisfiable } from '../src/hunt/feasible.js';
import type { Genome } from '../src/hunt/genome.js';

const OUT = mkdtempSync(join(tmpdir(), 'quotarace-hunt-'));
const DRIFT = ['quota limits.cpu', 'quota-below-user-value'];

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['hunt', ...argv, '--workers', '1', '--no-progress'], { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const pools: WorkerPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

function opts(seed: number): SearchOptions {
  return { strategy: builtinStrategy('pre-fix')!, space: DEFAULT_SPACE, off: unsupportedKnobs(), seed, budgetRuns: 1_000, kinds: 1, want: DRIFT, name: 'hunt-test', file: join(OUT, 'hunt-test.yaml') };
}

describe('quotarace hunt', () => {
  it('finds the #7178 quota drift of pre-fix from the default space, shrunk to at most 3 VMs, as a valid scenario that fails', async () => {
    const out = join(OUT, 'found');
    // The default space less an administrator's kubectl edit of spec.hard: on its own, that edit
    // leaves a pre-fix quota below the user's value too (nothing reverts it until Rancher syncs),
    // a failure of the same kind that the shrinker would happily keep instead of the race.
    const space = writeScenario('drift-space', 'actions: { kinds: [drain, restartAgent, rolloutAgent, editQuota, migrate] }\n');
    const r = await cli('--strategy', 'pre-fix', '--seed', '1', '--budget', '1000', '--kind', DRIFT[0]!, '--kind', DRIFT[1]!, '--shrink', '80', '--space', space, '--out', out);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/hunt pre-fix: "quota limits\.cpu[^"]*quota-below-user-value" in scenario \d+ \(generation \d+, run [^;]+; [\d,]+ interleavings spent by the end of that generation\)/);
    const file = join(out, 'hunt-pre-fix-seed-1.yaml');
    // A real scenario file: the loader accepts it, and its own campaign fails the same way.
    const s = load(file);
    const vms = s.namespaces.reduce((n, ns) => n + ns.vms.length, 0);
    expect(vms).toBeGreaterThan(0);
    expect(vms).toBeLessThanOrEqual(3);
    expect(s.expect.filter((e) => e.strategy === 'pre-fix').map((e) => e.metric)).toContain('quotaCorrect');
    expect(s.description).toContain('pre-fix fails');
    // Its own campaign, with the explorer the description names, fails the same way.
    const explore = /pct campaign/.test(s.description) ? 'pct' : 'random';
    const lines: string[] = [];
    const code = await main(['run', file, '--explore', explore, '--json', '--no-evidence', '--no-progress', '--workers', '1', '--reports', join(OUT, 'check')], { out: (t) => lines.push(t), err: () => {} });
    expect(code).toBe(1);
    const summary = (JSON.parse(lines.join('\n')) as { scenarios: Array<{ strategies: Array<{ quotaCorrect: number; failures: Array<{ signature: string }> }> }> }).scenarios[0]!.strategies[0]!;
    expect(summary.quotaCorrect).toBeLessThan(1);
    expect(summary.failures.some((f) => DRIFT.every((d) => f.signature.replace(/\b[a-z0-9-]+\/(limits)/g, '$1').includes(d)))).toBe(true);
    // Evidence and the report, through the same path as `quotarace run`.
    expect(readdirSync(join(out, 'hunt-pre-fix-seed-1', 'pre-fix')).some((f) => f.endsWith('.evidence'))).toBe(true);
    expect(readFileSync(join(out, 'hunt-pre-fix-seed-1.html'), 'utf8')).toContain('<!-- quotarace report');
    expect(r.out).toContain('The space searched:');
  });

  it('--baseline v1.4.2: a scenario pre-fix fails and v1.4.2 passes in every run, with expect: lines v1.4.2 meets', async () => {
    const out = join(OUT, 'baseline');
    const r = await cli('--strategy', 'pre-fix', '--baseline', 'v1.4.2', '--seed', '1', '--budget', '2000', '--shrink', '40', '--out', out);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/hunt pre-fix \(v1\.4\.2 passes\): "[^"]+" in scenario \d+ /);
    const file = join(out, 'hunt-pre-fix-vs-v1-4-2-seed-1.yaml');
    const s = load(file);
    expect(s.strategies).toEqual(['pre-fix', 'v1.4.2']);
    expect(s.description).toContain('v1.4.2 passes every run');
    // The report's "all scenarios" link resolves: the hunt writes an index of its finds.
    expect(readFileSync(join(out, 'hunt-pre-fix-vs-v1-4-2-seed-1.html'), 'utf8')).toContain('href="index.html"');
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('href="hunt-pre-fix-vs-v1-4-2-seed-1.html"');
    // The scenario's own campaign, on both explorers the hunt used: v1.4.2 passes 100%, pre-fix fails.
    for (const explore of ['random', 'pct']) {
      const lines: string[] = [];
      const code = await main(['run', file, '--explore', explore, '--json', '--no-evidence', '--no-progress', '--workers', '1', '--reports', join(OUT, `baseline-check-${explore}`)], { out: (t) => lines.push(t), err: () => {} });
      const doc = JSON.parse(lines.join('\n')) as { scenarios: Array<{ strategies: Array<{ name: string; quotaCorrect: number; migrationsSucceeded: number; invariantViolations: number; failures: unknown[] }>; expectations: Array<{ strategy: string; pass: boolean }> }> };
      const [pre, base] = doc.scenarios[0]!.strategies;
      expect([base!.name, base!.quotaCorrect, base!.migrationsSucceeded, base!.invariantViolations, base!.failures.length]).toEqual(['v1.4.2', 1, 1, 0, 0]);
      // Every expect: line holds for the baseline: none states what no strategy could meet.
      expect(doc.scenarios[0]!.expectations.filter((e) => e.strategy === 'v1.4.2').every((e) => e.pass)).toBe(true);
      if (explore === (/pct campaign/.test(s.description) ? 'pct' : 'random')) {
        expect(pre!.failures.length).toBeGreaterThan(0);
        expect(code).toBe(1);
        expect(doc.scenarios[0]!.expectations.some((e) => e.strategy === 'pre-fix' && !e.pass)).toBe(true);
      }
    }
    // The same strategy as its own baseline is bad input.
    const same = await cli('--strategy', 'v1.4.2', '--baseline', 'v1.4.2', '--out', join(OUT, 'same'));
    expect(same.code).toBe(2);
    expect(same.err).toContain('another strategy');
  });

  it('never generates an unsatisfiable scenario: not every node drained, no unmovable VM on a drained node, room for every VM that must move', () => {
    const vm = (node: number, liveMigrate = true, cpu = 1, memory = '2Gi') => ({ cpu, memory, node, liveMigrate });
    const base = (): Genome => ({ seed: 1, nodes: [{ cpu: 16, memory: '64Gi' }, { cpu: 16, memory: '64Gi' }], rancher: null, ratio: null, namespaces: [{ vms: [vm(0), vm(1)], pods: [], headroomCpu: '1', headroomMemory: '1Gi' }], actions: [] });
    const g = base();
    g.actions = [{ act: { kind: 'drain', node: 0 }, at: '0s' }, { act: { kind: 'drain', node: 1 }, at: '5s' }];
    expect(satisfiable(g)).toBe(false);
    expect(keepSatisfiable(g).actions.map((a) => a.act)).toEqual([{ kind: 'drain', node: 0 }]);
    // A VM that cannot live-migrate is evicted from a drained node, never moved.
    const h = base();
    h.namespaces[0]!.vms[0]!.liveMigrate = false;
    h.actions = [{ act: { kind: 'drain', node: 0 }, at: '0s' }];
    expect(satisfiable(h)).toBe(false);
    h.actions = [{ act: { kind: 'migrate', ns: 0, vm: 0 }, at: '0s' }];
    expect(satisfiable(h)).toBe(true);
    // No room: node-2 is full with its own VMs' requests.
    const k = base();
    k.namespaces[0]!.vms = [vm(0, true, 4, '8Gi'), ...Array.from({ length: 11 }, () => vm(1, true, 1, '8Gi'))];
    k.actions = [{ act: { kind: 'drain', node: 0 }, at: '0s' }];
    expect(satisfiable(k)).toBe(false);
    k.nodes[1]!.memory = '128Gi';
    expect(satisfiable(k)).toBe(true);
    // Whatever the generator and the mutator draw is satisfiable.
    const off = unsupportedKnobs();
    const rng = new Rng('hunt-satisfiable');
    let x = randomGenome(rng, DEFAULT_SPACE, off, 1);
    let drains = 0;
    for (let i = 0; i < 400; i++) {
      x = i % 2 ? mutate(rng, x, DEFAULT_SPACE, off, i) : randomGenome(rng, DEFAULT_SPACE, off, i);
      expect(satisfiable(x)).toBe(true);
      drains += x.actions.filter((a) => a.act.kind === 'drain').length;
    }
    expect(drains).toBeGreaterThan(50); // drains are still drawn, only the hopeless ones dropped
  });

  it('is deterministic: the same seed finds the same scenario (in process; worker counts: test/hunt-workers.test.ts)', async () => {
    const one = new WorkerPool(1);
    pools.push(one);
    const a = await search(opts(3), one);
    const b = await search(opts(3), one);
    expect(a.found.length).toBe(1);
    expect(candidateText(a.found[0]!.genome, opts(3))).toBe(candidateText(b.found[0]!.genome, opts(3)));
    expect([a.scenarios, a.runs, a.found[0]!.run]).toEqual([b.scenarios, b.runs, b.found[0]!.run]);
    // The found scenario really fails that way.
    const s = load(writeScenario('det', candidateText(a.found[0]!.genome, opts(3))));
    const [sum] = runPlain(s, [builtinStrategy('pre-fix')!], DEFAULT_SPACE.campaign.runs, s.seed);
    expect(sum!.failures.length).toBeGreaterThan(0);
  });

  it('says what was searched and exits 0 when nothing fails within the budget', async () => {
    const space = writeScenario('calm-space', 'quota: { headroomCpu: ["16"], headroomMemory: [64Gi] }\nactions: { count: [0, 0] }\ncampaign: { runs: 2, batch: 4 }\n');
    const r = await cli('--strategy', 'v1.4.2', '--budget', '24', '--space', space, '--out', join(OUT, 'calm'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('nothing failed');
    expect(r.out).toMatch(/Searched 6 scenarios \(2 generations\), 24 interleavings, seed 1/);
    expect(r.out).toContain('quota headroom cpu 16; memory 64Gi');
  });

  it('failures of other kinds than --kind asks for are said to have been passed over, not "nothing failed"', async () => {
    const r = await cli('--strategy', 'v1.4.2', '--kind', 'no-such-kind', '--budget', '200', '--out', join(OUT, 'typo'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).not.toContain('nothing failed');
    expect(r.out).toMatch(/^hunt v1\.4\.2: nothing counted failed \(\d+ failing interleavings of \d+ other kinds? were not counted, not of a kind containing "no-such-kind": "[^"]+"/);
    // In process: what was passed over, by kind.
    const one = new WorkerPool(1);
    pools.push(one);
    const res = await search({ ...opts(1), want: ['no-such-kind'], budgetRuns: 200 }, one);
    expect(res.found).toEqual([]);
    expect(res.passedOver.size).toBeGreaterThan(0);
    expect([...res.passedOver.values()].every((n) => n > 0)).toBe(true);
  });

  it('refuses a bad space file with its line and column, and a bad budget, exit 2', async () => {
    const bad = writeScenario('bad-space', 'nodes:\n  count: [2, 5]\n  cpus: [8]\nquota: { headroomCpu: [lots] }\n');
    const r = await cli('--strategy', 'pre-fix', '--space', bad, '--out', join(OUT, 'bad'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:3:3: nodes.cpus: unknown key "cpus"`);
    expect(r.err).toMatch(/:4:\d+: quota\.headroomCpu\[0\]: expected a Kubernetes quantity/);
    expect(r.err).not.toMatch(/^\s+at\s/m);
    const b = await cli('--strategy', 'pre-fix', '--budget', '10 parsecs');
    expect(b.code).toBe(2);
    expect(b.err).toContain('--budget expects');
    expect(() => parseSpace('campaign: { runs: 0 }\n', 'x.yaml')).toThrow(InputError);
  });

  it('never overwrites a file it did not write', async () => {
    const dir = join(OUT, 'foreign');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'hunt-pre-fix-seed-1.yaml'), 'name: mine\n');
    const r = await cli('--strategy', 'pre-fix', '--out', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('was not written by quotarace');
    expect(readFileSync(join(dir, 'hunt-pre-fix-seed-1.yaml'), 'utf8')).toBe('name: mine\n');
  });

  it('probes the scenario loader for optional knobs and generates only what it accepts', () => {
    expect(accepts({ name: 'x', cluster: { nodes: [{ name: 'a', cpu: 1, memory: '1Gi' }, { name: 'b', cpu: 1, memory: '1Gi' }], namespaces: [{ name: 'n', quota: { limitsCpu: '1' } }] } })).toBe(true);
    expect(accepts({ name: 'x', bogus: 1 })).toBe(false);
    const off = unsupportedKnobs();
    // Every generated scenario and mutant loads through the real loader, whichever knobs this version accepts.
    const rng = new Rng('hunt-test');
    let g = randomGenome(rng, DEFAULT_SPACE, off, 1);
    for (let i = 0; i < 200; i++) {
      g = i % 2 ? mutate(rng, g, DEFAULT_SPACE, off, i) : randomGenome(rng, DEFAULT_SPACE, off, i);
      expect(() => parseScenario(candidateText(g, { name: 'gen', off, space: DEFAULT_SPACE }), 'gen.yaml', () => true)).not.toThrow();
    }
    for (const k of off) expect(['overheadRatio', 'agentReplicas', 'agentNodes', 'pods', 'editQuotaSpec', 'rolloutAgent', 'carrier', 'syncOnlyChangedObjects', 'project']).toContain(k);
  });
});

function writeScenario(name: string, text: string): string {
  const f = join(OUT, `${name}.yaml`);
  writeFileSync(f, text);
  return f;
}

