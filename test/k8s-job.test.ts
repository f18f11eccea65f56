import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Job as JobModel } from 'kubernetes-models/batch/v1/Job';
import { Pod as PodModel } from 'kubernetes-models/v1/Pod';
import { parseAllDocuments } from 'yaml';
import { main } from '../src/cli/main.js';
import { IMAGE_UID, RESULTS_MOUNT } from '../src/cli/k8s-job.js';

/**
 * `quotarace k8s-job` end to end without a cluster: the printed manifest's exact container
 * command runs here once per completion index, as the Indexed Job's pods would (the image's
 * `quotarace` is this checkout's bin/quotarace.js, the volume a temporary folder), then the
 * printed merge command; its output must be byte for byte that of one unsharded run.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'quotarace.js');
const INCIDENT = 'scenarios/1-incident-7178.yaml';
const EDIT = 'scenarios/8-edit-during-migration.yaml';
const SHARDS = 3;
const RUN_OPTIONS = ['--runs', '45', '--strategy', 'pre-fix', '--strategy', 'v1.4.2', '--workers', '1'];

interface Cli {
  code: number;
  out: string;
  err: string;
}

async function cli(...argv: string[]): Promise<Cli> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Run a command as a process in the checkout, as a pod runs it in the image's working directory. */
function exec(argv: readonly string[], env: Record<string, string> = {}): Promise<Cli> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (e, out, err) =>
      resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }),
    );
  });
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type: string };
}
interface Container {
  name: string;
  image: string;
  command: string[];
  args?: string[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  restartPolicy: string;
  securityContext?: SecurityContext & { fsGroup?: number };
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  containers: Container[];
  volumes: Array<Record<string, unknown> & { name: string; persistentVolumeClaim?: { claimName: string } }>;
}
interface Job {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    completionMode?: string;
    completions: number;
    parallelism?: number;
    backoffLimit: number;
    ttlSecondsAfterFinished?: number;
    podFailurePolicy?: { rules: Array<{ action: string; onExitCodes?: { containerName?: string; operator: string; values: number[] } }> };
    template: { spec: PodSpec };
  };
}
interface Pod {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: PodSpec;
}

/** The printed documents, each parsed without error. */
function documents(yaml: string): [Job, Job, Pod] {
  const docs = parseAllDocuments(yaml).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as unknown;
  });
  expect(docs).toHaveLength(3);
  return docs as [Job, Job, Pod];
}

/**
 * Pod Security's "restricted" level, as k8s.io/pod-security-admission/policy (kubernetes
 * v1.31, staging/src/k8s.io/pod-security-admission/policy) checks a pod: the baseline checks
 * this spec could trip (check_privileged.go, check_hostNamespaces.go, check_hostPathVolumes.go)
 * and every restricted one (check_restrictedVolumes.go, check_allowPrivilegeEscalation.go,
 * check_runAsNonRoot.go, check_runAsUser.go, check_seccompProfile_restricted.go,
 * check_capabilities_restricted.go). Returns the violations, none when admitted.
 */
function restrictedViolations(pod: PodSpec): string[] {
  const out: string[] = [];
  const psc = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) out.push('host namespaces');
  const allowedVolumes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
  for (const v of pod.volumes) if (!Object.keys(v).some((k) => allowedVolumes.includes(k))) out.push(`volume ${v.name} has a restricted type`);
  if (psc.runAsNonRoot === false) out.push('pod runAsNonRoot false');
  if (psc.runAsUser === 0) out.push('pod runAsUser 0');
  const seccomp = (t?: string) => t === 'RuntimeDefault' || t === 'Localhost';
  for (const c of pod.containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) out.push(`${c.name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${c.name}: allowPrivilegeEscalation != false`);
    if (sc.runAsNonRoot === false || (sc.runAsNonRoot === undefined && psc.runAsNonRoot !== true)) out.push(`${c.name}: runAsNonRoot != true`);
    if (sc.runAsUser === 0) out.push(`${c.name}: runAsUser 0`);
    if (!(seccomp(sc.seccompProfile?.type) || (sc.seccompProfile === undefined && seccomp(psc.seccompProfile?.type)))) out.push(`${c.name}: seccompProfile`);
    if (!sc.capabilities?.drop?.includes('ALL')) out.push(`${c.name}: must drop ALL capabilities`);
    for (const add of sc.capabilities?.add ?? []) if (add !== 'NET_BIND_SERVICE') out.push(`${c.name}: adds capability ${add}`);
  }
  return out;
}

/** Every file under `dir`, as paths relative to it, sorted. */
function files(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix))
    .flatMap((f) => (statSync(join(dir, prefix, f)).isDirectory() ? files(dir, join(prefix, f)) : [join(prefix, f)]))
    .sort();
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'quotarace-k8s-'));
});
afterAll(() => {
  if (tmp && !process.env.QUOTARACE_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
});

/** The container's command as this machine runs it: the image's quotarace is bin/quotarace.js, the volume `volume`. */
function local(c: Container, volume: string): string[] {
  const argv = [...c.command, ...(c.args ?? [])];
  return argv.map((a) => a.replaceAll('exec quotarace ', `exec ${process.execPath} ${BIN} `).replaceAll(`${RESULTS_MOUNT}/`, `${volume}/`));
}

describe('quotarace k8s-job', () => {
  it('prints an Indexed Job whose pods, run locally by completion index, merge to exactly the unsharded run', { timeout: 0 }, async () => {
    const printed = await cli('k8s-job', INCIDENT, EDIT, '--shards', String(SHARDS), '--image', 'registry.example/quotarace:1', '--results-pvc', 'quotarace-results', ...RUN_OPTIONS);
    expect(printed.code, printed.err).toBe(0);
    const [shards, merge, fetch] = documents(printed.out);

    // The shape Kubernetes needs.
    expect(shards.kind).toBe('Job');
    expect(shards.spec.completionMode).toBe('Indexed');
    expect(shards.spec.completions).toBe(SHARDS);
    expect(shards.spec.parallelism).toBe(SHARDS);
    expect(merge.kind).toBe('Job');
    expect(merge.spec.completions).toBe(1);
    expect(merge.metadata.name).toBe(`${shards.metadata.name}-merge`);
    expect(fetch.kind).toBe('Pod');
    for (const pod of [shards.spec.template.spec, merge.spec.template.spec, fetch.spec]) {
      expect(pod.restartPolicy).toBe('Never');
      expect(pod.containers).toHaveLength(1);
      expect(pod.containers[0]!.image).toBe('registry.example/quotarace:1');
      expect(pod.containers[0]!.volumeMounts.map((m) => [m.name, m.mountPath])).toEqual([['results', RESULTS_MOUNT]]);
      expect(pod.volumes.map((v) => v.persistentVolumeClaim?.claimName)).toEqual(['quotarace-results']);
    }
    // `kubectl apply -l` tells the three steps apart.
    expect(shards.metadata.labels['quotarace/step']).toBe('shards');
    expect(merge.metadata.labels['quotarace/step']).toBe('merge');
    expect(fetch.metadata.labels['quotarace/step']).toBe('fetch');

    // The unsharded run, with its reports where the merge Job will write its own.
    const volume = join(tmp, 'volume');
    const reports = join(volume, 'reports');
    const whole = await exec([process.execPath, BIN, 'run', INCIDENT, EDIT, ...RUN_OPTIONS, '--json', '--reports', reports, '--junit', join(reports, 'quotarace.xml')]);
    expect([0, 1]).toContain(whole.code);
    const wholeFiles = new Map(files(reports).map((f) => [f, readFileSync(join(reports, f))]));
    rmSync(volume, { recursive: true, force: true });

    // Each pod: the same command, its own JOB_COMPLETION_INDEX (0-based), all at once.
    const pod = local(shards.spec.template.spec.containers[0]!, volume);
    const pods = await Promise.all(Array.from({ length: SHARDS }, (_, k) => exec(pod, { JOB_COMPLETION_INDEX: String(k) })));
    for (const p of pods) expect(p.code, p.err).toBe(0);
    expect(readdirSync(volume).sort()).toEqual(Array.from({ length: SHARDS }, (_, k) => `results-${k + 1}-of-${SHARDS}.json`));
    // A pod without its index refuses to guess a shard.
    const lost = await exec(pod, { JOB_COMPLETION_INDEX: '' });
    expect(lost.code).not.toBe(0);
    expect(lost.err).toContain('JOB_COMPLETION_INDEX');

    // The merge Job's command: the same JSON, exit code, JUnit, evidence and reports.
    const merged = await exec(local(merge.spec.template.spec.containers[0]!, volume));
    expect(merged.code, merged.err).toBe(whole.code);
    expect(merged.out).toBe(whole.out);
    expect(existsSync(reports)).toBe(true);
    const mergedFiles = files(reports);
    expect(mergedFiles).toEqual([...wholeFiles.keys()]);
    expect(mergedFiles.some((f) => f.endsWith('.html'))).toBe(true);
    // Byte for byte, but for the run line's note that says the campaign ran as shards (HTML only).
    const shardNote = new RegExp(`; ran as ${SHARDS} shards \\(run --shard i/${SHARDS}, then merge\\): the same results as this one command`);
    for (const f of mergedFiles) {
      const got = readFileSync(join(reports, f));
      if (!f.endsWith('.html')) expect(got.equals(wholeFiles.get(f)!), f).toBe(true);
      else {
        expect(got.toString('utf8'), f).toMatch(shardNote);
        expect(got.toString('utf8').replace(shardNote, ''), f).toBe(wholeFiles.get(f)!.toString('utf8'));
      }
    }
  });

  it("passes Kubernetes' own schema, and a restricted namespace, a quota on limits and the TTL controller would take it", async () => {
    const printed = await cli('k8s-job', INCIDENT, '--shards', '4', '--image', 'img:1', '--results-pvc', 'res', '--runs', '40');
    expect(printed.code, printed.err).toBe(0);
    const [shards, merge, fetch] = documents(printed.out);
    // kubernetes-models validates against the Kubernetes OpenAPI schema (types, enums,
    // required fields, quantities); `validate()` throws on the first misfit.
    expect(() => new JobModel(shards as never).validate()).not.toThrow();
    expect(() => new JobModel(merge as never).validate()).not.toThrow();
    expect(() => new PodModel(fetch as never).validate()).not.toThrow();
    // ...and it does bite: a quantity Kubernetes cannot parse, a restartPolicy a Job refuses.
    const broken = structuredClone(shards);
    broken.spec.template.spec.containers[0]!.resources.requests.cpu = 'two';
    expect(() => new JobModel(broken as never).validate()).toThrow(/quantity/);
    const broken2 = structuredClone(merge);
    broken2.spec.template.spec.restartPolicy = 'Sometimes';
    expect(() => new JobModel(broken2 as never).validate()).toThrow(/restartPolicy/);

    for (const pod of [shards.spec.template.spec, merge.spec.template.spec, fetch.spec]) {
      expect(restrictedViolations(pod)).toEqual([]);
      // Requests and limits on both resources: a quota on limits.cpu/limits.memory admits the pod.
      for (const c of pod.containers) for (const r of ['cpu', 'memory']) for (const k of ['requests', 'limits'] as const) expect(c.resources[k][r], `${k}.${r}`).toBeTruthy();
      expect(pod.securityContext?.runAsUser).toBe(IMAGE_UID);
      expect(pod.securityContext?.fsGroup).toBe(IMAGE_UID);
    }
    const shardPod = shards.spec.template.spec.containers[0]!;
    expect(shardPod.resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } });
    // No --workers: the pod's `run` takes one worker per CPU of its limit (cpus.ts).
    expect(shardPod.command.join(' ')).not.toContain('--workers');
    expect(shards.spec.ttlSecondsAfterFinished).toBe(86_400);
    expect(merge.spec.ttlSecondsAfterFinished).toBe(86_400);
    // A fault or bad input recurs on retry: the Job fails at once instead of after every backoff.
    expect(shards.spec.podFailurePolicy?.rules).toEqual([{ action: 'FailJob', onExitCodes: { containerName: 'quotarace', operator: 'In', values: [1, 2] } }]);
    // The fetch pod only reads the volume, and ends by itself.
    expect(fetch.spec.containers[0]!.volumeMounts[0]!.readOnly).toBe(true);
    expect(fetch.spec.containers[0]!.command[0]).toBe('sleep');
    // The restricted check itself bites.
    const loose = structuredClone(fetch.spec);
    loose.containers[0]!.securityContext = { allowPrivilegeEscalation: false };
    expect(restrictedViolations(loose)).toEqual(['quotarace: must drop ALL capabilities']);

    // The flags: sizes, TTL, uid; --workers sizes the CPU when --cpu is not given.
    const sized = await cli('k8s-job', INCIDENT, '--shards', '2', '--image', 'img:1', '--results-pvc', 'res', '--cpu', '2500m', '--memory', '3Gi', '--ttl', '3600', '--uid', '65532');
    expect(sized.code, sized.err).toBe(0);
    const [s2, m2] = documents(sized.out);
    expect(s2.spec.template.spec.containers[0]!.resources).toEqual({ requests: { cpu: '2500m', memory: '3Gi' }, limits: { cpu: '2500m', memory: '3Gi' } });
    expect(m2.spec.ttlSecondsAfterFinished).toBe(3600);
    expect(s2.spec.template.spec.securityContext?.runAsUser).toBe(65532);
    expect(() => new JobModel(s2 as never).validate()).not.toThrow();
    const threads = await cli('k8s-job', INCIDENT, '--shards', '2', '--image', 'img:1', '--results-pvc', 'res', '--workers', '3');
    const [s3] = documents(threads.out);
    expect(s3.spec.template.spec.containers[0]!.resources.limits.cpu).toBe('3');
    expect(s3.spec.template.spec.containers[0]!.command.join(' ')).toContain('--workers 3');
  });

  describe('the printed recipe, run by sh against a stand-in kubectl', () => {
    /**
     * The stand-in logs every call. `kubectl get job/NAME -o jsonpath=…` prints, call after
     * call, the lines of NAME.status: the types of the Job's True conditions as kubectl's
     * jsonpath lists them (nothing while it runs; Kubernetes 1.31+ adds FailureTarget before
     * Failed and SuccessCriteriaMet before Complete). A Job without a file is NotFound. `sleep`
     * is a stand-in too: no test waits on a clock.
     */
    function standIns(dir: string, statuses: Record<string, string[]>): void {
      const bin = join(dir, 'bin');
      mkdirSync(bin, { recursive: true });
      for (const [job, lines] of Object.entries(statuses)) writeFileSync(join(dir, `${job}.status`), lines.map((l) => `${l}\n`).join(''));
      const kubectl = [
        '#!/bin/sh',
        'echo "kubectl $*" >> "$FAKE/calls"',
        'case "$1" in',
        '  get)',
        '    job=${2#job/}',
        `    [ "$3" = -o ] && [ "$4" = 'jsonpath={.status.conditions[?(@.status=="True")].type}' ] || { echo "unexpected: $*" >&2; exit 3; }`,
        '    f="$FAKE/$job.status"',
        '    [ -f "$f" ] || { echo "Error from server (NotFound): jobs.batch \\"$job\\" not found" >&2; exit 1; }',
        '    n=$(( $(cat "$FAKE/$job.n" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$FAKE/$job.n"',
        // A recipe that never stops polling fails here, after 20 looks, instead of hanging the test.
        '    [ "$n" -gt 20 ] && { echo "stand-in: job/$job polled 20 times" >&2; exit 4; }',
        '    total=$(wc -l < "$f"); [ "$n" -gt "$total" ] && n=$total',
        '    sed -n "${n}p" "$f" ;;',
        '  logs) echo "the merge log" ;;',
        'esac',
      ].join('\n');
      writeFileSync(join(bin, 'kubectl'), kubectl + '\n');
      writeFileSync(join(bin, 'sleep'), '#!/bin/sh\necho "sleep $*" >> "$FAKE/calls"\n');
      chmodSync(join(bin, 'kubectl'), 0o755);
      chmodSync(join(bin, 'sleep'), 0o755);
    }

    let recipe: string;
    beforeAll(async () => {
      const printed = await cli('k8s-job', INCIDENT, '--shards', '2', '--image', 'img:1', '--results-pvc', 'res', '--name', 'qr');
      expect(printed.code, printed.err).toBe(0);
      const lines = printed.out.split('\n');
      const from = lines.findIndex((l) => l.endsWith('in sh, bash or zsh:')) + 1;
      expect(from).toBeGreaterThan(0);
      const steps: string[] = [];
      for (let i = from; lines[i]!.startsWith('#   '); i++) steps.push(lines[i]!.slice(4));
      recipe = steps.join('\n');
      // Loading the scenario may take a while on a loaded machine: no time limit.
    }, 0);

    function runRecipe(name: string, statuses: Record<string, string[]>): { code: number; calls: string[]; err: string } {
      const dir = join(tmp, `recipe-${name}`);
      standIns(dir, statuses);
      const r = spawnSync('sh', ['-c', recipe], { cwd: dir, encoding: 'utf8', env: { ...process.env, FAKE: dir, PATH: `${join(dir, 'bin')}:${process.env.PATH}` } });
      const calls = existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : [];
      return { code: r.status ?? -1, calls, err: r.stderr };
    }
    const GET = (job: string) => `kubectl get job/${job} -o jsonpath={.status.conditions[?(@.status=="True")].type}`;

    it('stops when the shards fail: no merge, exit 1, and says where to look', () => {
      const r = runRecipe('shards-fail', { qr: ['', '', 'FailureTarget Failed'] });
      expect(r.code).toBe(1);
      expect(r.calls).toEqual(['kubectl apply -f job.yaml -l quotarace/step=shards', GET('qr'), 'sleep 10', GET('qr'), 'sleep 10', GET('qr')]);
      expect(r.err).toContain('job/qr failed: kubectl describe job/qr');
    });

    it('runs every step when the shards complete, and fetches the reports even when the gate fails', () => {
      for (const merge of [['', 'SuccessCriteriaMet Complete'], ['', 'FailureTarget Failed']]) {
        const r = runRecipe(`ok-${merge[1]!.split(' ')[1]}`, { qr: ['', 'SuccessCriteriaMet Complete'], 'qr-merge': merge });
        expect(r.code).toBe(0);
        expect(r.calls).toEqual([
          'kubectl apply -f job.yaml -l quotarace/step=shards',
          GET('qr'),
          'sleep 10',
          GET('qr'),
          'kubectl apply -f job.yaml -l quotarace/step=merge',
          GET('qr-merge'),
          'sleep 10',
          GET('qr-merge'),
          'kubectl logs job/qr-merge',
          'kubectl apply -f job.yaml -l quotarace/step=fetch',
          'kubectl wait --for=condition=Ready --timeout=10m pod/qr-fetch',
          `kubectl cp qr-fetch:${RESULTS_MOUNT}/reports ./quotarace-reports`,
          'kubectl delete pod/qr-fetch',
        ]);
      }
    });

    it('stops when kubectl cannot read the Job (exit 2), instead of polling forever', () => {
      const r = runRecipe('not-found', {});
      expect(r.code).toBe(2);
      expect(r.calls).toEqual(['kubectl apply -f job.yaml -l quotarace/step=shards', GET('qr')]);
      expect(r.err).toContain('NotFound');
    });
  });

  it('refuses bad input with one clear line and exit 2', async () => {
    const base = [INCIDENT, '--image', 'img', '--results-pvc', 'pvc'];
    const cases: Array<[string[], string]> = [
      [['--shards', '0', ...base], '--shards expects one integer from 1 to 1000, got 0'],
      [['--shards', '1001', ...base], '--shards expects one integer from 1 to 1000, got 1001'],
      [['--shards', '2.5', ...base], '--shards expects one integer from 1 to 1000, got 2.5'],
      [['--shards', '2', INCIDENT, '--image', ' ', '--results-pvc', 'pvc'], '--image expects a container image'],
      [['--shards', '2', INCIDENT, '--image', 'img'], '--results-pvc NAME is required'],
      [['--shards', '2', ...base, '--explore', 'exhaustive'], '--explore exhaustive has no seeds to split'],
      [['--shards', '2', ...base, '--parallelism', '3'], '--parallelism expects 1 to --shards (2), got 3'],
      [['--shards', '2', ...base, '--name', 'Not_A_Name'], '--name expects a Kubernetes name'],
      [['--shards', '2', ...base, '--runs', '0'], '--runs expects one integer from 1 to'],
      [['--shards', '2', 'scenarios/no-such.yaml', '--image', 'img', '--results-pvc', 'pvc'], 'no such file or folder'],
      // yargs makes a repeated flag an array; `image: a,b` must never be printed.
      [['--shards', '2', INCIDENT, '--image', 'a', '--image', 'b', '--results-pvc', 'pvc'], '--image expects one value, got 2: a, b'],
      [['--shards', '2', ...base, '--results-pvc', 'other'], '--results-pvc expects one value, got 2: pvc, other'],
      [['--shards', '2', ...base, '--cpu', 'two'], '--cpu expects a positive Kubernetes CPU quantity'],
      [['--shards', '2', ...base, '--cpu', '0'], '--cpu expects a positive Kubernetes CPU quantity'],
      [['--shards', '2', ...base, '--memory', '1.5Gi'], '--memory expects a positive Kubernetes memory quantity'],
      [['--shards', '2', ...base, '--ttl', '0'], '--ttl expects one integer from 600 to'],
      [['--shards', '2', ...base, '--uid', '0'], '--uid expects one integer from 1 to'],
    ];
    for (const [argv, message] of cases) {
      const r = await cli('k8s-job', ...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toContain(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });
});
