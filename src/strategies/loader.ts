import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { z } from 'zod';
import { KINDS } from '../cluster/objects.js';
import type { Strategy } from './api.js';
import { BUILTIN_STRATEGIES, builtinStrategy } from './builtin.js';

export class StrategyLoadError extends Error {}

const STRATEGY_FILE = /\.(ts|mts|js|mjs)$/;

/** A strategy reference: a built-in's name, or a module file. */
export function isStrategyPath(ref: string): boolean {
  return STRATEGY_FILE.test(ref);
}

const shape = z
  .object({
    name: z.string().min(1, 'name must not be empty'),
    description: z.string(),
    reconcilers: z.array(
      z.object({
        name: z.string().min(1),
        watches: z.array(z.enum(KINDS as [string, ...string[]])),
        reconcile: z.function(),
        keys: z.function().optional(),
      }),
    ),
    webhooks: z.array(z.object({ name: z.string().min(1), kind: z.enum(KINDS as [string, ...string[]]), validate: z.function() })),
    agentQuotaSync: z.function().optional(),
  })
  .passthrough();

const loaded = new Map<string, Strategy>();
const refs = new WeakMap<Strategy, string>();

/** How a worker finds a strategy again: a built-in's name, or the module's absolute path. */
export function strategyRef(s: Strategy): string {
  return refs.get(s) ?? s.name;
}

/** The package's own entry point, which strategy modules import as "quotarace". */
function packageEntry(): string {
  const here = fileURLToPath(new URL('../index.js', import.meta.url));
  return existsSync(here) ? here : fileURLToPath(new URL('../../dist/index.js', import.meta.url));
}

/**
 * Load a strategy module (TypeScript or JavaScript) without a build step: esbuild bundles it
 * (its own relative imports included, "quotarace" pointing at this package) into one ES
 * module in a cache folder keyed by the content hash, which Node imports. The default
 * export must have the Strategy shape (defineStrategy).
 */
export async function loadStrategyFile(path: string): Promise<Strategy> {
  const cached = loaded.get(path);
  if (cached) return cached;
  const { build } = await import('esbuild');
  let code: string;
  try {
    const out = await build({
      entryPoints: [path],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'silent',
      plugins: [
        {
          name: 'quotarace-self',
          setup(b) {
            b.onResolve({ filter: /^quotarace$/ }, () => ({ path: pathToFileURL(packageEntry()).href, external: true }));
          },
        },
      ],
    });
    code = out.outputFiles[0]!.text;
  } catch (e) {
    const errors = (e as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } }> }).errors;
    const first = errors?.[0];
    const where = first?.location ? `${resolve(first.location.file)}:${first.location.line}:${first.location.column + 1}: ` : `${path}: `;
    throw new StrategyLoadError(`${where}cannot compile the strategy: ${first?.text ?? String(e)}`);
  }
  const dir = join(tmpdir(), 'quotarace-strategies');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${createHash('sha256').update(path).update(code).digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(file) || readFileSync(file, 'utf8') !== code) writeFileSync(file, code);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (e) {
    throw new StrategyLoadError(`${path}: loading the strategy module threw: ${(e as Error).message}`);
  }
  if (mod.default === undefined) {
    throw new StrategyLoadError(`${path}: the module has no default export; end it with: export default defineStrategy({ name, description, reconcilers, webhooks })`);
  }
  const s = shape.safeParse(mod.default);
  if (!s.success) {
    const i = s.error.issues[0]!;
    throw new StrategyLoadError(
      `${path}: the default export is not a strategy (${i.path.join('.') || 'default export'}: ${i.message}); export default defineStrategy({ name, description, reconcilers, webhooks })`,
    );
  }
  const strategy = mod.default as Strategy;
  loaded.set(path, strategy);
  refs.set(strategy, path);
  return strategy;
}

/**
 * THE strategy resolution: a built-in's name, or a path to a .ts/.js strategy module
 * (relative to `baseDir`, the working directory by default; absolute paths as they are).
 * The command line, scenarios' `strategies:` lists, evidence replays and worker threads
 * all come through here. Unknown names and missing modules are a StrategyLoadError (bad input).
 */
export async function resolveStrategy(ref: string, baseDir: string = process.cwd()): Promise<Strategy> {
  if (isStrategyPath(ref)) {
    const abs = resolve(baseDir, ref);
    if (!existsSync(abs)) throw new StrategyLoadError(`no strategy module at ${ref}`);
    return loadStrategyFile(abs);
  }
  const s = builtinStrategy(ref);
  if (!s) throw new StrategyLoadError(`unknown strategy "${ref}" (built-in: ${BUILTIN_STRATEGIES.map((b) => b.name).join(', ')}; or a path to a .ts/.js module)`);
  return s;
}
