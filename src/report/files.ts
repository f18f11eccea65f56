import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class NotOurFile extends Error {}

/** A path quotarace cannot write to (a folder where a file goes, no permission, ...). */
export class OutputError extends NotOurFile {}

/**
 * Check, before any simulation, that reports can be written under `dir` and that each
 * `file` can be created: a typo in an output path must not cost a campaign.
 */
export function checkOutputs(dir: string | undefined, files: ReadonlyArray<string | undefined>): void {
  if (dir !== undefined) {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new OutputError(`${dir}: expected a folder for the reports, found a file`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new OutputError(`${dir}: cannot create the reports folder (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  for (const f of files) {
    if (f === undefined) continue;
    if (existsSync(f) && statSync(f).isDirectory()) throw new OutputError(`${f}: expected a file name, found a folder`);
    const parent = dirname(f) || '.';
    if (existsSync(parent) && !statSync(parent).isDirectory()) throw new OutputError(`${f}: ${parent} is not a folder`);
  }
}

/**
 * Write a file whole or not at all: into a temporary file beside it, then rename. A file
 * already there that quotarace did not write (its first line is not `marker`) is never
 * replaced: that is the user's, and NotOurFile says so.
 */
export function writeFileAtomic(path: string, text: string, marker: string): 'written' | 'unchanged' {
  if (existsSync(path)) {
    const old = readFileSync(path, 'utf8');
    if (old === text) return 'unchanged';
    if (!old.startsWith(marker)) throw new NotOurFile(`${path} exists and was not written by quotarace; not overwriting it`);
  }
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    throw new OutputError(`${path}: cannot write it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return 'written';
}

/** A path or run id as one shell word. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The largest input file quotarace reads (scenario, evidence, results): 64 MB. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/**
 * Read a user's input file as UTF-8 text, refusing what is not a regular file (a folder,
 * /dev/zero, a FIFO) or is larger than `maxBytes` (from stat, before reading): a string says why (the caller
 * turns it into a located error).
 */
export function readInputFile(path: string, maxBytes = MAX_INPUT_BYTES, what = 'a file'): { text: string } | { error: string } {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    return { error: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
  }
  if (st.isDirectory()) return { error: 'is a folder, expected a file' };
  if (!st.isFile()) return { error: 'is not a regular file (a device, FIFO or socket); expected a file' };
  if (st.size > maxBytes) return { error: `is ${st.size.toLocaleString('en-US')} bytes; ${what} is at most ${maxBytes.toLocaleString('en-US')} bytes (refused before reading it)` };
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (e) {
    return { error: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
  }
}
