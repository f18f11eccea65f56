import type { Argv } from 'yargs';
import { stringify } from 'yaml';
// Types only (a dev dependency, erased when compiled): Kubernetes' own API types, so a misspelt field fails the type check.
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IPodFailurePolicy } from 'kubernetes-models/batch/v1/PodFailurePolicy';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { DEFAULT_CAMPAIGN } from '../explore/campaign.js';
import { shellQuote } from '../base/shell.js';
import { EXIT_OK, intArg, UsageError, type Io } from './io.js';
import { campaignOptions, loadPlans, makePool } from './plans.js';
import { allowedModules } from './merge.js';

/** Where the results volume is mounted in every pod. */
export const RESULTS_MOUNT = '/results';
/** The command the image runs quotarace with (its entrypoint on PATH). */
export const QUOTARACE = 'quotarace';
export const MAX_SHARDS = 1000;
/** The image's user (Dockerfile: USER 1000:1000, node's "node" user). */
export const IMAGE_UID = 1000;
const DEFAULT_CPU = '1';
/** A one-worker shard of every bundled scenario peaks at 230 MB resident, two workers at 310 MB (README). */
const DEFAULT_MEMORY = '1Gi';
/** A day: time to run the merge, read the logs and fetch the reports; then Kubernetes deletes the Job. */
const DEFAULT_TTL = 86_400;
const MIN_TTL = 600;
/** ttlSecondsAfterFinished and runAsUser are int32 in the API. */
const INT32_MAX = 2_147_483_647;
const MAX_TTL = INT32_MAX;
/** Kubernetes quantities as a pod's resources take them (a subset: no exponents). */
const CPU_QUANTITY = /^(?:\d+(?:\.\d{1,3})?|\d+m)$/;
const MEMORY_QUANTITY = /^\d+(?:Ki|Mi|Gi|Ti|k|M|G|T)?$/;
/** The label that tells the three steps apart, for `kubectl apply -l`. */
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
    .option('results-pvc', { type: 'string', describe: `PersistentVolumeClaim mounted at ${RESULTS_MOUNT} in every pod, for the results files and reports (required; ReadWriteMany unless the pods share a node)` })
    .option('name', { type: 'string', default: 'quotarace', describe: "the Job's name (the merge Job is NAME-merge, the pod that hands out the reports NAME-fetch)" })
    .option('parallelism', { type: 'number', describe: 'pods running at once (default: --shards)' })
    .option('workdir', { type: 'string', describe: "the container's working directory (default: the image's)" })
    .option('cpu', { type: 'string', describe: `CPU request and limit of each pod, a Kubernetes quantity (default: --workers, else ${DEFAULT_CPU}); without --workers a shard runs one worker per whole CPU` })
    .option('memory', { type: 'string', default: DEFAULT_MEMORY, describe: 'memory request and limit of each pod, a Kubernetes quantity' })
    .option('allow-module', { type: 'string', array: true, nargs: 1, describe: "load this strategy module (or the modules in this folder) that a scenario's strategies: names; passed on to the shards and the merge" })
    .option('ttl', { type: 'number', default: DEFAULT_TTL, describe: `seconds Kubernetes keeps a finished Job, its pods and logs (${MIN_TTL} to ${MAX_TTL})` })
    .option('uid', { type: 'number', default: IMAGE_UID, describe: "the user and group id the pods run as, and the volume's group (default: the image's user)" })
    .option('runs', { type: 'number', describe: "interleavings per strategy (default: the scenario's runs)" })
    .option('seed', { type: 'number', describe: "seed of the first run (default: the scenario's seed)" })
    .option('strategy', { type: 'string', array: true, nargs: 1, describe: "a strategy to run; repeatable (default: the scenario's, or every built-in)" })
    .option('explore', { choices: ['random', 'pct', 'exhaustive'] as const, default: 'random' as const, describe: 'how interleavings are chosen (exhaustive cannot be sharded)' })
    .option('depth', { type: 'number', describe: `PCT: the bug depth d (default ${DEFAULT_CAMPAIGN.depth})` })
    .option('window', { type: 'number', describe: `ms within which events count as concurrent (default ${DEFAULT_CAMPAIGN.window})` })
    .option('workers', { type: 'number', describe: 'worker threads per pod (default: one per whole CPU of --cpu)' });
}

/** A flag given once: yargs turns a repeated one into an array, and `--image a --image b` must not become "a,b". */
function once(name: string, v: unknown): unknown {
  if (Array.isArray(v)) throw new UsageError(`--${name} expects one value, got ${v.length}: ${v.map(String).join(', ')}`);
  return v;
}

/**
 * `quotarace k8s-job`: a Kubernetes Indexed Job whose pod i runs `quotarace run --shard i+1/N`
 * (its JOB_COMPLETION_INDEX is 0-based, shards are 1-based) and writes its results file to
 * a PersistentVolumeClaim, a second Job that merges them, and a Pod that hands the reports
 * out to `kubectl cp`. Printed as YAML, with the shell commands to run them in order as
 * comments: it never talks to a cluster.
 */
export async function cmdK8sJob(args: Record<string, unknown>, io: Io): Promise<number> {
  const shards = once('shards', args.shards);
  if (typeof shards !== 'number' || !Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS)
    throw new UsageError(`--shards expects one integer from 1 to ${MAX_SHARDS}, got ${String(shards)}`);
  const image = String(once('image', args.image) ?? '').trim();
  if (!image) throw new UsageError('--image expects a container image with quotarace on its PATH and the scenarios in its working directory, got an empty string');
  const name = String(once('name', args.name));
  // NAME-merge and NAME-fetch must stay valid names; a Job's pods get labels of its name (63 characters at most).
  if (!NAME.test(name) || name.length > 52) throw new UsageError(`--name expects a Kubernetes name (lowercase letters, digits and '-', at most 52 characters), got "${name}"`);
  const pvcArg = once('results-pvc', args['results-pvc']);
  if (pvcArg === undefined)
    throw new UsageError(
      '--results-pvc NAME is required: each pod writes its shard\'s results file to a volume that the merge Job reads after every pod has ended, and an emptyDir is deleted with its pod. ' +
        'Give a PersistentVolumeClaim that every pod can mount (ReadWriteMany, or ReadWriteOnce with --parallelism 1 or on a single node).',
    );
  const pvc = String(pvcArg);
  if (!NAME.test(pvc)) throw new UsageError(`--results-pvc expects a PersistentVolumeClaim name, got "${pvc}"`);
  const workers = intArg('workers', once('workers', args.workers), 1, 256);
  const parallelism = intArg('parallelism', once('parallelism', args.parallelism), 1, MAX_SHARDS) ?? shards;
  if (parallelism > shards) throw new UsageError(`--parallelism expects 1 to --shards (${shards}), got ${parallelism}`);
  const cpu = String(once('cpu', args.cpu) ?? workers ?? DEFAULT_CPU);
  if (!CPU_QUANTITY.test(cpu) || Number.parseFloat(cpu) === 0) throw new UsageError(`--cpu expects a positive Kubernetes CPU quantity such as 2, 1.5 or 500m, got "${cpu}"`);
  const memory = String(once('memory', args.memory));
  if (!MEMORY_QUANTITY.test(memory) || Number.parseInt(memory, 10) === 0) throw new UsageError(`--memory expects a positive Kubernetes memory quantity such as 1Gi or 512Mi, got "${memory}"`);
  const ttl = intArg('ttl', once('ttl', args.ttl), MIN_TTL, MAX_TTL)!;
  // Restricted Pod Security forbids uid 0 (check_runAsUser.go).
  const uid = intArg('uid', once('uid', args.uid), 1, INT32_MAX)!;
  const workdir = once('workdir', args.workdir);
  const workingDir = workdir === undefined ? undefined : String(workdir);
  const scenarios = args.scenarios as string[];
  // Validate scenarios, strategies and options here, before anything reaches a cluster: the
  // pods run the same files from the image.
  // Strategy modules are loaded (and so checked) in the sandbox, as `run` would.
  const pool = makePool({ ...args, workers: 1 });
  let plans;
  try {
    plans = await loadPlans(scenarios, args.strategy as string[] | undefined, (s) => campaignOptions(args, s), pool, allowedModules(args));
  } finally {
    await pool.close();
  }
  if (plans.some((p) => p.opts.mode === 'exhaustive')) throw new UsageError('--explore exhaustive has no seeds to split into shards; run it in one process');

  const options: string[] = [];
  for (const [key, flag] of PASSED) if (args[key] !== undefined) options.push(`--${flag}`, String(args[key]));
  for (const s of (args.strategy as string[] | undefined) ?? []) options.push('--strategy', s);
  // The pods load what the user allowed here, and nothing else: the same flags, in both Jobs.
  const allow = ((args['allow-module'] as string[] | undefined) ?? []).flatMap((m) => ['--allow-module', m]);
  options.push(...allow);
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
    `exec ${QUOTARACE} merge ${results('*')} --reports ${RESULTS_MOUNT}/reports --junit ${RESULTS_MOUNT}/reports/quotarace.xml --json${allow.length ? ` ${allow.map(shellQuote).join(' ')}` : ''}`,
  ].join('\n');

  const labels = { 'app.kubernetes.io/name': 'quotarace', 'app.kubernetes.io/instance': name };
  const resources = (c: string, m: string): IContainer['resources'] => ({ requests: { cpu: c, memory: m }, limits: { cpu: c, memory: m } });
  /** A pod spec that Pod Security's "restricted" level admits, and a quota on limits too. */
  const podSpec = (container: IContainer, readOnly: boolean): IPodSpec => ({
    restartPolicy: 'Never',
    // Restricted profile (k8s.io/pod-security-admission/policy, kubernetes v1.31): check_runAsNonRoot.go
    // and check_runAsUser.go (non-root, not uid 0), check_seccompProfile_restricted.go
    // (RuntimeDefault or Localhost, pod level counts for every container); fsGroup lets the
    // non-root user write the volume's files, relabelled only when its root's group differs.
    securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        ...container,
        // check_allowPrivilegeEscalation.go (false, set on every container) and
        // check_capabilities_restricted.go (drop ALL; add nothing but NET_BIND_SERVICE).
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        volumeMounts: [{ name: 'results', mountPath: RESULTS_MOUNT, ...(readOnly ? { readOnly: true } : {}) }],
      },
    ],
    // check_restrictedVolumes.go admits persistentVolumeClaim volumes.
    volumes: [{ name: 'results', persistentVolumeClaim: { claimName: pvc, ...(readOnly ? { readOnly: true } : {}) } }],
  });
  // Requests and limits alike: a namespace whose ResourceQuota tracks limits.cpu or
  // limits.memory (Rancher project quotas, the quotas this tool is about) refuses a pod
  // without them ("must specify limits.cpu", kubernetes plugin/pkg/admission/resourcequota,
  // CheckRequest's Constraints; shared/reference/kubernetes-kubevirt.md). The CPU limit is
  // also what `run` sizes its default --workers from (cpus.ts).
  const quotarace = (script: string): IContainer => ({
    name: 'quotarace',
    image,
    ...(workingDir ? { workingDir } : {}),
    command: ['sh', '-c', script],
    resources: resources(cpu, memory),
  });
  // quotarace's exit codes 1 (a fault) and 2 (bad input) recur on every retry: they fail the
  // Job at once; an eviction or an out-of-memory kill (137) is retried (podFailurePolicy,
  // batch/v1, GA in Kubernetes 1.31; it requires restartPolicy Never).
  const podFailurePolicy: IPodFailurePolicy = { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'quotarace', operator: 'In', values: [1, 2] } }] };
  const shardJob: IJob = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { ...labels, [STEP]: 'shards' } },
    spec: {
      completionMode: 'Indexed',
      completions: shards,
      parallelism,
      // A shard is deterministic: a retried pod writes the same file.
      backoffLimit: Math.max(6, shards),
      podFailurePolicy,
      ttlSecondsAfterFinished: ttl,
      template: { metadata: { labels }, spec: podSpec(quotarace(shardScript), false) },
    },
  };
  const mergeJob: IJob = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${name}-merge`, labels: { ...labels, [STEP]: 'merge' } },
    spec: {
      completions: 1,
      // The merge is the gate: exit 1 when an expectation fails. Retrying cannot change that.
      backoffLimit: 0,
      ttlSecondsAfterFinished: ttl,
      template: { metadata: { labels }, spec: podSpec(quotarace(mergeScript), false) },
    },
  };
  // `kubectl cp` runs tar in a running container: this one waits, the volume read-only, and
  // ends itself after FETCH_SECONDS if nobody deletes it.
  const fetchPod: IPod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${name}-fetch`, labels: { ...labels, [STEP]: 'fetch' } },
    spec: {
      ...podSpec({ name: 'quotarace', image, command: ['sleep', String(FETCH_SECONDS)], resources: resources('100m', '64Mi') }, true),
      activeDeadlineSeconds: FETCH_SECONDS,
    },
  };
  const recipe = runRecipe(name, `${name}-merge`, `${name}-fetch`);
  const header = [
    `quotarace k8s-job: ${plans.length} scenario(s) in ${shards} shard(s) of an Indexed Job, then one merge Job, then a pod to copy the reports from.`,
    'The image must have quotarace on its PATH and these scenario files at the same paths (relative to its working directory);',
    `its pods run as uid ${uid}, non-root, as Pod Security's "restricted" level requires.`,
    `Every pod mounts PersistentVolumeClaim "${pvc}" at ${RESULTS_MOUNT}: shard i writes ${results('i')}; the merge writes ${RESULTS_MOUNT}/reports.`,
    `Pods of one Job run on several nodes at once: the claim must be ReadWriteMany, or ReadWriteOnce with --parallelism 1 (or all pods on one node).`,
    `Each pod requests and is limited to cpu ${cpu} and memory ${memory}; finished Jobs are deleted after ${ttl} s (--ttl).`,
    'Kubernetes does not order Jobs: apply each step once the one before has ended. With this output saved as job.yaml, in sh, bash or zsh:',
    ...recipe.map((l) => `  ${l}`),
    `\`finished\` returns 0 when the Job is Complete, 1 when it Failed, 2 when kubectl cannot read it. The merge Job fails (exit 1) when an expectation fails, as \`quotarace merge\` does; its reports are written all the same.`,
  ];
  const doc = (o: unknown, comment: string[]) => comment.map((l) => `# ${l}`.trimEnd()).join('\n') + '\n' + stringify(o, { lineWidth: 0 });
  io.out(
    doc(shardJob, [...header, '', `Step 1: the shards. Pod with JOB_COMPLETION_INDEX k runs shard k+1 of ${shards}.`]) +
      '---\n' +
      doc(mergeJob, [`Step 2: after job/${name} is complete, the merge (reports and JUnit on the volume, the JSON summary in its log).`]) +
      '---\n' +
      doc(fetchPod, [`Step 3: a pod that mounts the volume read-only so that kubectl cp can copy ${RESULTS_MOUNT}/reports; delete it afterwards (it ends itself after ${FETCH_SECONDS} s).`]),
  );
  return EXIT_OK;
}

/** How long the fetch pod waits for `kubectl cp`. */
const FETCH_SECONDS = 3600;
/** Seconds between two looks at a Job's conditions. */
const POLL_SECONDS = 10;

/**
 * The shell lines that run the three steps. `finished` waits for a Job to end either way:
 * `kubectl wait --for=condition=complete` alone never returns for a failed Job, and kubectl
 * cannot wait for one of two conditions (kubernetes/kubectl#1629). A finished Job has a
 * condition Complete or Failed with status True (Kubernetes 1.31+ first adds
 * SuccessCriteriaMet or FailureTarget; batch/v1 JobConditionType), which the jsonpath lists
 * space-separated.
 */
export function runRecipe(shards: string, merge: string, fetch: string): string[] {
  const finished =
    'finished() { while s=$(kubectl get "job/$1" -o \'jsonpath={.status.conditions[?(@.status=="True")].type}\'); do ' +
    'case " $s " in *" Complete "*) return 0 ;; *" Failed "*) echo "job/$1 failed: kubectl describe job/$1; kubectl logs job/$1" >&2; return 1 ;; esac; ' +
    `sleep ${POLL_SECONDS}; done; return 2; }`;
  return [
    finished,
    `kubectl apply -f job.yaml -l ${STEP}=shards && finished ${shards} &&`,
    // The merge's verdict does not stop the fetch: a failed gate has reports too.
    `kubectl apply -f job.yaml -l ${STEP}=merge && { finished ${merge}; kubectl logs job/${merge}; } &&`,
    `kubectl apply -f job.yaml -l ${STEP}=fetch && kubectl wait --for=condition=Ready --timeout=10m pod/${fetch} &&`,
    `kubectl cp ${fetch}:${RESULTS_MOUNT}/reports ./quotarace-reports && kubectl delete pod/${fetch}`,
  ];
}
