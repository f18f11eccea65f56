import type { Argv } from 'yargs';
import { stringify } from 'yaml';
import { DEFAULT_CAMPAIGN } from '../explore/campaign.js';
import { shellQuote } from '../report/files.js';
import { EXIT_OK, intArg, UsageError, type Io } from './io.js';
import { campaignOptions, loadPlans, makePool } from './plans.js';

/** Where the results volume is mounted in every pod. */
export const RESULTS_MOUNT = '/results';
/** The command the image runs quotarace with (its entrypoint on PATH). */
export const QUOTARACE = 'quotarace';
export const MAX_SHARDS = 1000;
/** The label that tells the two Jobs apart, for `kubectl apply -l`. */
const STEP = 'quotarace/step';

/** The run options passed through to every shard unchanged (the merge reads them from the results files). */
const PASSED = [
  ['runs', 'runs'],
  ['seed', 'seed'],
  ['depth', 'depth'],
  ['window', 'window'],
  ['workers', 'workers'],
] as const;

/** A Kubernetes object name: lowercase letters, digits and '-', starting and ending alphanumeric. */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `k8s-job`'s command line: its own options and the run options it passes to every shard. */
export function k8sJobOptions(y: Argv): Argv {
  return y
    .positional('scenarios', { type: 'string', array: true, demandOption: true, describe: 'scenario files or folders, at these paths in the image' })
    .option('shards', { type: 'number', demandOption: true, describe: `pods, one shard each (1 to ${MAX_SHARDS})` })
    .option('image', { type: 'string', demandOption: true, describe: 'container image with quotarace on its PATH and the scenarios' })
    .option('results-pvc', { type: 'string', describe: `PersistentVolumeClaim mounted at ${RESULTS_MOUNT} in every pod, for the results files and reports (required)` })
    .option('name', { type: 'string', default: 'quotarace', describe: 'the Job\'s name (the merge Job is NAME-merge)' })
    .option('parallelism', { type: 'number', describe: 'pods running at once (default: --shards)' })
    .option('workdir', { type: 'string', describe: "the container's working directory (default: the image's)" })
    .option('runs', { type: 'number', describe: "interleavings per strategy (default: the scenario's runs)" })
    .option('seed', { type: 'number', describe: "seed of the first run (default: the scenario's seed)" })
    .option('strategy', { type: 'string', array: true, nargs: 1, describe: "a strategy to run; repeatable (default: the scenario's, or every built-in)" })
    .option('explore', { choices: ['random', 'pct', 'exhaustive'] as const, default: 'random' as const, describe: 'how interleavings are chosen (exhaustive cannot be sharded)' })
    .option('depth', { type: 'number', describe: `PCT: the bug depth d (default ${DEFAULT_CAMPAIGN.depth})` })
    .option('window', { type: 'number', describe: `ms within which events count as concurrent (default ${DEFAULT_CAMPAIGN.window})` })
    .option('workers', { type: 'number', describe: "worker threads per pod, also its CPU request (default: the cores the pod sees)" });
}

/**
 * `quotarace k8s-job`: a Kubernetes Indexed Job whose pod i runs `quotarace run --shard i+1/N`
 * (its JOB_COMPLETION_INDEX is 0-based, shards are 1-based) and writes its results file to
 * a PersistentVolumeClaim, then a second Job that merges them. Printed as YAML, with the
 * kubectl commands to run them in order as comments: it never talks to a cluster.
 */
export async function cmdK8sJob(args: Record<string, unknown>, io: Io): Promise<number> {
  const shards = args.shards;
  if (typeof shards !== 'number' || !Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS)
    throw new UsageError(`--shards expects one integer from 1 to ${MAX_SHARDS}, got ${Array.isArray(shards) ? shards.join(' ') : String(shards)}`);
  const image = String(args.image ?? '').trim();
  if (!image) throw new UsageError('--image expects a container image with quotarace on its PATH and the scenarios in its working directory, got an empty string');
  const name = String(args.name);
  if (!NAME.test(name) || name.length > 52) throw new UsageError(`--name expects a Kubernetes name (lowercase letters, digits and '-', at most 52 characters), got "${name}"`);
  const pvc = args['results-pvc'] === undefined ? undefined : String(args['results-pvc']);
  if (pvc === undefined)
    throw new UsageError(
      '--results-pvc NAME is required: each pod writes its shard\'s results file to a volume that the merge Job reads after every pod has ended, and an emptyDir is deleted with its pod. ' +
        'Give a PersistentVolumeClaim that every pod can mount (ReadWriteMany, or ReadWriteOnce with --parallelism 1 or on a single node).',
    );
  if (!NAME.test(pvc)) throw new UsageError(`--results-pvc expects a PersistentVolumeClaim name, got "${pvc}"`);
  intArg('workers', args.workers, 1, 256);
  const parallelism = intArg('parallelism', args.parallelism, 1, MAX_SHARDS) ?? shards;
  if (parallelism > shards) throw new UsageError(`--parallelism expects 1 to --shards (${shards}), got ${parallelism}`);
  const scenarios = args.scenarios as string[];
  // Validate scenarios, strategies and options here, before anything reaches a cluster: the
  // pods run the same files from the image.
  // Strategy modules are loaded (and so checked) in the sandbox, as `run` would.
  const pool = makePool({ ...args, workers: 1 });
  let plans;
  try {
    plans = await loadPlans(scenarios, args.strategy as string[] | undefined, (s) => campaignOptions(args, s), pool);
  } finally {
    await pool.close();
  }
  if (plans.some((p) => p.opts.mode === 'exhaustive')) throw new UsageError('--explore exhaustive has no seeds to split into shards; run it in one process');

  const options: string[] = [];
  for (const [key, flag] of PASSED) if (args[key] !== undefined) options.push(`--${flag}`, String(args[key]));
  for (const s of (args.strategy as string[] | undefined) ?? []) options.push('--strategy', s);
  if (args.explore !== 'random') options.push('--explore', String(args.explore));
  const run = [QUOTARACE, 'run', ...scenarios, ...options].map(shellQuote).join(' ');
  const results = (i: string) => `${RESULTS_MOUNT}/results-${i}-of-${shards}.json`;
  // JOB_COMPLETION_INDEX is 0..N-1; shards are 1..N. `$((…))` is not kubelet `$(VAR)` syntax:
  // it reaches the shell unchanged.
  const shardScript = [
    'set -eu',
    ': "${JOB_COMPLETION_INDEX:?is set by Kubernetes in the pods of an Indexed Job}"',
    'i=$((JOB_COMPLETION_INDEX + 1))',
    `exec ${run} --shard "$i/${shards}" --results "${results('$i')}" --no-progress`,
  ].join('\n');
  // The glob lists every shard's file (merge orders them, and names any that is missing).
  const mergeScript = [
    'set -eu',
    `exec ${QUOTARACE} merge ${results('*')} --reports ${RESULTS_MOUNT}/reports --junit ${RESULTS_MOUNT}/reports/quotarace.xml --json`,
  ].join('\n');

  const workingDir = args.workdir === undefined ? undefined : String(args.workdir);
  const workers = args.workers === undefined ? undefined : Number(args.workers);
  const container = (script: string) => ({
    name: 'quotarace',
    image,
    ...(workingDir ? { workingDir } : {}),
    command: ['sh', '-c', script],
    // A shard uses `--workers` threads (default: the cores it sees); ask for them.
    ...(workers ? { resources: { requests: { cpu: String(workers) } } } : {}),
    volumeMounts: [{ name: 'results', mountPath: RESULTS_MOUNT }],
  });
  const volumes = [{ name: 'results', persistentVolumeClaim: { claimName: pvc } }];
  const labels = { 'app.kubernetes.io/name': 'quotarace', 'app.kubernetes.io/instance': name };
  const shardJob = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { ...labels, [STEP]: 'shards' } },
    spec: {
      completionMode: 'Indexed',
      completions: shards,
      parallelism,
      // A shard is deterministic: a retried pod writes the same file.
      backoffLimit: Math.max(6, shards),
      template: { metadata: { labels }, spec: { restartPolicy: 'Never', containers: [container(shardScript)], volumes } },
    },
  };
  const mergeJob = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${name}-merge`, labels: { ...labels, [STEP]: 'merge' } },
    spec: {
      completions: 1,
      // The merge is the gate: exit 1 when an expectation fails. Retrying cannot change that.
      backoffLimit: 0,
      template: { metadata: { labels }, spec: { restartPolicy: 'Never', containers: [container(mergeScript)], volumes } },
    },
  };
  const header = [
    `quotarace k8s-job: ${plans.length} scenario(s) in ${shards} shard(s) of an Indexed Job, then one merge Job.`,
    'The image must have quotarace on its PATH and these scenario files at the same paths (relative to its working directory).',
    `Every pod mounts PersistentVolumeClaim "${pvc}" at ${RESULTS_MOUNT}: shard i writes ${results('i')}; the merge writes ${RESULTS_MOUNT}/reports.`,
    'Kubernetes does not order Jobs: apply the merge once the shards are complete. With this output saved as job.yaml:',
    `  kubectl apply -f job.yaml -l ${STEP}=shards`,
    `  kubectl wait --for=condition=complete --timeout=24h job/${name}`,
    `  kubectl apply -f job.yaml -l ${STEP}=merge`,
    `  kubectl wait --for=condition=complete --timeout=1h job/${name}-merge; kubectl logs job/${name}-merge`,
    'The merge Job fails (exit 1) when an expectation fails, as `quotarace merge` does.',
  ];
  const doc = (o: unknown, comment: string[]) => comment.map((l) => `# ${l}`.trimEnd()).join('\n') + '\n' + stringify(o, { lineWidth: 0 });
  io.out(
    doc(shardJob, [...header, '', `Step 1: the shards. Pod with JOB_COMPLETION_INDEX k runs shard k+1 of ${shards}.`]) +
      '---\n' +
      doc(mergeJob, [`Step 2: after job/${name} is complete, the merge (reports and JUnit on the volume, the JSON summary in its log).`]),
  );
  return EXIT_OK;
}
