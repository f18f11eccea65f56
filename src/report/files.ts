import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statfsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { shellQuote } from '../base/shell.js';

export class NotOurFile extends Error {}

/** A path quotarace cannot write to (a folder where a file goes, no permission, ...). */
export class OutputError extends NotOurFile {}

/**
 * Linux pseudo-filesystems (statfs f_type magic numbers, from linux/magic.h): they are not
 * storage. Writes there fail late or oddly (a file "created" in /proc/self is ENOENT, a
 * folder made under /sys/fs/cgroup is a new cgroup), and Node's recursive mkdir loops
 * forever on /proc: refused by their type before anything is created.
 */
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x1cd1, 'devpts'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0x62656570, 'configfs'],
  [0xde5e81e4, 'efivarfs'],
  [0x65735543, 'fusectl'],
  [0x42494e4d, 'binfmt_misc'],
  [0x19800202, 'mqueue'],
]);

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? String(e);
}

/** The nearest folder of `path` that exists (itself included). */
function existingAncestor(path: string): string {
  let p = resolve(path);
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

/** Why nothing can be stored under `path` (a pseudo-filesystem), or undefined. */
function pseudoFs(path: string): string | undefined {
  let type: number;
  try {
    type = statfsSync(existingAncestor(path)).type;
  } catch {
    return undefined; // no statfs here: the write probe still decides
  }
  const name = PSEUDO_FS.get(type);
  return name && `${name} is a pseudo-filesystem, not storage`;
}

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdirSync never returns on some
 * pseudo-filesystems (/proc), and a level that cannot be made is an OutputError at once.
 */
export function makeDirs(dir: string, label = `cannot write ${dir}`): void {
  const why = pseudoFs(dir);
  if (why) throw new OutputError(`${label}: ${why}`);
  const missing: string[] = [];
  for (let p = resolve(dir); ; p = dirname(p)) {
    let st;
    try {
      st = statSync(p);
    } catch {
      if (dirname(p) === p) break;
      missing.unshift(p);
      continue;
    }
    if (!st.isDirectory()) throw new OutputError(`${label}: ${p} is a file, not a folder`);
    break;
  }
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (e) {
      if (code(e) !== 'EEXIST') throw new OutputError(`${label}: cannot create the folder ${p} (${code(e)})`);
    }
  }
}

/** Create and remove an empty file in `dir`: permission, read-only mounts and pseudo-filesystems show here, before any simulation. */
function probeWritable(dir: string, label: string): void {
  const probe = join(dir, `.quotarace-probe.${process.pid}.tmp`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw new OutputError(`${label}: cannot create a file in ${dir} (${code(e)})`);
  }
}

/**
 * Check, before any simulation, that reports can be written under `dir` and that each
 * `file` can be created: a typo in an output path, a read-only folder or /proc must not
 * cost a campaign (nor hang it).
 */
export function checkOutputs(dir: string | undefined, files: ReadonlyArray<string | undefined>): void {
  if (dir !== undefined) {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new OutputError(`cannot write the reports to ${dir}: it is a file, not a folder`);
    makeDirs(dir, `cannot write the reports to ${dir}`);
    probeWritable(dir, `cannot write the reports to ${dir}`);
  }
  for (const f of files) {
    if (f === undefined) continue;
    if (existsSync(f) && statSync(f).isDirectory()) throw new OutputError(`cannot write ${f}: it is a folder, not a file`);
    const parent = dirname(f) || '.';
    if (existsSync(parent) && !statSync(parent).isDirectory()) throw new OutputError(`cannot write ${f}: ${parent} is not a folder`);
    makeDirs(parent, `cannot write ${f}`);
    probeWritable(parent, `cannot write ${f}`);
  }
}

/** How writeFileAtomic writes the temporary file; tests pass one that fails as a full disk does. */
export type WriteFn = (path: string, text: string) => void;

/**
 * Write a file whole or not at all: into a temporary file beside it, then rename. A file
 * already there that quotarace did not write (its first line is not `marker`) is never
 * replaced: that is the user's, and NotOurFile says so. A failed write (a full disk) leaves
 * no temporary file behind and the old file as it was.
 */
export function writeFileAtomic(path: string, text: string, marker: string, write: WriteFn = writeFileSync): 'written' | 'unchanged' {
  if (existsSync(path)) {
    const old = readFileSync(path, 'utf8');
    if (old === text) return 'unchanged';
    if (!old.startsWith(marker)) throw new NotOurFile(`${path} exists and was not written by quotarace; not overwriting it`);
  }
  replaceFile(path, text, write);
  return 'written';
}

/**
 * Write `path` whole or not at all (a temporary file beside it, then rename), whatever is
 * there: for a file the caller has read and checked (the Markdown `table --update` splices).
 */
export function replaceFile(path: string, text: string, write: WriteFn = writeFileSync): void {
  const tmp = `${path}.${process.pid}.tmp`;
  makeDirs(dirname(path), `cannot write ${path}`);
  try {
    write(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already gone
    }
    throw new OutputError(`cannot write ${path} (${code(e)})`);
  }
}

/**
 * The command that replays an evidence file. A module's evidence names its module, which
 * loads only when allowed by name (see "Strategy modules named by files"): the command allows it.
 */
export function replayCommand(evidence: string, module?: string): string {
  return `quotarace replay ${shellQuote(evidence)}${module ? ` --allow-module ${shellQuote(module)}` : ''}`;
}
