import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

/**
 * The layers of .dependency-cruiser.cjs, which `npm run lint:deps` checks in CI: its rules
 * refuse a circle and an upward import (tried on a fixture that has both), and the real
 * source tree passes them, read whole (a parser that read nothing would pass anything).
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const config = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as IConfiguration;

async function cruiseTree(baseDir: string): Promise<ICruiseResult> {
  const r = await cruise(['src'], { ...config.options, baseDir, validate: true, ruleSet: { forbidden: config.forbidden ?? [] } });
  return r.output as ICruiseResult;
}

const violations = (r: ICruiseResult) => r.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();

describe('layers', () => {
  it('refuse an import circle, type-only imports included; an upward import; an upward import beside a named exception; a folder outside the layers', async () => {
    const r = await cruiseTree(`${ROOT}test/fixtures/layers`);
    expect(violations(r)).toEqual([
      'in-a-layer: src/misc/loose.ts → src/report/html.ts',
      'no-circular: src/cluster/a.ts → src/cluster/b.ts',
      'no-other-upward-from-src-explore-evidence-job-ts: src/explore/evidence-job.ts → src/report/html.ts',
      'no-upward-from-kernel: src/kernel/clock.ts → src/cli/flags.ts',
    ]);
  });

  it('hold for the source tree, read whole: every module and its imports, type-only ones too', async () => {
    const r = await cruiseTree(ROOT);
    expect(violations(r)).toEqual([]);
    expect(r.summary.totalCruised).toBeGreaterThan(100);
    const imports = (file: string) => r.modules.find((m) => m.source === file)?.dependencies.map((d) => d.resolved) ?? [];
    expect(imports('src/sim/run.ts')).toContain('src/cluster/world.ts');
    // A type-only import (exhaustive.ts takes the World's type only).
    expect(imports('src/explore/exhaustive.ts')).toContain('src/cluster/world.ts');
  });
});
