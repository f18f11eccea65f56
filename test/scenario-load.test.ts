import { describe, expect, it } from 'vitest';
import { parseQuantity } from '../src/cluster/quantity.js';
import { parseDuration } from '../src/scenario/duration.js';
import { InputError, formatProblem, type InputProblem } from '../src/scenario/errors.js';
import { parseScenario } from '../src/scenario/load.js';
import type { Scenario } from '../src/scenario/model.js';

const FILE = 'test-scenario.yaml';
const knownStrategy = (n: string) => ['pre-fix', 'v1.4.2'].includes(n);

const Ki = 2 ** 10;
const Mi = 2 ** 20;
const Gi = 2 ** 30;

/** A scenario file built from parts, so each test changes only the part it is about. */
function scenarioText(
  parts: {
    name?: string;
    nodes?: string;
    rancher?: string;
    quota?: string;
    vms?: string;
    actions?: string;
    extra?: string;
  } = {},
): string {
  return [
    `name: ${parts.name ?? 'tiny'}`,
    'cluster:',
    '  nodes:',
    parts.nodes ?? ['    - { name: node-1, cpu: 4, memory: 8Gi }', '    - { name: node-2, cpu: 4, memory: 8Gi }'].join('\n'),
    ...(parts.rancher !== undefined ? [parts.rancher] : []),
    '  namespaces:',
    '    - name: web',
    `      quota: ${parts.quota ?? '{ limitsCpu: "8", limitsMemory: 16Gi }'}`,
    '      vms:',
    parts.vms ?? ['        - { name: vm-1, node: node-1, cpu: 2, memory: 4Gi }', '        - { name: vm-2, node: node-2, cpu: 1, memory: 512Mi }'].join('\n'),
    'actions:',
    parts.actions ?? ['  - migrate: web/vm-1', '    at: 10s'].join('\n'),
    ...(parts.extra !== undefined ? [parts.extra] : []),
    '',
  ].join('\n');
}

/** 1-based line and column of the `occurrence`-th (0-based) `needle` in `text`. */
function posOf(text: string, needle: string, occurrence = 0): { line: number; col: number } {
  let idx = -1;
  for (let i = 0; i <= occurrence; i++) {
    idx = text.indexOf(needle, idx + 1);
    if (idx < 0) throw new Error(`test bug: ${JSON.stringify(needle)} (occurrence ${occurrence}) not in the text`);
  }
  const before = text.slice(0, idx);
  return { line: before.split('\n').length, col: idx - before.lastIndexOf('\n') };
}

function parse(text: string): Scenario {
  return parseScenario(text, FILE, knownStrategy);
}

/** The problems parseScenario reports; fails the test if it does not throw InputError. */
function problemsOf(text: string): readonly InputProblem[] {
  let thrown: unknown;
  try {
    parse(text);
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected parseScenario to throw').toBeInstanceOf(InputError);
  const problems = (thrown as InputError).problems;
  expect(problems.length).toBeGreaterThan(0);
  for (const p of problems) {
    expect(p.file).toBe(FILE);
    expect(Number.isInteger(p.line) && p.line >= 1, `line of ${formatProblem(p)}`).toBe(true);
    expect(Number.isInteger(p.col) && p.col >= 1, `col of ${formatProblem(p)}`).toBe(true);
    expect(p.message.length).toBeGreaterThan(0);
  }
  return problems;
}

/** Exactly one problem, at `field`. */
function onlyProblem(text: string, field: string): InputProblem {
  const problems = problemsOf(text);
  expect(problems.map((p) => p.field)).toEqual([field]);
  return problems[0]!;
}

describe('a valid scenario', () => {
  const text = [
    'name: tiny-2',
    'description: a two-node cluster',
    'cluster:',
    '  nodes:',
    '    - { name: node-1, cpu: 4, memory: 8Gi }',
    '    - { name: node-2, cpu: "16", memory: 65536Mi }',
    '  rancher:',
    '    agentNode: node-2',
    '  namespaces:',
    '    - name: web',
    '      quota: { limitsCpu: "6500m", limitsMemory: 14Gi, pods: 10 }',
    '      vms:',
    '        - { name: vm-1, node: node-1, cpu: 2, memory: 4Gi }',
    '        - { name: vm-2, node: node-2, cpu: "1", memory: 512Mi, evictionStrategy: None }',
    '    - name: empty',
    '      quota: { requestsCpu: 1 }',
    'actions:',
    '  - migrate: web/vm-1',
    '    at: 90s',
    '  - restartAgent: {}',
    '    between: [1m30s, 2m]',
    '  - drain: node-1',
    '    at: "0"',
    '  - editQuota: { namespace: web, quota: { limitsCpu: 12 } }',
    '    between: [250ms, 1.5s]',
    'strategies: [v1.4.2]',
    'runs: 7',
    'seed: 42',
    'horizon: 15m',
    'latencies:',
    '  migration: [40s, 1m30s]',
    '  podStart: { min: 1s, max: 2s }',
    '',
  ].join('\n');

  it('parses with quantities in milli-units and durations in ms', () => {
    const s = parse(text);
    expect(s.file).toBe(FILE);
    expect(s.name).toBe('tiny-2');
    expect(s.description).toBe('a two-node cluster');
    expect(s.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(s.nodes).toEqual([
      { name: 'node-1', cpu: 4000, memory: 8 * Gi * 1000 },
      { name: 'node-2', cpu: 16000, memory: 65536 * Mi * 1000 },
    ]);
    expect(s.rancher).toEqual({ agentNodes: ['node-2', 'node-1'] });
    expect(s.harvester).toEqual({ overheadRatioText: '1.5', overheadRatio: 1.5 });
    expect(s.namespaces).toHaveLength(2);
    const web = s.namespaces[0]!;
    expect(web.name).toBe('web');
    // The Rancher limit is kept as the user wrote it (numbers become strings).
    expect(web.quota).toEqual({ limitsCpu: '6500m', limitsMemory: '14Gi', pods: '10' });
    // VM cpu is in vCPUs; VM memory in milli-units.
    expect(web.vms).toEqual([
      { name: 'vm-1', node: 'node-1', cpu: 2, memory: 4 * Gi * 1000, evictionStrategy: 'LiveMigrate' },
      { name: 'vm-2', node: 'node-2', cpu: 1, memory: 512 * Mi * 1000, evictionStrategy: 'None' },
    ]);
    expect(s.namespaces[1]).toEqual({ name: 'empty', quota: { requestsCpu: '1' }, vms: [], pods: [] });
    expect(s.actions).toEqual([
      { type: 'migrate', namespace: 'web', vm: 'vm-1', timing: { at: 90_000 } },
      { type: 'restartAgent', timing: { between: [90_000, 120_000] } },
      { type: 'drain', node: 'node-1', timing: { at: 0 } },
      { type: 'editQuota', namespace: 'web', quota: { limitsCpu: '12' }, timing: { between: [250, 1500] } },
    ]);
    expect(s.strategies).toEqual(['v1.4.2']);
    expect(s.runs).toBe(7);
    expect(s.seed).toBe(42);
    expect(s.horizonMs).toBe(15 * 60_000);
    expect(s.latencies.migration).toEqual({ min: 40_000, max: 90_000 });
    expect(s.latencies.podStart).toEqual({ min: 1000, max: 2000 });
  });

  it('fills defaults: every strategy, 100 runs, seed 1, 30m horizon, no actions, LiveMigrate', () => {
    const s = parse(
      ['name: minimal', 'cluster:', '  nodes:', '    - { name: a, cpu: 1, memory: 1Gi }', '    - { name: b, cpu: 1, memory: 1Gi }', '  namespaces:', '    - { name: ns, quota: { limitsCpu: "500m" } }', ''].join('\n'),
    );
    expect(s.strategies).toBeUndefined();
    expect(s.runs).toBe(100);
    expect(s.seed).toBe(1);
    expect(s.horizonMs).toBe(30 * 60_000);
    expect(s.actions).toEqual([]);
    expect(s.rancher).toBeUndefined();
    expect(s.description).toBe('');
    expect(s.namespaces[0]!.vms).toEqual([]);
    expect(s.latencies.migration.min).toBeLessThanOrEqual(s.latencies.migration.max);
  });

  it('the default builder text is itself valid', () => {
    expect(parse(scenarioText()).actions).toHaveLength(1);
  });

  it('hash depends on the bytes of the file', () => {
    expect(parse(scenarioText()).hash).toBe(parse(scenarioText()).hash);
    expect(parse(scenarioText()).hash).not.toBe(parse(scenarioText() + '# comment\n').hash);
  });
});

describe('unknown keys', () => {
  it('an unknown top-level key is reported at that key, listing the expected keys', () => {
    const text = scenarioText({ extra: 'runz: 5' });
    const p = onlyProblem(text, 'runz');
    expect(p).toMatchObject(posOf(text, 'runz:'));
    expect(p.message).toContain('unknown key "runz"');
    for (const k of ['name', 'cluster', 'actions', 'strategies', 'runs', 'seed', 'horizon', 'latencies']) expect(p.message).toContain(k);
  });

  it('a typo inside an action ("drian") is reported at that key, listing the action keys', () => {
    const text = scenarioText({ actions: ['  - migrate: web/vm-1', '    at: 10s', '  - drian: node-1', '    at: 20s'].join('\n') });
    const p = onlyProblem(text, 'actions[1].drian');
    expect(p).toMatchObject(posOf(text, 'drian:'));
    expect(p.line).toBe(15);
    expect(p.col).toBe(5);
    expect(p.message).toContain('unknown key "drian"');
    expect(p.message).toMatch(/expected one of: drain, restartAgent, rolloutAgent, editQuota, editQuotaSpec, migrate, at, between/);
  });

  it("a typo in an expectation's metric is reported at the key, listing the metrics", () => {
    const text = scenarioText({ extra: 'expect:\n  v1.4.2: { quotaCorect: 1 }' });
    const p = onlyProblem(text, 'expect.v1.4.2.quotaCorect');
    expect(p).toMatchObject(posOf(text, 'quotaCorect'));
    expect(p.message).toBe('unknown key "quotaCorect" (expected one of: quotaCorrect, migrationsSucceeded, invariantViolations, settled)');
  });

  it('a typo in a quota key (in a flow mapping) points at the key', () => {
    const text = scenarioText({ quota: '{ limitCpu: "8" }' });
    const p = onlyProblem(text, 'cluster.namespaces[0].quota.limitCpu');
    expect(p).toMatchObject(posOf(text, 'limitCpu'));
    expect(p.message).toContain('limitsCpu');
  });

  it('a typo in a VM key is reported at the VM key', () => {
    const text = scenarioText({ vms: '        - { name: vm-1, node: node-1, cpu: 2, memroy: 4Gi }' });
    const problems = problemsOf(text);
    const typo = problems.find((p) => p.field === 'cluster.namespaces[0].vms[0].memroy');
    expect(typo).toBeDefined();
    expect(typo).toMatchObject(posOf(text, 'memroy'));
    expect(typo!.message).toMatch(/expected one of: name, node, cpu, memory, evictionStrategy/);
    // memory itself is now missing.
    expect(problems.map((p) => p.field)).toContain('cluster.namespaces[0].vms[0].memory');
  });

  it('a typo in a latency name lists the latency names', () => {
    const text = scenarioText({ extra: ['latencies:', '  migrtion: [40s, 90s]'].join('\n') });
    const p = onlyProblem(text, 'latencies.migrtion');
    expect(p).toMatchObject(posOf(text, 'migrtion'));
    expect(p.message).toContain('migration');
  });
});

describe('cross references', () => {
  it('migrate of an unknown VM: at the migrate value, naming the VM and listing the known ones', () => {
    const text = scenarioText({ actions: ['  - migrate: web/vm-9', '    at: 10s'].join('\n') });
    const p = onlyProblem(text, 'actions[0].migrate');
    expect(p).toMatchObject(posOf(text, 'web/vm-9'));
    expect(p.message).toContain('unknown VM "vm-9"');
    expect(p.message).toContain('vm-1');
    expect(p.message).toContain('vm-2');
  });

  it('migrate in an unknown namespace', () => {
    const text = scenarioText({ actions: ['  - migrate: nope/vm-1', '    at: 10s'].join('\n') });
    const p = onlyProblem(text, 'actions[0].migrate');
    expect(p.message).toContain('unknown namespace "nope"');
  });

  it('migrate that is not "namespace/vm"', () => {
    const text = scenarioText({ actions: ['  - migrate: vm-1', '    at: 10s'].join('\n') });
    const p = onlyProblem(text, 'actions[0].migrate');
    expect(p).toMatchObject(posOf(text, 'vm-1', 1));
    expect(p.message).toContain('namespace/vm');
  });

  it('a VM on an unknown node: at the node value, listing the nodes', () => {
    const text = scenarioText({ vms: '        - { name: vm-1, node: node-9, cpu: 2, memory: 4Gi }' });
    const p = onlyProblem(text, 'cluster.namespaces[0].vms[0].node');
    expect(p).toMatchObject(posOf(text, 'node-9'));
    expect(p.message).toBe('unknown node "node-9" (nodes: node-1, node-2)');
  });

  it('drain of an unknown node', () => {
    const text = scenarioText({ actions: ['  - drain: node-7', '    at: 10s'].join('\n') });
    const p = onlyProblem(text, 'actions[0].drain');
    expect(p).toMatchObject(posOf(text, 'node-7'));
    expect(p.message).toContain('unknown node "node-7"');
  });

  it('rancher agent on an unknown node', () => {
    const text = scenarioText({ rancher: ['  rancher:', '    agentNode: node-5'].join('\n') });
    const p = onlyProblem(text, 'cluster.rancher.agentNode');
    expect(p).toMatchObject(posOf(text, 'node-5'));
  });

  it('editQuota of an unknown namespace', () => {
    const text = scenarioText({ actions: ['  - editQuota: { namespace: db, quota: { limitsCpu: "4" } }', '    at: 10s'].join('\n') });
    const p = onlyProblem(text, 'actions[0].editQuota.namespace');
    expect(p).toMatchObject(posOf(text, 'db,'));
    expect(p.message).toContain('unknown namespace "db"');
  });

  it('restartAgent without cluster.rancher', () => {
    const text = scenarioText({ actions: ['  - restartAgent: {}', '    at: 5s'].join('\n') });
    const p = onlyProblem(text, 'actions[0].restartAgent');
    expect(p).toMatchObject(posOf(text, '{}'));
    expect(p.message).toContain('cluster.rancher');
  });

  it('restartAgent with cluster.rancher is fine', () => {
    const text = scenarioText({ rancher: ['  rancher:', '    agentNode: node-2'].join('\n'), actions: ['  - restartAgent: {}', '    at: 5s'].join('\n') });
    expect(parse(text).actions).toEqual([{ type: 'restartAgent', timing: { at: 5000 } }]);
  });

  it('duplicate VM names in a namespace: at the second name', () => {
    const text = scenarioText({
      vms: ['        - { name: vm-1, node: node-1, cpu: 1, memory: 1Gi }', '        - { name: vm-1, node: node-2, cpu: 1, memory: 1Gi }'].join('\n'),
    });
    const p = onlyProblem(text, 'cluster.namespaces[0].vms[1].name');
    expect(p).toMatchObject(posOf(text, 'vm-1', 1));
    expect(p.message).toContain('duplicate VM "vm-1"');
  });

  it('duplicate node names', () => {
    const text = scenarioText({ nodes: ['    - { name: node-1, cpu: 4, memory: 8Gi }', '    - { name: node-1, cpu: 4, memory: 8Gi }'].join('\n'), vms: '        - { name: vm-1, node: node-1, cpu: 1, memory: 1Gi }' });
    const p = onlyProblem(text, 'cluster.nodes[1].name');
    expect(p).toMatchObject(posOf(text, 'node-1', 1));
    expect(p.message).toContain('duplicate node');
  });

  it('unknown strategy name: at the list entry', () => {
    const text = scenarioText({ extra: 'strategies: [pre-fix, v9.9]' });
    const p = onlyProblem(text, 'strategies[1]');
    expect(p).toMatchObject(posOf(text, 'v9.9'));
    expect(p.message).toBe('unknown strategy "v9.9" (a built-in name, or a path to a .ts/.js module next to the scenario)');
  });
});

describe('values', () => {
  it('a quota that is not a quantity: at the value, quoting it', () => {
    const text = scenarioText({ quota: '{ limitsCpu: "lots", limitsMemory: 16Gi }' });
    const p = onlyProblem(text, 'cluster.namespaces[0].quota.limitsCpu');
    expect(p).toMatchObject(posOf(text, '"lots"'));
    expect(p.message).toMatch(/expected a Kubernetes quantity/);
    expect(p.message).toContain('"lots"');
  });

  it('a memory with a non-Kubernetes suffix ("4GB") is refused', () => {
    const text = scenarioText({ vms: '        - { name: vm-1, node: node-1, cpu: 2, memory: 4GB }' });
    const p = onlyProblem(text, 'cluster.namespaces[0].vms[0].memory');
    expect(p).toMatchObject(posOf(text, '4GB'));
    expect(p.message).toContain('"4GB"');
  });

  it('an empty quota is refused', () => {
    const text = scenarioText({ quota: '{}' });
    const p = onlyProblem(text, 'cluster.namespaces[0].quota');
    expect(p.message).toMatch(/expected at least one of limitsCpu/);
  });

  it('fractional vCPUs are refused', () => {
    const text = scenarioText({ vms: '        - { name: vm-1, node: node-1, cpu: 500m, memory: 1Gi }' });
    const p = onlyProblem(text, 'cluster.namespaces[0].vms[0].cpu');
    expect(p).toMatchObject(posOf(text, '500m'));
    expect(p.message).toMatch(/whole number of vCPUs/);
  });

  it('a bad duration: at the value, quoting it', () => {
    const text = scenarioText({ actions: ['  - migrate: web/vm-1', '    at: 10 seconds'].join('\n') });
    const p = onlyProblem(text, 'actions[0].at');
    expect(p).toMatchObject(posOf(text, '10 seconds'));
    expect(p.message).toMatch(/expected a duration such as/);
    expect(p.message).toContain('"10 seconds"');
  });

  it('between reversed: actions[1].between, at the list', () => {
    const text = scenarioText({ actions: ['  - migrate: web/vm-1', '    at: 10s', '  - migrate: web/vm-2', '    between: [20s, 10s]'].join('\n') });
    const p = onlyProblem(text, 'actions[1].between');
    expect(p).toMatchObject(posOf(text, '[20s, 10s]'));
    expect(p.message).toMatch(/from <= to/);
    expect(p.message).toContain('[20s, 10s]');
  });

  it('between with equal ends is fine, and 1m30s equals 90s', () => {
    const text = scenarioText({ actions: ['  - migrate: web/vm-1', '    between: [1m30s, 90s]'].join('\n') });
    expect(parse(text).actions[0]!.timing).toEqual({ between: [90_000, 90_000] });
  });

  it('between with one element', () => {
    const text = scenarioText({ actions: ['  - migrate: web/vm-1', '    between: [10s]'].join('\n') });
    onlyProblem(text, 'actions[0].between');
  });

  it('an action after the horizon', () => {
    const text = scenarioText({ actions: ['  - migrate: web/vm-1', '    at: 10m'].join('\n'), extra: 'horizon: 5m' });
    const p = onlyProblem(text, 'actions[0].at');
    expect(p.message).toContain('after the horizon');
    const text2 = scenarioText({ actions: ['  - migrate: web/vm-1', '    between: [1m, 6m]'].join('\n'), extra: 'horizon: 5m' });
    expect(onlyProblem(text2, 'actions[0].between').message).toContain('after the horizon');
  });

  it('a latency range with min > max', () => {
    const text = scenarioText({ extra: ['latencies:', '  migration: { min: 90s, max: 40s }'].join('\n') });
    const p = onlyProblem(text, 'latencies.migration');
    expect(p.message).toMatch(/min <= max/);
  });

  it('a VM with more vCPUs than its node: at cpu', () => {
    const text = scenarioText({ vms: '        - { name: vm-1, node: node-1, cpu: 8, memory: 4Gi }' });
    const p = onlyProblem(text, 'cluster.namespaces[0].vms[0].cpu');
    expect(p).toMatchObject(posOf(text, '8, memory: 4Gi'));
    expect(p.message).toBe('VM needs 8 vCPUs but node node-1 has 4');
  });

  it('a VM with more memory than its node: at memory', () => {
    const text = scenarioText({ vms: '        - { name: vm-1, node: node-1, cpu: 2, memory: 9Gi }' });
    const p = onlyProblem(text, 'cluster.namespaces[0].vms[0].memory');
    expect(p).toMatchObject(posOf(text, '9Gi'));
    expect(p.message).toContain('9Gi');
    expect(p.message).toContain('node-1');
  });

  it('a VM exactly the size of its node fits', () => {
    const text = scenarioText({ vms: '        - { name: vm-1, node: node-1, cpu: 4, memory: 8Gi }' });
    expect(parse(text).namespaces[0]!.vms[0]).toMatchObject({ cpu: 4, memory: 8 * Gi * 1000 });
  });

  it('a VM too big in both cpu and memory gets two problems', () => {
    const text = scenarioText({ vms: '        - { name: vm-1, node: node-1, cpu: 6, memory: 10Gi }' });
    const fields = problemsOf(text).map((p) => p.field);
    expect(fields).toEqual(['cluster.namespaces[0].vms[0].cpu', 'cluster.namespaces[0].vms[0].memory']);
  });

  it('fewer than 2 nodes', () => {
    const text = scenarioText({ nodes: '    - { name: node-1, cpu: 4, memory: 8Gi }', vms: '        - { name: vm-1, node: node-1, cpu: 1, memory: 1Gi }' });
    const p = onlyProblem(text, 'cluster.nodes');
    expect(p.line).toBe(posOf(text, '- { name: node-1').line);
    expect(p.message).toMatch(/at least 2 nodes/);
  });

  it('an evictionStrategy outside the enum', () => {
    const text = scenarioText({ vms: '        - { name: vm-1, node: node-1, cpu: 1, memory: 1Gi, evictionStrategy: Always }' });
    const p = onlyProblem(text, 'cluster.namespaces[0].vms[0].evictionStrategy');
    expect(p).toMatchObject(posOf(text, 'Always'));
    expect(p.message).toContain('LiveMigrate');
  });

  it('runs and seed must be whole numbers in range', () => {
    expect(onlyProblem(scenarioText({ extra: 'runs: 0' }), 'runs').message).toMatch(/at least 1 run/);
    expect(onlyProblem(scenarioText({ extra: 'runs: 2.5' }), 'runs').message).toMatch(/whole number/);
    expect(onlyProblem(scenarioText({ extra: 'seed: -1' }), 'seed').message).toMatch(/>= 0/);
  });
});

describe('actions', () => {
  it('an action with two kinds: at the action', () => {
    const text = scenarioText({ actions: ['  - migrate: web/vm-1', '    drain: node-1', '    at: 10s'].join('\n') });
    const p = onlyProblem(text, 'actions[0]');
    expect(p).toMatchObject(posOf(text, 'migrate: web/vm-1'));
    expect(p.message).toMatch(/one action per entry/);
    expect(p.message).toContain('drain');
    expect(p.message).toContain('migrate');
  });

  it('an action with no kind', () => {
    const text = scenarioText({ actions: ['  - migrate: web/vm-1', '    at: 10s', '  - at: 20s'].join('\n') });
    const p = onlyProblem(text, 'actions[1]');
    expect(p).toMatchObject(posOf(text, 'at: 20s'));
    expect(p.message).toMatch(/expected one of drain, restartAgent, rolloutAgent, editQuota, editQuotaSpec, migrate/);
  });

  it('an action with no timing', () => {
    const text = scenarioText({ actions: '  - migrate: web/vm-1' });
    const p = onlyProblem(text, 'actions[0]');
    expect(p).toMatchObject(posOf(text, 'migrate: web/vm-1'));
    expect(p.message).toMatch(/exactly one of "at: <duration>" or "between/);
  });

  it('an action with both at and between', () => {
    const text = scenarioText({ actions: ['  - migrate: web/vm-1', '    at: 1s', '    between: [1s, 2s]'].join('\n') });
    expect(onlyProblem(text, 'actions[0]').message).toMatch(/exactly one of/);
  });
});

describe('names', () => {
  it('a scenario name with uppercase letters: at the value', () => {
    const text = scenarioText({ name: 'Tiny' });
    const p = onlyProblem(text, 'name');
    expect(p).toEqual({ file: FILE, line: 1, col: 7, field: 'name', message: expect.stringMatching(/lowercase letters, digits and dashes/) });
  });

  it('a scenario name that is too long, or not a string, or missing', () => {
    expect(onlyProblem(scenarioText({ name: 'a'.repeat(64) }), 'name').message).toMatch(/at most 63/);
    expect(onlyProblem(scenarioText({ name: '123' }), 'name').message).toMatch(/a string/);
    const missing = onlyProblem(scenarioText().replace('name: tiny\n', ''), 'name');
    expect(missing.message).toMatch(/required/);
  });

  it('a 63-character name is fine', () => {
    expect(parse(scenarioText({ name: 'a'.repeat(63) })).name).toBe('a'.repeat(63));
  });

  it('a node name with an underscore', () => {
    const text = scenarioText({ nodes: ['    - { name: node_1, cpu: 4, memory: 8Gi }', '    - { name: node-2, cpu: 4, memory: 8Gi }'].join('\n') });
    const p = onlyProblem(text, 'cluster.nodes[0].name');
    expect(p).toMatchObject(posOf(text, 'node_1'));
  });
});

describe('YAML syntax', () => {
  it('a syntax error is reported with its line, as invalid YAML', () => {
    const text = ['name: tiny', 'cluster: {', '  nodes: [', ''].join('\n');
    const problems = problemsOf(text);
    expect(problems[0]!.message).toMatch(/^invalid YAML: /);
    expect(problems[0]!.field).toBe('');
  });

  it('a tab used as indentation points at its line', () => {
    const text = scenarioText().replace('  nodes:', '\tnodes:');
    const problems = problemsOf(text);
    expect(problems[0]!.line).toBe(3);
    expect(problems[0]!.message).toMatch(/invalid YAML/);
  });

  it('a duplicate key is a YAML error at the second key', () => {
    const text = scenarioText({ extra: 'name: again' });
    const problems = problemsOf(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ ...posOf(text, 'name: again'), field: '' });
    expect(problems[0]!.message).toMatch(/invalid YAML: .*unique/);
  });

  it('a document that is not a mapping', () => {
    for (const text of ['', 'just a string\n', '- a\n- b\n']) {
      const problems = problemsOf(text);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ line: 1, col: 1, field: '' });
      expect(problems[0]!.message).toMatch(/expected a YAML mapping/);
    }
  });
});

describe('several problems at once', () => {
  it('schema problems are all reported together, each at its own place', () => {
    const text = scenarioText({
      name: 'Bad-Name',
      nodes: '    - { name: node-1, cpu: 4, memory: 8Gi }',
      quota: '{ limitsCpu: "lots" }',
      actions: ['  - migrate: web/vm-1', '    drian: node-1', '    at: 10s'].join('\n'),
    });
    const problems = problemsOf(text);
    const byField = new Map(problems.map((p) => [p.field, p]));
    expect([...byField.keys()].sort()).toEqual(['actions[0].drian', 'cluster.namespaces[0].quota.limitsCpu', 'cluster.nodes', 'name'].sort());
    expect(byField.get('name')).toMatchObject(posOf(text, 'Bad-Name'));
    expect(byField.get('actions[0].drian')).toMatchObject(posOf(text, 'drian'));
    expect(byField.get('cluster.namespaces[0].quota.limitsCpu')).toMatchObject(posOf(text, '"lots"'));
    // The error's message is every problem, one per line, as the CLI prints them.
    let err: InputError | undefined;
    try {
      parse(text);
    } catch (e) {
      err = e as InputError;
    }
    expect(err!.message.split('\n')).toHaveLength(problems.length);
    for (const p of problems) expect(err!.message).toContain(`${FILE}:${p.line}:${p.col}: ${p.field}: ${p.message}`);
  });

  it('cross-reference problems are all reported together', () => {
    const text = scenarioText({
      vms: ['        - { name: vm-1, node: node-9, cpu: 2, memory: 4Gi }', '        - { name: vm-1, node: node-2, cpu: 1, memory: 1Gi }'].join('\n'),
      actions: ['  - migrate: web/vm-7', '    at: 10s', '  - restartAgent: {}', '    between: [30s, 20s]', '  - drain: node-3', '    at: 1s'].join('\n'),
      extra: 'strategies: [pre-fix, nope]',
    });
    const fields = problemsOf(text).map((p) => p.field);
    expect(fields).toEqual([
      'cluster.namespaces[0].vms[0].node',
      'cluster.namespaces[0].vms[1].name',
      'actions[0].migrate',
      'actions[1].between',
      'actions[1].restartAgent', // no cluster.rancher in this file
      'actions[2].drain',
      'strategies[1]',
    ]);
  });
});

describe('formatProblem', () => {
  it('prints file:line:col: field: message, or file: message without a position', () => {
    expect(formatProblem({ file: 'a.yaml', line: 3, col: 5, field: 'actions[0].at', message: 'bad' })).toBe('a.yaml:3:5: actions[0].at: bad');
    expect(formatProblem({ file: 'a.yaml', line: 1, col: 1, field: '', message: 'bad' })).toBe('a.yaml:1:1: bad');
    expect(formatProblem({ file: 'a.yaml', line: 0, col: 0, field: '', message: 'missing' })).toBe('a.yaml: missing');
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['1m30s', 90_000],
    ['5m', 300_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    ['1h1m1s1ms', 3_661_001],
    ['0', 0],
    ['0s', 0],
    [' 5s ', 5000],
    ['0.0005s', 1],
  ])('%j → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', ' ', '5', '-5s', '1d', '1m 30s', 's', '5S', '1e3s', 'abc', '10 seconds', '5s5', 'ms', '1.5.5s', '00'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseQuantity', () => {
  it.each([
    ['500m', 500],
    ['2', 2000],
    ['4Gi', 4 * Gi * 1000],
    ['512Mi', 512 * Mi * 1000],
    ['1Ki', Ki * 1000],
    ['1k', 1_000_000],
    ['1M', 1e9],
    ['1.5', 1500],
    ['.5', 500],
    ['1e3', 1_000_000],
    ['1E-3', 1],
    ['1n', 1], // rounds up to a whole milli-unit, like Quantity.MilliValue
    ['0.1', 100],
    [' 3 ', 3000],
    [2, 2000],
    [1.5, 1500],
  ] as const)('%j → %d milli-units', (text, milli) => {
    expect(parseQuantity(text)).toBe(milli);
  });

  it('zero is zero', () => {
    // Compared with === on purpose: parseQuantity("0") currently yields -0 (see report).
    expect(parseQuantity('0') === 0).toBe(true);
    expect(parseQuantity(0) === 0).toBe(true);
  });

  it.each(['', 'abc', '-1', '+1', '4GB', '4gi', '5 m', '0x10', 'Infinity', 'NaN', '1e100', '1Ei', -2])('%j is not a quantity', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});
