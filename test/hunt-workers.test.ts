import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerPool } from '../src/explore/pool.js';
import { unsupportedKnobs } from '../src/hunt/capabilities.js';
import { candidateText, search, type SearchOptions } from '../src/hunt/search.js';
import { DEFAULT_SPACE } from '../src/hunt/space.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * hunt across worker counts. Worker threads run the built code (dist/cli/worker.js), so this
 * file is in the CLI tier (`npm test` builds first): in the unit tier a stale dist/ would be tested
 * instead of the sources, or hang on a changed worker protocol. The in-process half is in hunt.test.ts.
 */
const OUT = mkdtempSync(join(tmpdir(), 'quotarace-hunt-workers-'));
const opts: SearchOptions = {
  strategy: builtinStrategy('pre-fix')!,
  space: DEFAULT_SPACE,
  off: unsupportedKnobs(),
  seed: 3,
  budgetRuns: 1_000,
  kinds: 1,
  want: ['quota limits.cpu', 'quota-below-user-value'],
  name: 'hunt-test',
  file: join(OUT, 'hunt-test.yaml'),
};

const pools: WorkerPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('quotarace hunt with worker threads', () => {
  it('the same seed finds the same scenario with 1 and 2 workers, after the same number of scenarios and runs', async () => {
    const one = new WorkerPool(1);
    const two = new WorkerPool(2);
    pools.push(one, two);
    const a = await search(opts, one);
    const c = await search(opts, two);
    expect(a.found.length).toBe(1);
    expect(c.found.length).toBe(1);
    expect(candidateText(c.found[0]!.genome, opts)).toBe(candidateText(a.found[0]!.genome, opts));
    expect([c.scenarios, c.runs, c.found[0]!.run]).toEqual([a.scenarios, a.runs, a.found[0]!.run]);
  });
});
