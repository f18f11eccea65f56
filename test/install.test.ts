import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ignore } from '@balena/dockerignore';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The uid k8s-job's pods run as by default must be the image's user.
import { IMAGE_UID } from '../src/cli/k8s-job.js';

/**
 * How quotarace gets onto a machine: `npm ci --omit=dev` on a clean clone, and the image
 * recipe (Dockerfile) run step by step without a container engine. Both end by running a
 * scenario with what they installed, and must print what this checkout prints.
 *
 * No time limit (these tests download from the npm registry or its cache, and run tsc):
 * a slow machine makes them slow, not red.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Scenario 9 runs the example strategy module: the esbuild bundling path is exercised too. */
const SCENARIO = 'scenarios/9-user-strategy.yaml';
const RUN = ['run', SCENARIO, '--allow-module', 'scenarios/strategies', '--runs', '12', '--workers', '1', '--no-progress'];
const MODULE = 'scenarios/strategies/exact-delta.ts';
/** Docker's own .dockerignore rules. A CommonJS function whose types declare an ES default export, hence require. */
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'quotarace-install-'));
  // The image's user (uid 1000) must be able to reach the folders under it.
  chmodSync(tmp, 0o755);
});
// Three node_modules to delete (rm is several times faster than fs.rmSync at it): no time limit here either.
afterAll(() => {
  if (tmp && !process.env.QUOTARACE_KEEP_TMP) spawnSync('rm', ['-rf', tmp]);
}, 0);

interface Ran {
  code: number;
  out: string;
  err: string;
}

/** The environment of a fresh shell: no npm_* variables from the `npm test` that runs us. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_ENV' && k !== 'VITEST' && !k.startsWith('VITEST_')) env[k] = v;
  return { ...env, ...extra };
}

function run(argv: readonly string[], opts: SpawnSyncOptions): Ran {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, out: String(r.stdout), err: String(r.stderr) };
}

/** The checkout's files as `git clone` plus uncommitted edits would have them: nothing ignored, no node_modules or dist/. */
function sourceFiles(): string[] {
  const r = run(['git', 'ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT });
  expect(r.code, r.err).toBe(0);
  return r.out.split('\0').filter((f) => f && existsSync(join(ROOT, f)));
}

function copyFiles(files: readonly string[], to: string): void {
  for (const f of files) {
    mkdirSync(dirname(join(to, f)), { recursive: true });
    cpSync(join(ROOT, f), join(to, f));
  }
}

/** Every file under `dir`, relative to it, sorted. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix))
    .flatMap((f) => (statSync(join(dir, prefix, f)).isDirectory() ? filesUnder(dir, join(prefix, f)) : [join(prefix, f)]))
    .sort();
}

/** What this checkout's own build prints for the same run (its exit code is the gate's, 0 or 1). */
function reference(reports: string): Ran {
  const r = run([process.execPath, join(ROOT, 'bin', 'quotarace.js'), ...RUN, '--reports', reports], { cwd: ROOT, env: cleanEnv() });
  expect([0, 1], r.err).toContain(r.code);
  return r;
}

/**
 * Report paths differ between the two runs; everything else must not. Their names have one
 * length (`reports-XX`): the table wraps its lines by width.
 */
const sameBut = (text: string, reports: string) => text.replaceAll(reports, '<reports>');

describe('npm ci --omit=dev on a clean clone', () => {
  it('installs production dependencies only, builds dist/ without them, and runs a scenario', { timeout: 0 }, () => {
    const clone = join(tmp, 'clone');
    copyFiles(sourceFiles(), clone);
    expect(existsSync(join(clone, 'dist'))).toBe(false);

    const ci = run(['npm', 'ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: clone, env: cleanEnv() });
    expect(ci.code, ci.err).toBe(0);
    // Production only: no test runner, no @types/node (what the old `prepare` needed).
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    for (const dev of Object.keys(pkg.devDependencies)) expect(existsSync(join(clone, 'node_modules', dev)), dev).toBe(false);

    // `prepare` emitted without type checking: the same dist/ as the checked `npm run build`.
    const built = filesUnder(join(clone, 'dist'));
    expect(built).toContain(join('cli', 'main.js'));
    expect(built).toContain('index.d.ts');
    for (const f of built) expect(readFileSync(join(clone, 'dist', f)).equals(readFileSync(join(ROOT, 'dist', f))), `dist/${f} (is this checkout's dist/ built? npm run build)`).toBe(true);

    const mine = join(tmp, 'reports-cl');
    const got = run([process.execPath, 'bin/quotarace.js', ...RUN, '--reports', mine], { cwd: clone, env: cleanEnv() });
    const want = reference(join(tmp, 'reports-r1'));
    expect(got.code, got.err).toBe(want.code);
    expect(sameBut(got.out, mine)).toBe(sameBut(want.out, join(tmp, 'reports-r1')));

    // `check` runs with the optional typescript installed...
    const checked = run([process.execPath, 'bin/quotarace.js', 'check', MODULE], { cwd: clone, env: cleanEnv() });
    expect(checked.code, checked.err).toBe(0);
    expect(checked.out).toContain('types ok');
    // ...and without it says how to get it, while `prepare` still succeeds and keeps dist/.
    rmSync(join(clone, 'node_modules', 'typescript'), { recursive: true });
    const prepare = run(['npm', 'run', 'prepare'], { cwd: clone, env: cleanEnv() });
    expect(prepare.code, prepare.err).toBe(0);
    expect(prepare.err).toContain('keeping the dist/ already here');
    expect(existsSync(join(clone, 'dist', 'cli', 'main.js'))).toBe(true);
    const noTs = run([process.execPath, 'bin/quotarace.js', 'check', MODULE], { cwd: clone, env: cleanEnv() });
    expect(noTs.code).toBe(2);
    expect(noTs.err.trim()).toMatch(/^quotarace: check needs the typescript package, an optional dependency .*: npm install --no-save typescript@7$/);
  });
});

/**
 * The Dockerfile, run without a container engine: each stage is a folder standing for the
 * image's file system (the base image is this machine's Node), COPY reads a clean build
 * context (the checkout's files less .dockerignore), RUN runs in the stage's WORKDIR with its
 * ENV, absolute paths in RUN mapped into the stage's folder. Then the final stage runs a
 * scenario as the image's user.
 */
interface Stage {
  name: string | undefined;
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
}

/** A path inside a stage's image, on this machine. */
const inStage = (s: Stage, p: string) => join(s.root, posix.resolve(s.workdir, p));

/** A RUN command with its absolute paths moved into the stage's folder. */
function mapPaths(s: Stage, command: string): string {
  return command.replace(/(^|\s)(\/[^\s;&|]*)/g, (_m, pre: string, p: string) => `${pre}${join(s.root, p)}`);
}

function runDockerfile(context: string, text: string, into: string): Stage[] {
  const stages: Stage[] = [];
  const at = (i: Instruction) => `Dockerfile:${i.getRange().start.line + 1}: ${i.getKeyword()}`;
  for (const i of DockerfileParser.parse(text).getInstructions()) {
    const args = i.getArguments().map((a) => a.getValue());
    const flags = 'getFlags' in i ? (i as unknown as { getFlags(): Array<{ getName(): string; getValue(): string | null }> }).getFlags() : [];
    const stage = stages.at(-1);
    switch (i.getKeyword()) {
      case 'FROM': {
        // The base image is this machine's Node: it must be the same major version.
        expect(args[0], at(i)).toMatch(new RegExp(`^node:${process.versions.node.split('.')[0]}-`));
        const root = join(into, `stage-${stages.length}`);
        mkdirSync(join(root, 'usr', 'local', 'bin'), { recursive: true });
        chmodSync(into, 0o755);
        stages.push({ name: args[2], root, workdir: '/', env: {}, user: undefined });
        break;
      }
      case 'WORKDIR':
        stage!.workdir = posix.resolve(stage!.workdir, args[0]!);
        mkdirSync(inStage(stage!, '.'), { recursive: true });
        break;
      case 'ENV':
        for (const p of (i as unknown as { getProperties(): Array<{ getName(): string; getValue(): string | null }> }).getProperties()) stage!.env[p.getName()] = p.getValue() ?? '';
        break;
      case 'COPY': {
        const from = flags.find((f) => f.getName() === 'from')?.getValue();
        const source = from === undefined ? context : stages.find((s) => s.name === from)?.root;
        expect(source, `${at(i)}: --from=${from} names no earlier stage`).toBeDefined();
        const dest = args.at(-1)!;
        for (const src of args.slice(0, -1)) {
          const path = join(source!, src);
          expect(existsSync(path), `${at(i)}: ${src} is not in the ${from ? `stage ${from}` : 'build context'}`).toBe(true);
          const target = dest.endsWith('/') ? join(inStage(stage!, dest), posix.basename(src)) : inStage(stage!, dest);
          cpSync(path, target, { recursive: true });
        }
        break;
      }
      case 'RUN': {
        const command = mapPaths(stage!, i.getArgumentsContent()!.replace(/^(--\S+\s+)*/, ''));
        const r = run(['sh', '-c', command], { cwd: inStage(stage!, '.'), env: cleanEnv(stage!.env) });
        expect(r.code, `${at(i)} ${command}\n${r.err}`).toBe(0);
        break;
      }
      case 'USER':
        stage!.user = args[0];
        break;
      case 'CMD':
        break;
      default:
        throw new Error(`${at(i)}: this test does not run that instruction yet`);
    }
  }
  return stages;
}

describe('the image recipe (Dockerfile)', () => {
  it('builds in two stages, ships production dependencies only, and runs a scenario as a non-root user', { timeout: 0 }, () => {
    const context = join(tmp, 'context');
    copyFiles(dockerignore().add(readFileSync(join(ROOT, '.dockerignore'), 'utf8')).filter(sourceFiles()), context);
    for (const ignored of ['node_modules', 'dist', 'reports']) expect(existsSync(join(context, ignored)), ignored).toBe(false);
    const stages = runDockerfile(context, readFileSync(join(ROOT, 'Dockerfile'), 'utf8'), join(tmp, 'image'));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const image = stages.at(-1)!;

    // The final stage: production dependencies only, no sources, a non-root numeric user.
    const app = inStage(image, '.');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const dev of Object.keys(pkg.devDependencies)) expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(app, 'node_modules', dep)), dep).toBe(true);
    expect(existsSync(join(app, 'src'))).toBe(false);
    expect(image.user).toMatch(/^[1-9]\d*(:\d+)?$/);
    const uid = Number(image.user!.split(':')[0]);
    expect(uid).toBe(IMAGE_UID);

    // `quotarace` on the PATH, the bundled scenarios and strategies in the working directory.
    const bin = join(image.root, 'usr', 'local', 'bin');
    expect(existsSync(join(bin, 'quotarace'))).toBe(true);
    for (const f of filesUnder(join(ROOT, 'scenarios'))) expect(existsSync(join(app, 'scenarios', f)), f).toBe(true);

    // As the image's user where this machine allows it (root can switch; CI runs as root).
    const asUser = process.getuid?.() === 0 ? { uid, gid: uid } : {};
    const home = join(tmp, 'home');
    const mine = join(tmp, 'reports-im');
    for (const d of [home, mine]) {
      mkdirSync(d);
      if ('uid' in asUser) chownSync(d, uid, uid);
    }
    const env = cleanEnv({ ...image.env, PATH: `${bin}:${process.env.PATH}`, HOME: home, TMPDIR: home });
    const got = run(['quotarace', ...RUN, '--reports', mine], { cwd: app, env, ...asUser });
    const want = reference(join(tmp, 'reports-r2'));
    expect(got.code, got.err).toBe(want.code);
    expect(sameBut(got.out, mine)).toBe(sameBut(want.out, join(tmp, 'reports-r2')));
    // `reports/`, where `run` writes by default, is the user's.
    if ('uid' in asUser) expect(statSync(join(app, 'reports')).uid).toBe(uid);
    // `check` works in the image: typescript is an optional dependency it keeps.
    const checked = run(['quotarace', 'check', MODULE], { cwd: app, env, ...asUser });
    expect(checked.code, checked.err).toBe(0);
    expect(checked.out).toContain('types ok');
  });
});
