import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { main } from '../src/cli/main.js';
import { RESULTS_MOUNT } from '../src/cli/k8s-job.js';

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

interface Container {
  image: string;
  command: string[];
  args?: string[];
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface Job {
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    completionMode?: string;
    completions: number;
    parallelism?: number;
    template: { spec: { restartPolicy: string; containers: Container[]; volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }> } };
  };
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
  it('prints an Indexed Job whose pods, run locally by completion index, merge to exactly the unsharded run', async () => {
    const printed = await cli('k8s-job', INCIDENT, EDIT, '--shards', String(SHARDS), '--image', 'registry.example/quotarace:1', '--results-pvc', 'quotarace-results', ...RUN_OPTIONS);
    expect(printed.code, printed.err).toBe(0);
    const docs = parseAllDocuments(printed.out).map((d) => {
      expect(d.errors).toEqual([]);
      return d.toJS() as Job;
    });
    expect(docs).toHaveLength(2);
    const [shards, merge] = docs as [Job, Job];

    // The shape Kubernetes needs.
    expect(shards.kind).toBe('Job');
    expect(shards.spec.completionMode).toBe('Indexed');
    expect(shards.spec.completions).toBe(SHARDS);
    expect(shards.spec.parallelism).toBe(SHARDS);
    expect(merge.kind).toBe('Job');
    expect(merge.spec.completions).toBe(1);
    expect(merge.metadata.name).toBe(`${shards.metadata.name}-merge`);
    for (const job of docs) {
      const pod = job.spec.template.spec;
      expect(pod.restartPolicy).toBe('Never');
      expect(pod.containers).toHaveLength(1);
      expect(pod.containers[0]!.image).toBe('registry.example/quotarace:1');
      expect(pod.containers[0]!.volumeMounts).toEqual([{ name: 'results', mountPath: RESULTS_MOUNT }]);
      expect(pod.volumes).toEqual([{ name: 'results', persistentVolumeClaim: { claimName: 'quotarace-results' } }]);
    }
    // `kubectl apply -l` tells the two steps apart.
    expect(shards.metadata.labels['quotarace/step']).toBe('shards');
    expect(merge.metadata.labels['quotarace/step']).toBe('merge');

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
    for (const f of mergedFiles) expect(readFileSync(join(reports, f)).equals(wholeFiles.get(f)!), f).toBe(true);
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
