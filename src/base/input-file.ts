import { readFileSync, statSync } from 'node:fs';

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
