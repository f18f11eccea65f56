import { closeSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { OutputError } from '../report/files.js';

/**
 * One run at a time per reports folder. Two runs writing one folder would interleave their
 * reports and evidence and leave an index that links another run's files, so a run that
 * writes reports first creates `.quotarace.lock` (its pid, host and command) with O_EXCL;
 * a second run finds it and is refused. A lock whose pid is gone (a run killed with
 * SIGKILL, a machine that rebooted) is stale and is taken over; a lock from another host
 * cannot be checked and is left to the user to remove.
 */
export const LOCK_FILE = '.quotarace.lock';

interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
  readonly command: string;
}

/** A held lock; `replaced` once the folder's earlier verdict has been taken down. */
interface Held {
  readonly path: string;
  readonly dir: string;
  replaced: boolean;
}

/** What the run that took a folder keeps, to give it back (and only it: a refused run has none). */
export interface ReportsLock {
  release(): void;
}

const held = new Map<string, Held>();
let exitHook = false;

function readLock(path: string): LockInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    return typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 ? { pid: v.pid, host: String(v.host ?? ''), started: String(v.started ?? ''), command: String(v.command ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

/** Is `pid` a live process on this machine? EPERM: alive, someone else's. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function create(path: string, info: LockInfo): boolean {
  let fd;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new OutputError(`cannot write the lock ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    writeSync(fd, JSON.stringify(info) + '\n');
  } finally {
    closeSync(fd);
  }
  return true;
}

/** writeFileAtomic's temporary files of a dead process (`name.<pid>.tmp`) under `dir`. */
function removeTemporaries(dir: string, suffix: string, depth: number): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.isFile() && e.name.endsWith(suffix)) {
      try {
        unlinkSync(join(dir, e.name));
      } catch {
        // gone already
      }
    } else if (e.isDirectory() && depth > 1) removeTemporaries(join(dir, e.name), suffix, depth - 1);
  }
}

/**
 * Take the reports folder `dir` for this process (it exists: checkOutputs made it), or throw
 * OutputError (exit 2) naming the run that holds it.
 */
export function lockReports(dir: string, command: string): ReportsLock {
  const key = resolve(dir);
  const path = join(dir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 2; attempt++) {
    if (create(path, info)) {
      const h: Held = { path, dir, replaced: false };
      held.set(key, h);
      if (!exitHook) {
        exitHook = true;
        process.once('exit', releaseAllReports);
      }
      return { release: () => release(h) };
    }
    const other = readLock(path);
    const sameHost = other !== undefined && other.host === info.host;
    if (other && (!sameHost || alive(other.pid))) {
      throw new OutputError(
        `cannot write the reports to ${dir}: another quotarace run is writing there (pid ${other.pid}${sameHost ? '' : ` on ${other.host}`}, started ${other.started}: ${other.command.slice(0, 200)}). ` +
          `Wait for it, or pass another --reports; if no such run is going on, remove ${path}`,
      );
    }
    // Stale (its process is gone) or unreadable (a crash while writing it): taken over,
    // with the temporary files a kill mid-write left (reports, evidence: 3 levels deep).
    if (other) removeTemporaries(dir, `.${other.pid}.tmp`, 3);
    try {
      unlinkSync(path);
    } catch {
      // another run took it over first: the next attempt finds its lock
    }
  }
  throw new OutputError(`cannot write the reports to ${dir}: another quotarace run took its lock (${path}) at the same moment`);
}

/**
 * Before the first report of this run replaces an earlier one: true once per lock, so the
 * caller takes down the folder's earlier verdict (index, JUnit) first. An interrupted run
 * then leaves no earlier PASS beside reports it already replaced.
 */
export function firstWriteInto(dir: string): boolean {
  const h = held.get(resolve(dir));
  if (!h || h.replaced) return false;
  h.replaced = true;
  return true;
}

function release(h: Held): void {
  const key = resolve(h.dir);
  if (held.get(key) !== h) return; // released already
  held.delete(key);
  const now = readLock(h.path);
  if (now && now.pid !== process.pid) return; // not ours any more: leave it
  try {
    unlinkSync(h.path);
  } catch {
    // already gone
  }
}

/** Every lock this process holds, when it exits (a process.exit() anywhere). */
function releaseAllReports(): void {
  for (const h of [...held.values()]) release(h);
}
