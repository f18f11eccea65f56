import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';

/**
 * A run the scenario's horizon stops while its migrations still run is judged on a cluster
 * mid-work: "stuck" and "quota wrong" only because the work was not done. The verdict stays as
 * it is, but the terminal, the JSON and the HTML report say how many runs ended that way.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NORMAL = join(ROOT, 'scenarios', '2-normal-migration.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'quotarace-horizon-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** normal-migration with a horizon too short for its migration (started at 10s) to finish. */
const SHORT = join(tmp, 'short-horizon.yaml');
writeFileSync(SHORT, readFileSync(NORMAL, 'utf8').replace(/^horizon: .*$/m, 'horizon: 20s'));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...argv, '--workers', '1'], { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface StrategyJson {
  name: string;
  runs: number;
  quotaCorrect: number;
  endedAtHorizon: number;
  failingAtHorizon: number;
  failures: Array<{ runs: number }>;
}
const strategies = (out: string) => (JSON.parse(out) as { scenarios: Array<{ strategies: StrategyJson[] }> }).scenarios[0]!.strategies;

describe('runs that end at the horizon still busy', () => {
  it('are counted per strategy in the JSON, the terminal and the HTML report, with the sign that their verdict judges a cluster mid-work', async () => {
    const reports = join(tmp, 'short');
    const json = await cli('run', SHORT, '--strategy', 'v1.4.2', '--runs', '4', '--json', '--no-evidence', '--reports', reports);
    const [st] = strategies(json.out);
    expect(st!.runs).toBe(4);
    // Every run fails (the verdict is unchanged) and every one of them was stopped mid-work.
    expect(st!.quotaCorrect).toBe(0);
    expect(st!.endedAtHorizon).toBe(4);
    expect(st!.failingAtHorizon).toBe(4);
    expect(st!.failures.reduce((n, f) => n + f.runs, 0)).toBe(4);

    const term = await cli('run', SHORT, '--strategy', 'v1.4.2', '--runs', '4', '--no-evidence', '--reports', reports);
    const said = 'v1.4.2: 4 of 4 runs ended at the horizon still busy, 4 of them failing: their verdict judges a cluster mid-work; raise horizon';
    expect(term.out.replace(/\n +/g, ' ')).toContain(said);

    const html = readFileSync(join(reports, 'normal-migration.html'), 'utf8');
    expect(html).toContain('<span class="horizon" data-strategy="v1.4.2">v1.4.2: 4 of 4 runs ended at the horizon (20s) still busy, 4 of them failing: their verdict judges a cluster mid-work; raise horizon');
  });

  it('say nothing when every run ends before the horizon', async () => {
    const reports = join(tmp, 'normal');
    const json = await cli('run', NORMAL, '--strategy', 'v1.4.2', '--runs', '4', '--json', '--no-evidence', '--reports', reports);
    const [st] = strategies(json.out);
    expect(st!.endedAtHorizon).toBe(0);
    expect(st!.failingAtHorizon).toBe(0);
    const term = await cli('run', NORMAL, '--strategy', 'v1.4.2', '--runs', '4', '--no-evidence', '--reports', reports);
    expect(term.out).not.toContain('ended at the horizon');
    expect(readFileSync(join(reports, 'normal-migration.html'), 'utf8')).not.toContain('class="horizon"');
  });
});
