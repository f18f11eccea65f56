import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CAMPAIGN, type CampaignOptions } from '../explore/campaign.js';
import type { ExploreMode } from '../explore/jobs.js';
import { InputError } from '../scenario/errors.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import type { Strategy } from '../strategies/api.js';
import { BUILTIN_STRATEGIES, builtinStrategy } from '../strategies/builtin.js';
import { resolveStrategy } from '../strategies/loader.js';
import { intArg } from './io.js';

/** Scenarios, their strategies and campaign options, from the command line. */
export function scenarioFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new InputError([{ file: p, line: 0, col: 0, field: '', message: 'no such file or folder' }]);
    }
    if (isDir) {
      const files = readdirSync(p).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
      if (files.length === 0) throw new InputError([{ file: p, line: 0, col: 0, field: '', message: 'folder has no .yaml scenario' }]);
      out.push(...files.map((f) => join(p, f)));
    } else out.push(p);
  }
  return out;
}

/** The strategies named on the command line, else the scenario's own, else every built-in. */
export async function resolveStrategies(scenario: Scenario, names: readonly string[] | undefined): Promise<Strategy[]> {
  if (names) return Promise.all(names.map((n) => resolveStrategy(n)));
  if (scenario.strategies) return Promise.all(scenario.strategies.map((r) => resolveStrategy(r)));
  return [...BUILTIN_STRATEGIES];
}

export function load(file: string): Scenario {
  return loadScenario(file, (n) => builtinStrategy(n) !== undefined);
}

export interface Plan {
  readonly s: Scenario;
  readonly text: string;
  readonly strategies: Strategy[];
  readonly opts: CampaignOptions;
}

export async function loadPlans(paths: readonly string[], strategyNames: string[] | undefined, make: (s: Scenario) => CampaignOptions): Promise<Plan[]> {
  // Validate every file before running any, so a typo in the last one costs no time.
  const problems: InputError[] = [];
  const loaded: Array<{ s: Scenario; text: string }> = [];
  for (const f of scenarioFiles(paths)) {
    try {
      loaded.push({ s: load(f), text: readFileSync(f, 'utf8') });
    } catch (e) {
      if (e instanceof InputError) problems.push(e);
      else throw e;
    }
  }
  if (problems.length) throw new InputError(problems.flatMap((p) => p.problems));
  const plans: Plan[] = [];
  for (const { s, text } of loaded) plans.push({ s, text, strategies: await resolveStrategies(s, strategyNames), opts: make(s) });
  return plans;
}

export function campaignOptions(args: Record<string, unknown>, s: Scenario | undefined): CampaignOptions {
  const mode = args.explore as ExploreMode;
  return {
    ...DEFAULT_CAMPAIGN,
    runs: intArg('runs', args.runs, 1) ?? s?.runs ?? 100,
    seed: intArg('seed', args.seed, 0) ?? s?.seed ?? 1,
    mode,
    depth: intArg('depth', args.depth, 1)!,
    maxRuns: intArg('max-runs', args['max-runs'], 1)!,
    window: intArg('window', args.window, 0) ?? (mode === 'exhaustive' ? 0 : DEFAULT_CAMPAIGN.window),
    evidenceLimit: args.evidence === false ? 0 : DEFAULT_CAMPAIGN.evidenceLimit,
  };
}
