import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { z } from 'zod';
import { KINDS } from '../cluster/objects.js';
import type { Strategy } from './api.js';
import { BUILTIN_STRATEGIES, builtinStrategy } from './builtin.js';
import { StrategyFault } from './fault.js';
import { isUntrusted, markUntrusted } from './trust.js';

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
/** Strategy module path → its bundle (an .mjs file in the cache folder). */
const bundles = new Map<string, string>();
/** Stand-ins, in the main thread, for strategies that only ever run in a sandbox. */
const stubs = new WeakMap<Strategy, { fault?: string }>();

/** How a worker finds a strategy again: a built-in's name, or the module's absolute path. */
export function strategyRef(s: Strategy): string {
  return refs.get(s) ?? s.name;
}

/** A module's bundle file, when it was bundled in this thread. */
export function bundleOf(ref: string): string | undefined {
  return bundles.get(ref);
}

/** A bundle made by another thread (the main thread bundles; sandboxed workers import). */
export function registerBundle(path: string, file: string): void {
  bundles.set(path, file);
}

/** A strategy loaded from a module (a path), as opposed to a built-in resolved by name. */
export function isUserStrategy(s: Strategy): boolean {
  return isUntrusted(s) || stubs.has(s);
}

/**
 * The main thread's stand-in for a user strategy: its name and description, as a sandboxed
 * worker read them; it never runs here (no reconcilers). `fault`: loading it already failed.
 */
export function userStrategyStub(path: string, name: string, description: string, fault?: string): Strategy {
  const s: Strategy = { name, description, reconcilers: [], webhooks: [] };
  stubs.set(s, fault === undefined ? {} : { fault });
  refs.set(s, path);
  return s;
}

/** What went wrong when the module was loaded in its sandbox (it threw, hung, exited...). */
export function loadFaultOf(s: Strategy): string | undefined {
  return stubs.get(s)?.fault;
}

/** Names become folder names (reports/<scenario>/<strategy>/): no separators, no control characters, no "." or "..". */
export function unsafeName(name: string): string | undefined {
  if (name.length > 100) return `is ${name.length} characters long; at most 100`;
  // eslint-disable-next-line no-control-regex
  if (/[/\\\u0000-\u001f\u007f]/.test(name)) return `"${JSON.stringify(name).slice(1, -1).slice(0, 60)}" contains a "/", "\\" or a control character; a name is used as a folder name`;
  if (name === '.' || name === '..' || name.trim() !== name || name === '') return `"${name}" cannot be used as a folder name`;
  return undefined;
}

/** The package's own entry point, which strategy modules import as "quotarace". */
function packageEntry(): string {
  const here = fileURLToPath(new URL('../index.js', import.meta.url));
  return existsSync(here) ? here : fileURLToPath(new URL('../../dist/index.js', import.meta.url));
}

/**
 * Bundle a strategy module (TypeScript or JavaScript) without a build step: esbuild bundles
 * it (its own relative imports included, "quotarace" pointing at this package) into one ES
 * module in a cache folder keyed by the content hash. A compile error is bad input.
 */
export async function bundleStrategy(path: string): Promise<string> {
  const done = bundles.get(path);
  if (done) return done;
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new StrategyLoadError(`no strategy module at ${path}`);
  }
  if (!st.isFile()) throw new StrategyLoadError(`${path}: not a regular file`);
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
  bundles.set(path, file);
  return file;
}

/** Read a default export once, into a plain object: a Proxy or a getter is asked once, here. */
function snapshot(d: unknown): unknown {
  if (d === null || typeof d !== 'object') return d;
  const o = d as Record<string, unknown>;
  const list = (v: unknown): unknown => (Array.isArray(v) ? Array.from(v, (x) => (x !== null && typeof x === 'object' ? { ...(x as object) } : x)) : v);
  return { ...o, name: o.name, description: o.description, reconcilers: list(o.reconcilers), webhooks: list(o.webhooks), agentQuotaSync: o.agentQuotaSync };
}

/** Which job's module instances loadStrategyFile imports (0: the first, and outside a sandbox). */
let generation = 0;

/**
 * A sandboxed worker starts a job: every module it loads from now on is a fresh instance
 * (its own module-level state), so no job sees what another left in the module, and a
 * job's result does not depend on which worker, or after which jobs, it ran.
 */
export function freshInstances(): void {
  generation++;
  loaded.clear();
}

/**
 * Load a strategy module in this thread (what a sandboxed worker does; the command line
 * never runs a user's module in its own thread). `instance` imports a fresh module
 * instance (its own module-level state), for the determinism check.
 */
export async function loadStrategyFile(path: string, opts: { bundle?: string; instance?: string } = {}): Promise<Strategy> {
  const cached = opts.instance === undefined ? loaded.get(path) : undefined;
  if (cached) return cached;
  const file = opts.bundle ?? (await bundleStrategy(path));
  const query = [...(generation > 0 ? [`job=${generation}`] : []), ...(opts.instance === undefined ? [] : [`instance=${encodeURIComponent(opts.instance)}`])];
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href + (query.length ? `?${query.join('&')}` : ''))) as { default?: unknown };
  } catch (e) {
    throw new StrategyFault(path, `loading the module threw: ${describeThrown(e)}`);
  }
  let raw: unknown;
  try {
    if (mod.default === undefined) {
      throw new StrategyLoadError(`${path}: the module has no default export; end it with: export default defineStrategy({ name, description, reconcilers, webhooks })`);
    }
    raw = snapshot(mod.default);
  } catch (e) {
    if (e instanceof StrategyLoadError) throw e;
    throw new StrategyLoadError(`${path}: the default export is not a strategy (reading it threw: ${describeThrown(e)}); export default defineStrategy({ name, description, reconcilers, webhooks })`);
  }
  const s = shape.safeParse(raw);
  if (!s.success) {
    const i = s.error.issues[0]!;
    throw new StrategyLoadError(
      `${path}: the default export is not a strategy (${i.path.join('.') || 'default export'}: ${i.message}); export default defineStrategy({ name, description, reconcilers, webhooks })`,
    );
  }
  const strategy = Object.freeze(raw) as Strategy;
  const bad = unsafeName(strategy.name);
  if (bad) throw new StrategyLoadError(`${path}: strategy name ${bad}`);
  if (builtinStrategy(strategy.name)) throw new StrategyLoadError(`${path}: the strategy is named "${strategy.name}", the name of a built-in strategy; give it a name of its own`);
  markUntrusted(strategy);
  if (opts.instance === undefined) loaded.set(path, strategy);
  refs.set(strategy, path);
  return strategy;
}

/** A thrown value in one line, whatever it is (an Error, a string, an object whose toString throws). */
function describeThrown(e: unknown): string {
  let text: string;
  try {
    text = e instanceof Error ? String(e.message) : String(e);
  } catch {
    // a throwing getter on an Error, or a throwing toString
    text = Object.prototype.toString.call(e);
  }
  const first = text.split('\n', 1)[0]!;
  return first.length > 300 ? `${first.slice(0, 300)}…` : first;
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
    return loadStrategyFile(abs, { bundle: bundleOf(abs) });
  }
  const s = builtinStrategy(ref);
  if (!s) throw new StrategyLoadError(`unknown strategy "${ref}" (built-in: ${BUILTIN_STRATEGIES.map((b) => b.name).join(', ')}; or a path to a .ts/.js module)`);
  return s;
}
