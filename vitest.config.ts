import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Two tiers. `npm run test:unit` runs the "unit" project: in-process tests, straight from
 * the TypeScript sources, no build. `npm test` builds dist/ (the CLI tests run
 * bin/quotarace.js) and runs every test file.
 */
const CLI_TESTS = ['test/cli.test.ts', 'test/hostile.test.ts', 'test/explore.test.ts', 'test/gate.test.ts', 'test/k8s-job.test.ts', 'test/strategies.test.ts', 'test/browser.test.ts', 'test/run-id.test.ts', 'test/determinism-modules.test.ts', 'test/install.test.ts', 'test/ci-matrix.test.ts', 'test/report-truth.test.ts', 'test/interrupts.test.ts', 'test/hunt-workers.test.ts'];
/** In-process but slow (complete exhaustive searches): in `npm test`, not in the unit tier. */
const SLOW_TESTS = ['test/state-key.test.ts', 'test/dpor-scenarios.test.ts'];

/**
 * The unit-tier files that guard the tooling (issue 24): what `npm run mutate` runs each mutant
 * against. The model's own tests (cluster rules, KubeVirt, Rancher, fidelity, outcomes, the
 * replay contract over every scenario) also run the kernel, but would make each mutant cost a
 * minute; they are not the question mutation testing asks here.
 */
const TOOLING_TESTS = [
  'test/kernel.test.ts',
  'test/pct.test.ts',
  'test/state-key-parts.test.ts',
  'test/determinism.test.ts',
  'test/evidence.test.ts',
  'test/replay-disabled.test.ts',
  'test/run-id-format.test.ts',
  'test/gate-expect.test.ts',
  'test/statistics.test.ts',
  'test/report-numbers.test.ts',
  'test/at-rest.test.ts',
];

/** `npm run mutate` sets QUOTARACE_VITEST_PROJECT=mutate: Stryker's vitest runner has no project filter. */
const only = process.env.QUOTARACE_VITEST_PROJECT;
const PROJECTS = [
  { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...CLI_TESTS, ...SLOW_TESTS] } },
  { extends: true, test: { name: 'cli', include: [...CLI_TESTS, ...SLOW_TESTS] } },
  { extends: true, test: { name: 'mutate', include: TOOLING_TESTS } },
] as const;

export default defineConfig({
  resolve: {
    // Strategy modules imported by tests (scenarios/strategies/*.ts) import 'quotarace': the sources, not dist/.
    alias: [{ find: /^quotarace$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) }],
  },
  test: {
    // Not a measure of speed (no test asserts a duration): only a guard against a hang, so long
    // that a test slowed down by a loaded machine is not failed for it. Per-test limits are not set.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    projects: only ? PROJECTS.filter((p) => p.test.name === only) : PROJECTS.filter((p) => p.test.name !== 'mutate'),
  },
});
