import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { Choices, RandomSelector, type ChoiceKind, type Selector } from '../src/kernel/choice.js';
import { explore } from '../src/explore/exhaustive.js';
import { runPilot } from '../src/explore/pilot.js';
import { loadScenario } from '../src/scenario/load.js';
import { stateKey } from '../src/sim/state.js';
import { builtinStrategy } from '../src/strategies/builtin.js';
import type { World } from '../src/cluster/world.js';

/**
 * Which VMIs KubeVirt's evacuation controller migrates first follows Go map order in the real
 * code (client-go's ByIndex ranges over a map; evacuation.go takes migrationCandidates[0:free]
 * unsorted). Random runs draw it as a shuffle; the exhaustive search fixes draws, so it must
 * enumerate it as choices or its "complete" would cover one order of all of them.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const scenarioPath = (f: string) => join(ROOT, 'scenarios', f);
const known = (n: string) => builtinStrategy(n) !== undefined;

/** A selector that logs every choice asked of it and answers from a script (0 past its end). */
class Scripted implements Selector {
  readonly name = 'scripted';
  readonly asked: Array<[ChoiceKind, number]> = [];
  constructor(
    readonly enumeratesPicks: boolean,
    private readonly answers: number[] = [],
  ) {}
  choose(kind: ChoiceKind, n: number): number {
    this.asked.push([kind, n]);
    return this.answers.shift() ?? 0;
  }
}

describe('Choices.picked', () => {
  it('draws exactly the shuffle random runs always drew (random traces do not move)', () => {
    const items = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (let seed = 1; seed <= 30; seed++) {
      const picked = new Choices(new RandomSelector(seed));
      const shuffled = new Choices(new RandomSelector(seed));
      expect(picked.picked('evac', items, 2)).toEqual(shuffled.shuffled('evac', items).slice(0, 2));
      // The stream is left where the shuffle left it: the next draw is the same.
      expect(picked.draw('evac', 0, 1000)).toBe(shuffled.draw('evac', 0, 1000));
      expect(picked.log.kinds.every((k) => k === 'draw')).toBe(true);
    }
  });

  it('asks an enumerating selector one pick per object taken, among those left; the default takes store order', () => {
    const byDefault = new Scripted(true);
    expect(new Choices(byDefault).picked('evac', ['a', 'b', 'c', 'd'], 2)).toEqual(['a', 'b']);
    expect(byDefault.asked).toEqual([
      ['pick', 4],
      ['pick', 3],
    ]);
    expect(new Choices(new Scripted(true, [3, 2])).picked('evac', ['a', 'b', 'c', 'd'], 2)).toEqual(['d', 'c']);
    // Taking every object: the last has no alternative, so no choice is asked for it.
    const all = new Scripted(true, [1]);
    expect(new Choices(all).picked('evac', ['a', 'b'], 5)).toEqual(['b', 'a']);
    expect(all.asked).toEqual([['pick', 2]]);
  });
});

describe('the exhaustive search enumerates the evacuation pick (6-control-no-race: three VMs on the drained node, two slots)', () => {
  it('reaches every ordered pair of first migrations', () => {
    const scenario = loadScenario(scenarioPath('6-control-no-race.yaml'), known);
    const strategy = builtinStrategy('v1.4.2')!;
    const firstTwo = new Set<string>();
    // The key function sees the world at every new choice point: record which VMIs the first
    // two migrations name, in the order they were created.
    const keyOf = (w: World) => {
      const vmims = w.api.list('VirtualMachineInstanceMigration');
      if (vmims.length >= 2) firstTwo.add(`${vmims[0]!.spec.vmiName}>${vmims[1]!.spec.vmiName}`);
      return stateKey(w);
    };
    const r = explore(scenario, strategy, runPilot(scenario, strategy, 0), 0, 20_000, scenario.seed, keyOf);
    expect(r.complete).toBe(true);
    expect([...firstTwo].sort()).toEqual(['web-0>web-1', 'web-0>web-2', 'web-1>web-0', 'web-1>web-2', 'web-2>web-0', 'web-2>web-1']);
  });
});

describe('an exhaustive failure whose run picked is shrunk, saved and replayed as it ran', () => {
  const reports = mkdtempSync(join(tmpdir(), 'quotarace-picks-'));
  afterAll(() => rmSync(reports, { recursive: true, force: true }));

  it('5-quota-near-saturation, pre-fix: the evidence replays to its recorded trace', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const run = await main(['run', scenarioPath('5-quota-near-saturation.yaml'), '--strategy', 'pre-fix', '--explore', 'exhaustive', '--workers', '1', '--reports', reports], io);
    // The scenario expects nothing of pre-fix: the run passes; its failures are kept as evidence.
    expect(run, out.join('\n')).toBe(0);
    const files = readdirSync(reports, { recursive: true }).map(String).filter((f) => f.endsWith('.evidence'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      // The shrunk run still makes the pick: its choices hold 'pick' answers, not a shuffle's draws.
      expect(readFileSync(join(reports, f), 'utf8')).toMatch(/^selector: exhaustive$/m);
      const replayed: string[] = [];
      const code = await main(['replay', join(reports, f)], { out: (t) => replayed.push(t), err: (t) => replayed.push(t) });
      expect(code, replayed.join('\n')).toBe(0);
    }
  });
});
