import { describe, expect, it } from 'vitest';
import { loadScenario } from '../src/scenario/load.js';
import { builtinStrategy } from '../src/strategies/builtin.js';
import { runOnce } from '../src/sim/run.js';
import { Timeline } from '../src/sim/timeline.js';
import { explain } from '../src/report/explain.js';

/**
 * The evidence's explanation names why Rancher reset a quota: its re-list after the tunnel came
 * back, or the user's edit it was syncing. Each reset line must name what last made Rancher's
 * sync look at the namespaces, as the lines before it tell.
 */
describe("the explanation's Rancher resets", () => {
  it('say "after re-listing" only when a re-list came last, "syncing the user\'s edit" when an accepted edit did', () => {
    const seen = { relist: 0, edit: 0 };
    for (const file of ['scenarios/8-edit-during-migration.yaml', 'scenarios/3-agent-restart-during-migration.yaml', 'scenarios/1-incident-7178.yaml']) {
      const scenario = loadScenario(file, (n) => builtinStrategy(n) !== undefined);
      for (const name of ['pre-fix', 'v1.4.2']) {
        for (let seed = 1; seed <= 12; seed++) {
          const timeline = new Timeline();
          const outcome = runOnce(scenario, builtinStrategy(name)!, seed, { trace: timeline });
          let last: 'relist' | 'edit' | undefined;
          for (const line of explain(timeline.entries, outcome, timeline.uidNames)) {
            if (/ Rancher re-listed the namespaces /.test(line)) last = 'relist';
            else if (/ the user's edit was accepted: /.test(line)) last = 'edit';
            else if (/ Rancher \(after re-listing\) reset /.test(line)) {
              expect(last, `${file} ${name} seed ${seed}: ${line}`).toBe('relist');
              seen.relist++;
            } else if (/ Rancher \(syncing the user's edit\) reset /.test(line)) {
              expect(last, `${file} ${name} seed ${seed}: ${line}`).toBe('edit');
              seen.edit++;
            }
          }
        }
      }
    }
    // Both kinds occur in these runs: the test is not vacuous.
    expect(seen.relist).toBeGreaterThan(0);
    expect(seen.edit).toBeGreaterThan(0);
  });
});
