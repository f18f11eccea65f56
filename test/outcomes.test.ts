import { describe, expect, it } from 'vitest';
import { loadScenario } from '../src/scenario/load.js';
import { runPlain } from '../src/explore/campaign.js';
import { runOnce } from '../src/sim/run.js';
import { Timeline } from '../src/sim/timeline.js';
import { BUILTIN_STRATEGIES, builtinStrategy } from '../src/strategies/builtin.js';
import { parseQuantity } from '../src/cluster/quantity.js';

const load = (f: string) => loadScenario(`scenarios/${f}`, (n) => builtinStrategy(n) !== undefined);
const preFix = builtinStrategy('pre-fix')!;
const v142 = builtinStrategy('v1.4.2')!;

describe('the #7178 incident scenario', () => {
  const scenario = load('1-incident-7178.yaml');
  const [pre, fixed] = runPlain(scenario, [preFix, v142], 60, 1);

  it('v1.4.2 ends every run with the user quota and every VM moved', () => {
    expect(fixed!.quotaCorrect).toBe(1);
    expect(fixed!.migrationsSucceeded).toBe(1);
  });

  it('pre-fix loses: the quota ends below the user value by whole VM deltas, as 30 became 26 in #7178', () => {
    expect(pre!.quotaCorrect).toBeLessThan(0.9);
    const cpuDelta = 4000;
    let below = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const o = runOnce(scenario, preFix, seed);
      if (o.quotaCorrect) continue;
      const cpu = o.quota.find((c) => c.resource === 'limits.cpu')!;
      if (cpu.actual! < cpu.wanted) {
        below++;
        expect((cpu.wanted - cpu.actual!) % cpuDelta).toBe(0);
      }
    }
    expect(below).toBeGreaterThan(0);
  });

  it('the two agent pods are evicted by the drain and replaced again by the rollout: three or four pod restarts per run, as the report saw three', () => {
    for (const s of [fixed!, pre!]) {
      expect(s.agentRestarts).toBeGreaterThanOrEqual(3);
      expect(s.agentRestarts).toBeLessThanOrEqual(4);
    }
  });

  it("prints the incident's own refusal line: 30 CPU became 26, 60Gi became 54242646Ki", () => {
    let found = false;
    for (let seed = 1; seed <= 10 && !found; seed++) {
      const t = new Timeline();
      runOnce(scenario, preFix, seed, { trace: t });
      found = t.entries.some(
        (e) => e.kind === 'refused' && /exceeded quota: default-\w+, requested: limits\.cpu=4015m,limits\.memory=8940039936, used: limits\.cpu=\d+m,limits\.memory=\d+, limited: limits\.cpu=26,limits\.memory=54242646Ki$/.test(e.err!.message),
      );
    }
    expect(found).toBe(true);
  });

  // remotedialer v0.4.0 session_manager.go getDialer: every connection rides sessions[0].
  it('with the agents spread over two nodes (the default), pre-fix ends right when the drained node\'s agent was not the first to connect, and drifts in some runs when it was', () => {
    const drainOnly = scenario.actions.filter((a) => a.type === 'drain');
    const kept = { ...scenario, rancher: { agentNodes: ['node-1', 'node-2'], carrier: 'node-2' }, actions: drainOnly };
    const [p] = runPlain(kept, [preFix], 20, 1);
    expect(p!.quotaCorrect).toBe(1);
    const lost = { ...scenario, rancher: { agentNodes: ['node-1', 'node-2'], carrier: 'node-1' }, actions: drainOnly };
    const [q] = runPlain(lost, [preFix], 20, 1);
    expect(q!.quotaCorrect).toBeLessThan(1);
  });
});

describe('the four v1.4.2 validation cases', () => {
  for (const file of ['2-normal-migration.yaml', '3-agent-restart-during-migration.yaml', '4-long-vm-name.yaml', '5-quota-near-saturation.yaml']) {
    it(`${file}: v1.4.2 scores 100% on both rates`, () => {
      const s = load(file);
      const [r] = runPlain(s, [v142], 40, s.seed);
      expect(r!.quotaCorrect).toBe(1);
      expect(r!.migrationsSucceeded).toBe(1);
    });
  }

  it('long VM name: pre-fix never migrates (its annotation key is invalid)', () => {
    const s = load('4-long-vm-name.yaml');
    const [r] = runPlain(s, [preFix], 20, 1);
    expect(r!.migrationsSucceeded).toBe(0);
  });

  it('agent restart during a migration: pre-fix ends with a wrong quota in most runs', () => {
    const s = load('3-agent-restart-during-migration.yaml');
    const [r] = runPlain(s, [preFix], 40, 1);
    expect(r!.quotaCorrect).toBeLessThan(0.5);
  });
});

describe('the control scenario', () => {
  it('every built-in strategy scores 100% on both rates', () => {
    const s = load('6-control-no-race.yaml');
    for (const r of runPlain(s, BUILTIN_STRATEGIES, 40, 1)) {
      expect(r.quotaCorrect, r.name).toBe(1);
      expect(r.migrationsSucceeded, r.name).toBe(1);
    }
  });
});

describe('determinism', () => {
  it('the same scenario, strategy and seed give a byte-identical trace', () => {
    const s = load('1-incident-7178.yaml');
    const trace = (seed: number) => {
      const t = new Timeline();
      runOnce(s, preFix, seed, { trace: t });
      return t.format();
    };
    const a = trace(7);
    expect(a.length).toBeGreaterThan(1000);
    expect(trace(7)).toBe(a);
    expect(trace(8)).not.toBe(a);
  });

  it('strategies run on the same seed see the same action times', () => {
    const s = load('3-agent-restart-during-migration.yaml');
    const firstLines = (strategy: typeof preFix) => {
      const t = new Timeline();
      runOnce(s, strategy, 3, { trace: t });
      return t.entries.filter((e) => e.actor === 'scenario').map((e) => `${e.t} ${e.text}`);
    };
    expect(firstLines(preFix)).toEqual(firstLines(v142));
  });

  it('a trace and a campaign run of the same seed agree on the outcome', () => {
    const s = load('1-incident-7178.yaml');
    const traced = runOnce(s, preFix, 4, { trace: new Timeline() });
    const plain = runOnce(s, preFix, 4);
    expect(plain).toEqual(traced);
    expect(parseQuantity('30')).toBe(30_000);
  });
});
