import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { handleJob } from '../src/explore/handle-job.js';
import type { FaultResult, PrepareResult } from '../src/explore/jobs.js';
import { runPilot } from '../src/explore/pilot.js';
import { loadScenario } from '../src/scenario/load.js';
import { loadStrategyFile } from '../src/strategies/loader.js';

/**
 * The determinism checks that need a strategy module in fresh module instances, each on a
 * fixture only it catches, through the worker's own jobs (in process; the module loader points
 * "quotarace" at dist/, hence the CLI tier). The same-seed check and the strict-replay check
 * are in test/determinism.test.ts (unit tier).
 */
const FIX = resolve('test/fixtures/strategies');
const SCENARIO = resolve('scenarios/3-agent-restart-during-migration.yaml');
const scenarioText = readFileSync(SCENARIO, 'utf8');

beforeAll(() => {
  expect(readFileSync('dist/index.js', 'utf8').length).toBeGreaterThan(0);
});

const faultOf = (r: unknown): string | undefined => (r && typeof r === 'object' && 'fault' in r ? JSON.stringify((r as FaultResult).fault) : undefined);

describe('before a campaign: the same seed in two fresh module instances, one of which ran other seeds first', () => {
  it('catches module state that two runs of one seed cannot show (the first migration the instance saw)', async () => {
    const r = await handleJob({ type: 'prepare', scenarioText, scenarioFile: SCENARIO, strategy: join(FIX, 'first-seen.ts'), window: 25 });
    expect(faultOf(r)).toMatch(/is not deterministic: the same run \(seed \d+\) printed another trace in a fresh module instance that had run other seeds first, from trace line \d+/);
    expect(faultOf(r)).toContain('example.com/first');
  });

  it('passes a module whose decisions are a function of what it read (control)', async () => {
    const r = (await handleJob({ type: 'prepare', scenarioText, scenarioFile: SCENARIO, strategy: resolve('scenarios/strategies/exact-delta.ts'), window: 25 })) as PrepareResult;
    expect(faultOf(r)).toBeUndefined();
    expect('pilot' in r && r.pilot.actors.length).toBeGreaterThan(0);
  });
});

describe('after a chunk of a campaign: its last run again in a fresh module instance', () => {
  it('catches module state that shows only after many runs (late-counter)', async () => {
    const strategy = join(FIX, 'late-counter.ts');
    const pilot = runPilot(loadScenario(SCENARIO, () => true), await loadStrategyFile(strategy, { instance: 'pilot' }), 25);
    const r = await handleJob({ type: 'runs', scenarioText, scenarioFile: SCENARIO, strategy, pilot, mode: 'random', depth: 3, window: 25, from: 1, to: 41 });
    expect(faultOf(r)).toMatch(/is not deterministic: run random:40 ended differently in a fresh module instance \(\d+ steps\) than after the other runs of its chunk \(\d+ steps\)/);
  });

  it('passes a deterministic module (control)', async () => {
    const strategy = resolve('scenarios/strategies/exact-delta.ts');
    const pilot = runPilot(loadScenario(SCENARIO, () => true), await loadStrategyFile(strategy, { instance: 'pilot' }), 25);
    const r = await handleJob({ type: 'runs', scenarioText, scenarioFile: SCENARIO, strategy, pilot, mode: 'random', depth: 3, window: 25, from: 1, to: 41 });
    expect(faultOf(r)).toBeUndefined();
    expect(r).toMatchObject({ runs: 40 });
  });
});
