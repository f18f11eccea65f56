/**
 * What a results or evidence file records about the code that made it, so that `merge` and
 * `replay` can tell "another build" or "a module edited since" from a genuine result.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

/** The package's version, from its package.json (dist/explore/provenance.js and src/explore/provenance.ts are both two levels down). */
export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/** The tool that writes a file: "quotarace <version>" (the package's version). */
export const TOOL = `quotarace ${VERSION}`;

/**
 * A strategy module's content hash: sha256 (hex) of the module file's bytes. Files the module
 * imports are not covered (they change the bundle, not this hash).
 */
export function moduleSha256(path: string): string {
  // A FIFO or a device named like a module would block or never end: only a regular file is read.
  if (!statSync(path).isFile()) throw new Error(`${path} is not a regular file`);
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** moduleSha256, or undefined when the file is not there or cannot be read. */
export function moduleSha256IfThere(path: string): string | undefined {
  try {
    return moduleSha256(path);
  } catch {
    return undefined;
  }
}

/** A hash as messages show it: its first 12 hex digits. */
export function shortHash(h: string): string {
  return `${h.slice(0, 12)}…`;
}
