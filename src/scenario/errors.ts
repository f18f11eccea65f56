/** A problem in a user's file, with where it is. Printed as "file:line:col: field: message". */
export interface InputProblem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly field: string;
  readonly message: string;
  /**
   * The message quotes no input (quotarace's own words, as replay's refusals are): printed
   * whole, not cut at MAX_MESSAGE, which exists to bound quoted values.
   */
  readonly whole?: boolean;
}

export class InputError extends Error {
  constructor(readonly problems: readonly InputProblem[]) {
    super(formatProblems(problems));
    this.name = 'InputError';
  }
}

/**
 * Bounds on what an error prints. A file of a few kB can expand (YAML aliases, one long
 * string named a thousand times) into thousands of problems that each quote a long value:
 * each line is cut at MAX_MESSAGE characters and at most MAX_PROBLEMS lines are printed,
 * so an error is never larger than ~40 kB whatever the input.
 */
export const MAX_MESSAGE = 300;
export const MAX_PROBLEMS = 100;

export function formatProblem(p: InputProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  const text = p.field ? `${where}: ${cut(p.field, 100)}: ${p.message}` : `${where}: ${p.message}`;
  return p.whole ? text : cut(text, MAX_MESSAGE + where.length);
}

/** Every problem, one per line, the same problem once, at most MAX_PROBLEMS lines and a count of the rest. */
export function formatProblems(problems: readonly InputProblem[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  let more = 0;
  for (const p of problems) {
    const line = formatProblem(p);
    if (seen.has(line)) continue;
    seen.add(line);
    if (lines.length < MAX_PROBLEMS) lines.push(line);
    else more++;
  }
  if (more) lines.push(`… and ${more.toLocaleString('en-US')} more problem${more === 1 ? '' : 's'} (fix these first)`);
  return lines.join('\n');
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${(s.length - max).toLocaleString('en-US')} more characters)`;
}

/**
 * A value as an error message quotes it: JSON, at most `max` characters. A message never
 * copies a whole value: it may be a 60 kB string, or a secret in a file a data file named.
 */
export function excerpt(v: unknown, max = 40): string {
  if (typeof v === 'string') return v.length <= max ? JSON.stringify(v) : `${JSON.stringify(v.slice(0, max)).slice(0, -1)}…" (${v.length.toLocaleString('en-US')} characters)`;
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Object.prototype.toString.call(v);
  }
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

/** Cap a list in a message: a scenario with 10,000 VMs must not print a 100 kB line. */
export function capList(items: readonly string[], max = 20): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')}, … (${items.length - max} more)`;
}

/** A zod issue in words; a union says which forms it accepts (not zod's bare "Invalid input"). */
export function zodIssueMessage(issue: { code: string; message: string; unionErrors?: Array<{ issues: Array<{ code: string; message: string; expected?: unknown; received?: unknown; path: (string | number)[] }> }> }, forms?: string): string {
  if (issue.code === 'invalid_union') {
    if (forms) return `expected ${forms}`;
    const alts = new Set<string>();
    for (const u of issue.unionErrors ?? []) {
      const first = u.issues[0];
      if (!first) continue;
      alts.add(first.code === 'invalid_type' && first.expected !== undefined ? String(first.expected) : first.message);
    }
    return alts.size ? `expected one of: ${[...alts].join('; ')}` : issue.message;
  }
  return issue.message;
}

/** "cluster.namespaces[0].vms[1].node" from a path. */
export function fieldPath(path: readonly (string | number)[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}
