import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { coverageOfPoints, coverageSummary, explore, exhaustiveReplaySelector, fixedDraw } from '../src/explore/exhaustive.js';
import { runPilot } from '../src/explore/pilot.js';
import { formatRunId, parseRunId, runById, RunIdError, type RunId } from '../src/explore/run-id.js';
import { loadScenario } from '../src/scenario/load.js';
import { runOnce } from '../src/sim/run.js';
import { failed, failureKind } from '../src/sim/outcome.js';
import { defineStrategy, type Strategy, type View } from '../src/strategies/api.js';
import { builtinStrategy } from '../src/strategies/builtin.js';
import { StrategyFault } from '../src/strategies/fault.js';

/**
 * `--latency-points N`: an exhaustive search fixes one latency per stream (fixedDraw); a latency
 * point is one such choice. Point 0 is the one every search used before points existed (so old
 * run ids replay as they did); the others are searched each on its own, and their runs are
 * named with an l<point> segment that reproduces them.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const incident = loadScenario(join(ROOT, 'scenarios', '1-incident-7178.yaml'), (n) => builtinStrategy(n) !== undefined);
const preFix = builtinStrategy('pre-fix')!;

/** fixedDraw as it was before latency points: point 0 must give exactly these values. */
function legacyDraw(n: number, stream: string): number {
  if (n <= 2) return n >> 1;
  let h = 2166136261;
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 16777619);
  const spread = Math.max(1, n >> 1);
  return Math.min(n - 1, (n >> 2) + ((h >>> 0) % spread));
}

const STREAMS = ['kube-controller-manager/cacheLag', 'virt-controller/reconcile', 'harvester/apiCall', 'cattle-cluster-agent/agentStart', 'node-1/podStart', 'rancher/tunnel', 'kubevirt/migration', 'user/userRetry'];
const SIZES = [1, 2, 3, 6, 20, 39, 150, 12_001, 50_001];

describe('latency points (fixedDraw)', () => {
  it('point 0 draws what every exhaustive search drew before points existed', () => {
    for (const s of STREAMS) for (const n of SIZES) expect(fixedDraw(n, s, 0), `${s} ${n}`).toBe(legacyDraw(n, s));
    for (const s of STREAMS) expect(fixedDraw(150, s)).toBe(fixedDraw(150, s, 0));
  });

  it('every point keeps each stream in the middle half of its range, and other points move most streams', () => {
    let moved = 0;
    for (let p = 0; p < 16; p++)
      for (const s of STREAMS)
        for (const n of SIZES) {
          const v = fixedDraw(n, s, p);
          expect(v).toBeGreaterThanOrEqual(n <= 2 ? 0 : n >> 2);
          expect(v).toBeLessThan(n);
          if (n > 2) expect(v).toBeLessThanOrEqual((n >> 2) + Math.max(1, n >> 1) - 1);
          if (p > 0 && n >= 150 && v !== fixedDraw(n, s, 0)) moved++;
        }
    // 15 points × 8 streams × 3 wide ranges: nearly all differ from point 0.
    expect(moved).toBeGreaterThan(15 * 8 * 3 * 0.9);
  });

  it("an exhaustive run's draw at a point is the stream's one value, whatever was drawn before (the state key stays sound)", () => {
    for (let p = 0; p < 4; p++) {
      const sel = exhaustiveReplaySelector([], p);
      const first = sel.choose('draw', 1000, 'a/b');
      expect(first).toBe(fixedDraw(1000, 'a/b', p));
      // Other streams' draws and this stream's own earlier draws move nothing.
      for (let i = 0; i < 20; i++) sel.choose('draw', 50 + i, `other/${i}`);
      for (let i = 0; i < 5; i++) expect(sel.choose('draw', 1000, 'a/b')).toBe(first);
    }
  });
});

describe('run ids carry the latency point', () => {
  it('exhaustive[:w<window>][:l<point>]:<seed>:<branches>, point 0 written as before', () => {
    const id = parseRunId('exhaustive:w5:l3:1:0*7.2');
    expect(id).toEqual({ explorer: 'exhaustive', seed: 1, window: 5, branches: [0, 0, 0, 0, 0, 0, 0, 2], latencyPoint: 3 });
    expect(formatRunId(id)).toBe('exhaustive:w5:l3:1:0*7.2');
    expect(formatRunId(parseRunId('exhaustive:l0:1:-'))).toBe('exhaustive:1:-');
    expect(parseRunId('exhaustive:1:-')).toEqual({ explorer: 'exhaustive', seed: 1, window: 0, branches: [] });
  });

  it('a bad latency point is bad input that says what a point is', () => {
    for (const bad of ['exhaustive:l:1:-', 'exhaustive:lx:1:-', 'exhaustive:l10000:1:-', 'exhaustive:l-1:1:-']) {
      expect(() => parseRunId(bad), bad).toThrow(RunIdError);
      expect(() => parseRunId(bad), bad).toThrow(/latency point is l<integer 0\.\.9999>/);
    }
    // Random and PCT runs draw every latency: no point segment.
    expect(() => parseRunId('random:l3:1')).toThrow(RunIdError);
  });
});

describe('searching more latency points finds what point 0 misses (incident, pre-fix, no delays)', () => {
  const reports = mkdtempSync(join(tmpdir(), 'quotarace-latency-points-'));
  afterAll(() => rmSync(reports, { recursive: true, force: true }));
  const pilot = runPilot(incident, preFix, 0);
  const search = (latencyPoint: number) => explore(incident, preFix, pilot, 0, 10, incident.seed, undefined, 0, { latencyPoint });

  it('point 0 has no failure, point 1 has the incident`s; its run id names the point and replays the failure', () => {
    const zero = search(0);
    expect(zero.complete).toBe(true);
    expect(zero.failures).toHaveLength(0);
    const one = search(1);
    expect(one.complete).toBe(true);
    expect(one.failures).toHaveLength(1);
    const f = one.failures[0]!;
    expect(failureKind(f.outcome)).toMatch(/quota default\/limits\.cpu/);
    const text = formatRunId({ explorer: 'exhaustive', seed: incident.seed, window: 0, branches: f.prefix, latencyPoint: 1 });
    expect(text).toBe('exhaustive:l1:1:-');
    const again = runById(incident, preFix, parseRunId(text), pilot);
    expect(failed(again)).toBe(true);
    expect(again.fingerprint).toBe(f.outcome.fingerprint);
    // The same branches at point 0 are another run: the point is part of the run.
    expect(failed(runById(incident, preFix, parseRunId('exhaustive:1:-'), pilot))).toBe(false);
  });

  it('`run --latency-points 3` merges the points in order and says which latencies it searched', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['run', join(ROOT, 'scenarios', '1-incident-7178.yaml'), '--strategy', 'pre-fix', '--explore', 'exhaustive', '--delays', '0', '--latency-points', '3', '--json', '--no-evidence', '--workers', '1', '--reports', reports], { out: (t) => out.push(t), err: (t) => err.push(t) });
    // pre-fix is expected to fail (quotaCorrect <= 0.5); 1 of 3 runs failing is above that: exit 1, not a crash.
    expect(code, err.join('\n')).toBe(1);
    const doc = JSON.parse(out.join('')) as { scenarios: Array<{ strategies: Array<{ runs: number; failingRuns: string[]; exploration: { summary: string; latencyPoints?: number; complete: boolean } }> }> };
    const st = doc.scenarios[0]!.strategies[0]!;
    expect(st.runs).toBe(3);
    expect(st.exploration.latencyPoints).toBe(3);
    expect(st.exploration.complete).toBe(true);
    expect(st.exploration.summary).toMatch(/^complete up to 0 delays at latency points 0–2 \(/);
    expect(st.failingRuns).toEqual(['exhaustive:l1:1:-']);
    // The report's verdict names the latencies searched, and says what a complete search leaves out.
    const html = readFileSync(join(reports, 'incident-7178.html'), 'utf8');
    expect(html).toMatch(/Fails in 1 of 3 interleavings \(every one of at most 0 delays explored, at latency points 0–2\)/);
    expect(html).toMatch(/Counters of what happened along a run .* even a complete search does not bound them/);
  });

  it('--latency-points: 1 is the search as always; the run line keeps N, so executed as printed it is the same search', async () => {
    const { campaignOptions } = await import('../src/cli/plans.js');
    const { UsageError } = await import('../src/cli/io.js');
    const { runLine } = await import('../src/cli/runline.js');
    const base = { runs: 1, seed: 1, depth: 3, 'max-runs': 100, explore: 'exhaustive' };
    expect(campaignOptions({ ...base, 'latency-points': 1 }, undefined).latencyPoints).toBeUndefined();
    expect(campaignOptions({ ...base, 'latency-points': 3 }, undefined).latencyPoints).toBe(3);
    for (const bad of [0, -2, 10_001, 2.5]) expect(() => campaignOptions({ ...base, 'latency-points': bad }, undefined), String(bad)).toThrow(UsageError);
    const plan = (n?: number) => ({ s: incident, text: '', strategies: [preFix], opts: campaignOptions(n === undefined ? base : { ...base, 'latency-points': n }, incident) });
    expect(runLine([plan(3)], true).command).toMatch(/ --explore exhaustive --max-runs 100 --latency-points 3 /);
    expect(runLine([plan()], true).command).not.toContain('--latency-points');
  });

  it('--latency-points needs --explore exhaustive', async () => {
    const err: string[] = [];
    const code = await main(['run', join(ROOT, 'scenarios', '1-incident-7178.yaml'), '--latency-points', '3', '--runs', '1'], { out: () => {}, err: (t) => err.push(t) });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/--latency-points .*use it with --explore exhaustive/);
  });
});

describe('the coverage of several points', () => {
  const point = (complete: boolean, runs: number, delaysComplete?: number) => ({ complete, runs, pruned: 1, ...(delaysComplete !== undefined ? { delays: 2, delaysComplete } : {}) });

  it('is complete only when every point is, and names the points that stopped', () => {
    const all = coverageOfPoints([point(true, 5), point(true, 7), point(true, 1)]);
    expect(all).toEqual({ complete: true, runs: 13, pruned: 3, latencyPoints: 3 });
    expect(coverageSummary(all, 100, 2)).toBe('complete at latency points 0–2 (DPOR: one interleaving per order of conflicting steps): 13 distinct interleavings, 2 failures (3 duplicate states pruned)');
    const some = coverageOfPoints([point(true, 5), point(false, 7), point(false, 1), point(false, 2), point(true, 1), point(false, 3)]);
    expect(some.incompletePoints).toEqual([1, 2, 3, 5]);
    expect(coverageSummary(some, 100, 0)).toMatch(/^incomplete at latency points 0–5 \(DPOR: one interleaving per order of conflicting steps; stopped at --max-runs 100 at points 1–3, 5, each point's search having its own\): 19 distinct/);
  });

  it('with a delay bound, says the bound every point covered, and each stopped point its own', () => {
    const x = coverageOfPoints([point(true, 5, 2), point(false, 7, 1)]);
    expect(x.delaysComplete).toBe(1);
    expect(coverageSummary(x, 100, 0)).toMatch(/^complete up to 1 delay at latency points 0, 1; stopped at --max-runs 100 at point 1 \(complete up to 1 delay\), each point's search having its own: 12 distinct/);
    // Asked 2; point 0 stopped after covering 1, point 1 after 0, point 2 covered none: no point is blamed for a bound it covered.
    const y = coverageOfPoints([point(false, 5, 1), point(false, 7, 0), point(false, 1, -1), point(true, 3, 2)]);
    expect(y.delaysComplete).toBe(-1);
    expect(coverageSummary(y, 100, 0)).toBe(
      "not complete at latency points 0–3 for any delay bound; stopped at --max-runs 100 at point 2 (no bound complete) and point 1 (complete up to 0 delays) and point 0 (complete up to 1 delay), each point's search having its own: 16 distinct interleavings, 0 failures (4 duplicate states pruned)",
    );
    // One point is the search as it always was: its summary says "at fixed latencies".
    expect(coverageOfPoints([point(true, 5)])).toEqual(point(true, 5));
    expect(coverageSummary(point(true, 5), 100, 0)).toMatch(/^complete at fixed latencies /);
  });
});

/**
 * v1.4.2 with one more reconciler, on migrations' events, that throws when `bad` holds: as
 * test/fixtures/strategies/agent-gone.ts and lone-agent.ts (the modules the CLI tier runs) do.
 */
function throwsWhen(name: string, bad: (view: View, phase: string | undefined) => boolean): Strategy {
  const v142 = builtinStrategy('v1.4.2')!;
  return defineStrategy({
    ...v142,
    name,
    description: `v1.4.2, and throws when ${name}`,
    reconcilers: [
      ...v142.reconcilers,
      {
        name: 'agent-watch',
        watches: ['VirtualMachineInstanceMigration'],
        reconcile(key, view) {
          if (bad(view, view.get('VirtualMachineInstanceMigration', key)?.status.phase)) throw new Error(`${name}: bad state`);
          return undefined;
        },
      },
    ],
  });
}
const agents = (view: View) => view.list('Pod').filter((p) => p.metadata.name.startsWith('cattle-cluster-agent'));
/** A migration Running while Rancher's cluster agent has no pod: some interleavings of tiny-agent-restart at point 0. */
const agentGone = throwsWhen('agent-gone', (view, phase) => phase === 'Running' && agents(view).length === 0);
/** A migration Pending while the agent is down to one pending pod: points 2 and 3 of tiny-agent-restart, not 0 or 1. */
const loneAgent = throwsWhen('lone-agent', (view, phase) => phase === 'Pending' && agents(view).length === 1 && agents(view)[0]!.status.phase === 'Pending');

describe('a strategy fault in an exhaustive search names the run that faulted', () => {
  const tiny = loadScenario(join(ROOT, 'scenarios', '7-tiny-agent-restart.yaml'), (n) => builtinStrategy(n) !== undefined);
  const faultOf = (f: () => unknown): StrategyFault => {
    try {
      f();
    } catch (e) {
      if (e instanceof StrategyFault) return e;
      throw e;
    }
    throw new Error('no strategy fault');
  };
  /** The search at `point` faults; the fault's run id replays (as `trace --run` does) to the same fault. */
  const searchFaults = (strategy: Strategy, point: number): StrategyFault => {
    const pilot = runPilot(tiny, strategy, 0);
    const fault = faultOf(() => explore(tiny, strategy, pilot, 0, 10_000, tiny.seed, undefined, undefined, { latencyPoint: point }));
    expect(fault.run, fault.describe()).toBeDefined();
    const again = faultOf(() => runById(tiny, strategy, parseRunId(fault.run!), pilot));
    expect(again.describe()).toBe(fault.describe());
    expect(again.step).toBe(fault.step);
    return fault;
  };

  it('at point 0: an id with the branches of the interleaving that faulted (not the first), which replays to the same fault', () => {
    // The random runs a campaign checks a strategy with before it searches do not fault.
    for (let seed = tiny.seed; seed < tiny.seed + 4; seed++) expect(() => runOnce(tiny, agentGone, seed, { window: 0 })).not.toThrow();
    const fault = searchFaults(agentGone, 0);
    expect(fault.run).toMatch(/^exhaustive:1:\d/);
    expect(fault.describe()).toMatch(/^strategy agent-gone \(scenario tiny-agent-restart, run exhaustive:1:[\d.*]+, step \d+\): reconciler agent-watch threw on key web\/\S+: agent-gone: bad state$/);
    // The search's first run (every choice its default) does not fault: the branches matter.
    expect(() => runById(tiny, agentGone, parseRunId('exhaustive:1:-'), runPilot(tiny, agentGone, 0))).not.toThrow();
  });

  it('at another latency point: the id says the point, and replays there (the same branches at point 0 do not fault)', () => {
    for (let seed = tiny.seed; seed < tiny.seed + 4; seed++) expect(() => runOnce(tiny, loneAgent, seed, { window: 0 })).not.toThrow();
    const pilot = runPilot(tiny, loneAgent, 0);
    const fault = searchFaults(loneAgent, 2);
    expect(fault.run).toMatch(/^exhaustive:l2:1:\d/);
    const { latencyPoint: _, ...atZero } = parseRunId(fault.run!) as Extract<RunId, { explorer: 'exhaustive' }>;
    expect(() => runById(tiny, loneAgent, atZero, pilot)).not.toThrow();
  });
});
