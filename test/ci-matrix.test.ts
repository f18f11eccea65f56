import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * The GitHub Actions workflow that README.md offers ("Spreading a campaign over a CI matrix"),
 * run here step by step: every matrix job's `run:` lines as GitHub's bash runs them, the
 * artifact actions as copies between folders, then the gate job. Two edits make it fit a
 * test: one scenario instead of the folder and 16 runs instead of 20,000 (each checked to
 * be in the README's text), and two strategies. `npm ci` is test/install.test.ts's business.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'quotarace.js');
const EDITS: Array<[string, string]> = [
  ['npx quotarace ', `${process.execPath} ${BIN} `],
  ['run scenarios ', 'run scenarios/1-incident-7178.yaml '],
  ['--runs 20000', '--runs 16 --workers 1 --strategy pre-fix --strategy v1.4.2'],
];

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
}
interface Workflow {
  jobs: Record<string, { needs?: string; strategy?: { matrix: Record<string, unknown[]> }; steps: Step[] }>;
}

/** The README's workflow: the yaml block after "A ready GitHub Actions workflow". */
function readmeWorkflow(): Workflow {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('A ready GitHub Actions workflow');
  expect(at).toBeGreaterThan(0);
  const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block).not.toBeNull();
  return parse(block![1]!) as Workflow;
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'quotarace-ci-matrix-'));
});
afterAll(() => {
  if (tmp && !process.env.QUOTARACE_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
});

function bash(command: string, cwd: string): { code: number; out: string; err: string } {
  // GitHub's `run:` shell on ubuntu runners: bash --noprofile --norc -eo pipefail.
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', command], { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
}

/** A fresh runner's workspace: the checkout (its scenarios). */
function workspace(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  symlinkSync(join(ROOT, 'scenarios'), join(dir, 'scenarios'));
  return dir;
}

describe("README's CI matrix workflow", () => {
  it('its shard jobs and gate job, run as written, gate like one unsharded run', { timeout: 0 }, () => {
    const wf = readmeWorkflow();
    const readmeText = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const edit = (cmd: string, vars: Record<string, string>) => {
      let out = cmd.replace(/\$\{\{\s*matrix\.(\w+)\s*\}\}/g, (_m, k: string) => {
        expect(vars, `matrix.${k}`).toHaveProperty(k);
        return vars[k]!;
      });
      for (const [from, to] of EDITS) out = out.replaceAll(from, to);
      return out;
    };
    for (const [from] of EDITS) expect(readmeText).toContain(from);

    const artifacts = join(tmp, 'artifacts');
    const runJob = (name: string, vars: Record<string, string>, cwd: string): Array<{ step: Step; code: number; out: string; err: string }> => {
      const done = [];
      let failed = false;
      for (const step of wf.jobs[name]!.steps) {
        if (failed && step.if !== 'always()') continue;
        if (step.run !== undefined) {
          if (step.run.trim() === 'npm ci') continue;
          const r = bash(edit(step.run, vars), cwd);
          done.push({ step, ...r });
          if (r.code !== 0) failed = true;
          continue;
        }
        const action = step.uses!.split('@')[0];
        const w = step.with ?? {};
        if (action === 'actions/checkout' || action === 'actions/setup-node') continue;
        if (action === 'actions/upload-artifact') {
          const path = join(cwd, edit(String(w.path), vars));
          expect(existsSync(path), `upload-artifact ${String(w.path)}`).toBe(true);
          const to = join(artifacts, edit(String(w.name), vars));
          mkdirSync(to, { recursive: true });
          cpSync(path, join(to, basename(path)), { recursive: true });
        } else if (action === 'actions/download-artifact') {
          // merge-multiple: every artifact's files into one folder.
          expect(w['merge-multiple']).toBe(true);
          const to = join(cwd, String(w.path));
          mkdirSync(to, { recursive: true });
          for (const a of readdirSync(artifacts)) cpSync(join(artifacts, a), to, { recursive: true });
        } else if (action === 'mikepenz/action-junit-report') {
          const xml = readFileSync(join(cwd, String(w.report_paths)), 'utf8');
          expect(xml).toContain('<testsuite');
        } else throw new Error(`the workflow uses ${step.uses}, which this test does not stand in for`);
      }
      return done;
    };

    const matrix = wf.jobs.shard!.strategy!.matrix.shard!.map(String);
    expect(matrix.length).toBeGreaterThan(1);
    for (const shard of matrix) {
      const ran = runJob('shard', { shard }, workspace(`shard-${shard}`));
      for (const r of ran) expect(r.code, `${r.step.run}\n${r.err}`).toBe(0);
    }
    expect(wf.jobs.gate!.needs).toBe('shard');
    const gateDir = workspace('gate');
    const gate = runJob('gate', {}, gateDir);
    const merge = gate.find((r) => r.step.run?.includes('merge'))!;

    // The same campaign unsharded, with the same edits: the gate's exit code and JUnit verdicts.
    const whole = bash(edit('npx quotarace run scenarios --runs 20000 --junit whole.xml', {}), workspace('whole'));
    expect([0, 1], whole.err).toContain(whole.code);
    expect(merge.code, merge.err).toBe(whole.code);
    const verdicts = (xml: string) => [...xml.matchAll(/<testcase [^>]*name="([^"]*)"[^>]*>(\s*<failure)?/g)].map((m) => `${m[1]}:${m[2] ? 'fail' : 'ok'}`);
    const mergedXml = readFileSync(join(gateDir, 'quotarace.xml'), 'utf8');
    expect(verdicts(mergedXml).length).toBeGreaterThan(0);
    expect(verdicts(mergedXml)).toEqual(verdicts(readFileSync(join(tmp, 'whole', 'whole.xml'), 'utf8')));
    // The reports the workflow uploads are there.
    expect(existsSync(join(gateDir, 'reports', 'index.html'))).toBe(true);
  });
});
