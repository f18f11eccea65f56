/**
 * The house's layers, enforced by dependency-cruiser (`npm run lint:deps`, run by .ci/run):
 * no import circle (type-only imports included), and no import from a layer up to one above it.
 * README "Layout" describes each folder.
 *
 * Lowest first. A folder may import its own layer and those below, never one above.
 */
const LAYERS = [
  ['base'], //                     helpers for every layer: reading a user's input file, quoting a shell word
  ['kernel'], //                   event loop, choices, random streams: knows nothing of Kubernetes
  ['cluster'], //                  API server and objects, the World every run shares, informers, reconcilers
  ['actors'], //                   controllers and people: KubeVirt, Rancher, the user, drains
  ['strategies'], //               the strategies on trial, their API, runtime and sandbox
  ['scenario'], //                 scenario files: schema, loading, errors
  ['sim'], //                      one run: wiring a scenario, outcome, invariants, state key
  ['explore'], //                  campaigns: explorers, run ids, workers' jobs, tallies, evidence
  ['report'], //                   what a person reads: HTML, tables, charts, explanations
  ['gate'], //                     CI's verdicts: expectations, JUnit, merge checks
  ['hunt'], //                     searching the scenario space
  ['cli', 'bench', 'index.ts'], // entry points: the command line, the benchmark, the package's API
];

/**
 * The upward imports that remain (at most three), each with why. A rule below refuses any
 * other upward import from these files too.
 */
const ALLOWED_UPWARD = [
  {
    from: 'src/explore/evidence-job.ts',
    to: ['src/report/explain.ts', 'src/report/race.ts'],
    why:
      'an evidence job records the explanation and the race table in the worker that has the strategy loaded: ' +
      'the report renders what was recorded and never runs a module',
  },
];

if (ALLOWED_UPWARD.flatMap((a) => a.to).length > 3) throw new Error('.dependency-cruiser.cjs: at most three upward imports may be allowed');

const escape = (s) => s.replace(/[.]/g, '[.]');
const fileRe = (files) => `^(${files.map(escape).join('|')})$`;
const folderRe = (names) => `^src/(${names.map(escape).join('|')})(/|$)`;
const layerOf = (file) => LAYERS.findIndex((l) => l.includes(file.split('/')[1]));
const above = (i) => LAYERS.slice(i + 1).flat();

const upwardRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `no-upward-from-${layer.join('-')}`,
  comment: `${layer.join(', ')} may not import from a layer above it (${above(i).join(', ')})`,
  severity: 'error',
  from: { path: folderRe(layer), pathNot: fileRe(ALLOWED_UPWARD.map((a) => a.from)) },
  to: { path: folderRe(above(i)) },
}));

/** A file with an allowed upward import: any other upward import from it is still refused. */
const exceptionRules = ALLOWED_UPWARD.map((a) => ({
  name: `no-other-upward-from-${a.from.replace(/\W+/g, '-')}`,
  comment: `may import ${a.to.join(', ')} (${a.why}); nothing else above its layer`,
  severity: 'error',
  from: { path: fileRe([a.from]) },
  to: { path: folderRe(above(layerOf(a.from))), pathNot: fileRe(a.to) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import circle (type-only imports count: a type is part of a module\'s interface)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'in-a-layer',
      comment: 'every source file belongs to a layer: a new folder under src/ goes into LAYERS',
      severity: 'error',
      from: { path: '^src/', pathNot: folderRe(LAYERS.flat()) },
      to: {},
    },
    ...upwardRules,
    ...exceptionRules,
  ],
  options: {
    // dependency-cruiser reads TypeScript with TypeScript < 7 or swc; the project compiles with TypeScript 7, so swc.
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    // Keep type-only imports: they close circles too (swc reports them in any case; test/layers.test.ts checks one is seen).
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
  },
};
