import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class NotOurFile extends Error {}

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
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  return 'written';
}
