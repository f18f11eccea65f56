import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { Progress, duration } from '../src/cli/progress.js';
import { formatTable, TABLE_WIDTH } from '../src/report/table.js';
import { human } from '../src/report/units.js';
import { timelineFilter, type TimelineEntry } from '../src/sim/timeline.js';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('the command line answers briefly', () => {
  it('--version and -h', async () => {
    expect((await cli('--version')).out).toMatch(/^quotarace \d+\.\d+\.\d+$/);
    const h = await cli('-h');
    expect(h.code).toBe(0);
    expect(h.out).toContain('check <strategy.ts>');
    const r = await cli('run', '--help');
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/\[array\]|\[required\]|\[default: \[\]\]/);
    expect(r.out).toContain('--wide');
  });

  it('a bad flag in at most two lines, exit 2', async () => {
    for (const argv of [['run', 'x.yaml', '--bogus'], ['run', 'x.yaml', '--runs'], ['run', 'x.yaml', '--explore', 'foo']]) {
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.err.split('\n').length, r.err).toBeLessThanOrEqual(2);
      expect(r.out).toBe('');
    }
    expect((await cli('run', 'x.yaml', '--runs')).err).toContain('--runs needs a value');
    const abc = await cli('run', 'scenarios/2-normal-migration.yaml', '--runs', 'abc');
    expect(abc.code).toBe(2);
    expect(abc.err).toContain('got abc');
    expect(abc.err).not.toContain('NaN');
  });
});

describe('terminal output', () => {
  it('quantities exactly as the trace prints them: millicores, memory down to the byte', () => {
    expect(human(64 * 2 ** 30 * 1000, 'limits.memory')).toBe('64Gi');
    expect(human(24 * 2 ** 30 * 1000 + 2 ** 20 * 1000, 'limits.memory')).toBe('24577Mi');
    // One byte over 24Gi is not "24Gi" (nor "24.00Gi"): the byte is the difference.
    expect(human((24 * 2 ** 30 + 1) * 1000, 'limits.memory')).toBe('25769803777');
    expect(human(26037538817 * 1000, 'limits.memory')).toBe('26037538817');
    expect(human(32120, 'limits.cpu')).toBe('32120m');
    expect(human(6055, 'limits.cpu')).toBe('6055m');
    expect(human(1, 'limits.cpu')).toBe('1m');
    expect(human(26000, 'limits.cpu')).toBe('26');
  });

  it('the default table fits 120 columns; --wide shows the counters', () => {
    const st = {
      name: 'v1.4.2-watch-namespaces', runs: 20000, quotaCorrect: 0.5, migrationsSucceeded: 0.9, vmsMoved: 9, vmsToMove: 10, invariantViolations: 0.1, settled: 1,
      targetPodsRejectedByQuota: 183.9, conflicts: 27.04, editsRefused: 0, editsRefusedForGood: 0, agentRestarts: 1, drainSeconds: { mean: 187.2, max: 200 }, drainsUnfinished: 0,
      failingRuns: ['random:1', 'random:2', 'random:3', 'random:4', 'random:5'], failures: [{ signature: 'x', runs: 10000, firstRun: 'random:1', breaks: ['quota' as const] }],
      firstBreaking: {}, endedAtHorizon: 0, failingAtHorizon: 0, exploration: { selector: 'random' as const }, evidence: [],
    };
    const s = { name: 'incident-7178', file: 'scenarios/1-incident-7178.yaml', runs: 20000, seed: 1, explore: 'random' as const, strategies: [st] };
    const narrow = formatTable(s);
    for (const l of narrow.split('\n')) expect(l.length, l).toBeLessThanOrEqual(TABLE_WIDTH);
    expect(narrow).not.toContain('409s/run');
    expect(narrow).toMatch(/random:1 .*\+\d+/);
    expect(formatTable(s, { wide: true })).toContain('409s/run');
  });

  it('the progress bar names the scenario, the strategy and the phase, and shows an ETA', () => {
    let now = 0;
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((c: string) => (writes.push(c), true)) as typeof process.stderr.write;
    try {
      const p = new Progress(true, () => now, () => 120);
      const phases = p.scenario('incident-7178', ['pre-fix', 'v1.4.2']);
      phases.pilot!('pre-fix');
      phases.runs!('pre-fix', 0, 4);
      now = 1000;
      phases.runs!('pre-fix', 2, 4);
      now = 2000;
      phases.pilot!('v1.4.2');
      phases.runs!('v1.4.2', 1, 4);
      phases.evidence!('pre-fix', 1, 3);
      p.clear();
    } finally {
      process.stderr.write = orig;
    }
    expect(writes[0]).toContain('pilot · incident-7178 · pre-fix (1/2)');
    expect(writes[2]).toContain('runs · incident-7178 · pre-fix (1/2)');
    expect(writes[2]).toMatch(/25% {2}ETA 3s/);
    expect(writes[3]).toContain('pilot · incident-7178 · v1.4.2 (2/2)');
    expect(writes[4]).toContain('runs · incident-7178 · v1.4.2 (2/2)');
    expect(writes[4]).toMatch(/62%/);
    expect(writes[5]).toContain('shrink, evidence · incident-7178 · pre-fix (1/2)');
    expect(writes[5]).toMatch(/33%/);
    expect(duration(75_000)).toBe('1m15s');
  });

  it('a run into a reports folder that holds another campaign says what it replaces; a re-run says nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quotarace-replaces-'));
    try {
      const common = ['--runs', '2', '--strategy', 'v1.4.2', '--workers', '1', '--no-progress', '--no-evidence', '--reports', dir];
      const first = await cli('run', 'scenarios/6-control-no-race.yaml', 'scenarios/2-normal-migration.yaml', ...common);
      expect(first.code, first.err).toBe(0);
      expect(first.err).toBe('');
      const second = await cli('run', 'scenarios/2-normal-migration.yaml', ...common);
      expect(second.code, second.err).toBe(0);
      expect(second.err).toBe('');
      // The last line, after the run's summary line.
      const last = second.out.trimEnd().split('\n').at(-1)!;
      expect(last).toContain(`note: ${join(dir, 'index.html')} holds another campaign (quotarace run scenarios/6-control-no-race.yaml scenarios/2-normal-migration.yaml`);
      expect(last).toContain('it rewrites normal-migration.html');
      expect(last).toContain(`control-no-race.html stays in ${dir}, no longer linked`);
      const again = await cli('run', 'scenarios/2-normal-migration.yaml', ...common);
      expect(again.out).not.toContain('note:');
      // --json prints the JSON document alone.
      const json = await cli('run', 'scenarios/6-control-no-race.yaml', ...common, '--json');
      expect(() => JSON.parse(json.out)).not.toThrow();
      expect(json.err).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('trace --only filters by kind or actor', () => {
    const e = (actor: string, kind: TimelineEntry['kind']) => ({ t: 0, actor, kind, text: '', step: 0 }) as TimelineEntry;
    const xs = [e('harvester/vm-migration-controller', 'write'), e('virt-controller', 'refused'), e('cattle-cluster-agent', 'note')];
    expect(xs.filter(timelineFilter('writes')!).map((x) => x.actor)).toEqual(['harvester/vm-migration-controller']);
    expect(xs.filter(timelineFilter('refusals')!).map((x) => x.actor)).toEqual(['virt-controller']);
    expect(xs.filter(timelineFilter('actor=harvester')!).length).toBe(1);
    expect(xs.filter(timelineFilter('actor=virt')!).length).toBe(1);
    expect(xs.filter(timelineFilter('actor=virt-c')!).length).toBe(0);
    expect(timelineFilter('bogus')).toBeUndefined();
  });
});
