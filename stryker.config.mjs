// @ts-check
/**
 * `npm run mutate`: StrykerJS over the tooling the fast tier must guard (issue 24): the kernel,
 * exploration, the gate, the state key, replay and the report's statistics. Only the vitest
 * "mutate" project runs (the unit-tier files that guard the tooling; vitest.config.ts reads
 * QUOTARACE_VITEST_PROJECT, set by the npm script), each mutant against just the tests that
 * cover it (coverageAnalysis perTest), and results are kept in
 * reports/mutation/stryker-incremental.json (incremental: a re-run tests only mutants whose
 * code or tests changed). A subset: `npm run mutate -- --mutate src/kernel/choice.ts`.
 * Not in CI: the whole scope (4,275 mutants) takes far longer than the fast tier (README).
 * A test that computes what it checks when its file loads, or once for several tests, hides
 * mutants from it: Stryker switches a mutant on per test and runs only the tests that reached it.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
const config = {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.config.ts' },
  coverageAnalysis: 'perTest',
  mutate: ['src/kernel/**/*.ts', 'src/explore/**/*.ts', 'src/gate/**/*.ts', 'src/sim/state.ts', 'src/cli/replay.ts', 'src/report/stats.ts'],
  // The type checker would find mutants that do not compile; vitest strips types, so they run (and are killed or survive) instead.
  checkers: [],
  // Stryker rewrites the tsconfig's extends/references for its sandbox with the TypeScript JS API, which
  // TypeScript 7 (the native compiler this project uses) no longer has. Ours has neither: point it at no file.
  tsconfigFile: 'stryker-has-no-tsconfig-to-rewrite.json',
  // A static mutant (a module-level constant) reruns every test for itself: most of the time, little news.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // Two cores shared with other work: one test runner; slow mutants (an infinite loop) time out.
  concurrency: 1,
  timeoutMS: 30_000,
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 80, low: 60, break: null },
};
export default config;
