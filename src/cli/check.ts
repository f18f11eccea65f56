import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { isStrategyPath, loadStrategyFile } from '../strategies/loader.js';
import { EXIT_BAD_INPUT, EXIT_OK, UsageError, type Io } from './io.js';
import { runSandboxed } from './sandboxed.js';

/** The declarations strategy modules are checked against: dist/index.d.ts, or the sources in a checkout. */
function packageTypes(): string {
  for (const rel of ['../index.d.ts', '../index.ts', '../../dist/index.d.ts']) {
    const f = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(f)) return f;
  }
  throw new UsageError('cannot find the quotarace type declarations (dist/index.d.ts): run npm run build');
}

/**
 * TypeScript's own command-line compiler, from the installed `typescript` package (an optional
 * dependency: this command and the build need it, nothing else does). It is run as a process rather than imported: TypeScript
 * 7 publishes its programmatic API only as `typescript/unstable/*`, and `tsc` is the interface
 * whose diagnostics (`file(line,col): error TSxxxx`) users already know.
 */
function tscBin(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  } catch {
    throw new UsageError(
      'check needs the typescript package, an optional dependency that is not installed here (npm ci --omit=optional leaves it out); enable it with: npm install --no-save typescript@7',
    );
  }
}

/**
 * Type-check a strategy module with `tsc --noEmit`, strict, "quotarace" resolving to this
 * package's types, in a throw-away tsconfig (nothing is written next to the module). The
 * diagnostics are tsc's own, `file(line,col): error TSxxxx: ...`.
 */
export function typeCheck(file: string): { ok: boolean; diagnostics: string } {
  const dir = mkdtempSync(join(tmpdir(), 'quotarace-check-'));
  try {
    const config = {
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        lib: ['ES2022'],
        types: [],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        allowImportingTsExtensions: true,
        paths: { quotarace: [packageTypes()] },
      },
      files: [file],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
    const r = spawnSync(process.execPath, [tscBin(), '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { encoding: 'utf8' });
    const diagnostics = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    return { ok: r.status === 0, diagnostics };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `quotarace check <strategy.ts>`: type-check, then load the module and check its default export. */
export async function cmdCheck(args: Record<string, unknown>, io: Io): Promise<number> {
  const ref = String(args.strategy);
  if (!isStrategyPath(ref)) throw new UsageError(`check expects a .ts or .js strategy module, got ${ref}`);
  const file = resolve(ref);
  if (!existsSync(file)) throw new UsageError(`no strategy module at ${ref}`);
  // Type-checked here; loaded (the module's code run) only in a sandbox, where this command runs again from here on.
  if (!isMainThread) return describeLoaded(ref, file, io);
  const types = typeCheck(file);
  if (!types.ok) {
    const lines = types.diagnostics.split('\n').filter((l) => l.trim());
    // tsc names files relative to where it runs: the module is named as the user did.
    io.err(lines.map((l) => l.replace(/^(.*?)\((\d+),(\d+)\): /, (_m, f: string, l: string, c: string) => `${resolve(f) === file ? ref : f}:${l}:${c}: `)).join('\n'));
    // TS1xxx are the parser's (syntax), the rest the checker's.
    const syntax = lines.filter((l) => / error TS1\d{3}:/.test(l)).length;
    const typed = lines.filter((l) => / error TS\d+:/.test(l)).length - syntax;
    const count = (n: number, what: string) => `${n} ${what} error${n === 1 ? '' : 's'}`;
    const found = [syntax ? count(syntax, 'syntax') : '', typed ? count(typed, 'type') : ''].filter(Boolean).join(' and ') || `${lines.length} error${lines.length === 1 ? '' : 's'}`;
    io.err(`quotarace check: ${ref}: ${found}; ${syntax ? 'it does not parse' : 'a strategy that does not type-check can run with wrong values silently'}`);
    return EXIT_BAD_INPUT;
  }
  return runSandboxed(args, io, [file], 'check');
}

async function describeLoaded(ref: string, file: string, io: Io): Promise<number> {
  const s = await loadStrategyFile(file);
  const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`;
  io.out(`${ref}: types ok; strategy "${s.name}" loads (${n(s.reconcilers.length, 'reconciler')}, ${n(s.webhooks.length, 'webhook')}${s.agentQuotaSync ? ', agentQuotaSync' : ''})`);
  return EXIT_OK;
}
