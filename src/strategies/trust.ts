import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { shellQuote } from '../base/shell.js';
import type { Strategy } from './api.js';

/**
 * Strategies loaded from a module file: never trusted, whatever object they export (a
 * module could re-export a built-in's object). Built-ins are trusted by construction:
 * they come from resolving a built-in's name.
 */
const untrusted = new WeakSet<object>();

export function markUntrusted(s: Strategy): void {
  untrusted.add(s);
}

export function isUntrusted(s: Strategy): boolean {
  return untrusted.has(s);
}

/**
 * A strategy module named by data (a scenario's `strategies:`, an evidence or results
 * file) rather than on the command line: loading it runs its code, so it loads only when
 * the user named it, or a folder holding it, with --allow-module. Paths are compared after
 * resolving every symlink (realpath), so `./strategies/x.ts` linking to /tmp/x.ts is allowed
 * by `--allow-module /tmp/x.ts` (or the link itself), never by `--allow-module .`.
 */
export class ModuleNotAllowed extends Error {}

/** `p` with every symlink resolved; as far as it exists (a missing file is reported by the loader). */
export function realPath(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

/** Is `p` (after resolving symlinks) `dir` or inside it? */
export function isInside(p: string, dir: string): boolean {
  const rel = relative(realPath(dir), realPath(p));
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/** Is the working tree (the current folder) where `p` really is? */
export function insideWorkingTree(p: string): boolean {
  return isInside(p, process.cwd());
}

/**
 * Refuse a module `from` (a file) names unless --allow-module names it or a folder holding
 * it; returns its real path, the one the loader will read.
 */
export function allowDataModule(module: string, from: string, allowed: readonly string[]): string {
  const real = realPath(module);
  if (allowed.some((a) => isInside(real, a))) return real;
  const where = real !== resolve(module) ? ` (a link to ${real})` : insideWorkingTree(real) ? '' : ', outside the working tree';
  throw new ModuleNotAllowed(
    `${from} names the strategy module ${resolve(module)}${where}; a module named by a file, not on the command line, runs only when allowed. Check it, then pass --allow-module ${shellQuote(shortest(module))} (or the folder that holds it)`,
  );
}

/** A path as the user would type it: relative to the current folder when it is inside it. */
function shortest(p: string): string {
  const rel = relative(process.cwd(), resolve(p));
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(p);
}
